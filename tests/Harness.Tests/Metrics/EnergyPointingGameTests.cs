using Harness.Metrics;
using static Harness.Tests.Metrics.MetricMaps;

namespace Harness.Tests.Metrics;

/// <summary>energy_pointing_game on 10 × 10 maps with the identity transform and the box [2, 5) × [2, 5).</summary>
public sealed class EnergyPointingGameTests
{
    private static readonly EnergyPointingGame Metric = new();
    private static readonly Harness.Data.Imaging.BoundingBox Center = Box(2, 2, 5, 5);

    [Fact]
    public void ShareOfPositiveEnergyInsideTheBox()
    {
        // 3 at (3,3) inside, 1 at (0,0) outside, −5 at (9,9) ignored: 3 / (3 + 1) = 0.75.
        var map = Map(10, 0, (3, 3, 3), (0, 0, 1), (9, 9, -5));
        Assert.Equal(0.75, Scored(Metric.Compute(Input(map, Identity(), Center))));
    }

    [Fact]
    public void PeakedInsideOrOutside()
    {
        Assert.Equal(1.0, Scored(Metric.Compute(Input(Map(10, 0, (2, 2, 5), (4, 4, 1)), Identity(), Center))));
        Assert.Equal(0.0, Scored(Metric.Compute(Input(Map(10, 0, (5, 5, 5), (1, 4, 1)), Identity(), Center))));
    }

    [Fact]
    public void UnionCountsOverlapOnce()
    {
        // Boxes [2,5)² and [4,7)²; 1 at (2,2), (4,4) (in both), (6,6) and (9,9): inside 3 of 4 → 0.75.
        var map = Map(10, 0, (2, 2, 1), (4, 4, 1), (6, 6, 1), (9, 9, 1));
        Assert.Equal(0.75, Scored(Metric.Compute(Input(map, Identity(), Center, Box(4, 4, 7, 7)))));
    }

    [Fact]
    public void ZeroMapsScoreZero()
    {
        Assert.Equal(0.0, Scored(Metric.Compute(Input(Map(10), Identity(), Center))));
        Assert.Equal(0.0, Scored(Metric.Compute(Input(Map(10, -1f), Identity(), Center))));
    }

    [Fact]
    public void EmptyMaskIsSkipped()
    {
        // Source 12 × 10: the crop shows source columns 1–10, so [11, 12) × [0, 10) is outside.
        Skipped("no_box_in_crop", Metric.Compute(Input(Map(10, 1f), Transform(12, 10, 10, 10), Box(11, 0, 12, 10))));
    }
}
