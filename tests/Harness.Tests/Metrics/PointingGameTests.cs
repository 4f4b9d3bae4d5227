using Harness.Data.Imaging;
using Harness.Metrics;
using static Harness.Tests.Metrics.MetricMaps;

namespace Harness.Tests.Metrics;

/// <summary>
/// pointing_game with a 300 × 200 source, Resize(100) → CenterCrop(100): the short side 200 → 100, the long side
/// int(100·300/200) = 150, so the resized image is 150 × 100 and the crop starts at column round((150−100)/2) = 25,
/// row 0. One input pixel is 2 original pixels; pixel (i, j) points at
/// x = (j + 0.5 + 25)·300/150 = 2j + 51, y = (i + 0.5 + 0)·200/100 = 2i + 1.
/// The box is G = [100, 140) × [61, 100) (XML inclusive 100, 61, 139, 99).
/// </summary>
public sealed class PointingGameTests
{
    private static readonly PointingGame Metric = new();
    private static readonly ImageTransform T = Transform(300, 200, 100, 100);
    private static readonly BoundingBox G = BoundingBox.FromInclusivePixels(100, 61, 139, 99);

    private static double Point(int row, int col, params BoundingBox[] boxes) =>
        Scored(Metric.Compute(Input(Map(100, 0, (row, col, 1f)), T, boxes.Length == 0 ? [G] : boxes)));

    [Fact]
    public void TheTransformIsTheOneDescribed()
    {
        Assert.Equal((150, 100, 25, 0), (T.ResizedWidth, T.ResizedHeight, T.CropLeft, T.CropTop));
        var input = Input(Map(100, 0, (40, 35, 1f)), T, G);
        Assert.Equal((121.0, 81.0), PointingGame.PointedLocation(input)); // (2·35 + 51, 2·40 + 1)
    }

    [Fact]
    public void PeakInsideTheBoxHits() => Assert.Equal(1.0, Point(40, 35)); // (121, 81) ∈ G

    [Fact]
    public void PeakFarOutsideMisses() => Assert.Equal(0.0, Point(90, 90)); // (231, 181): dx = 91

    [Fact]
    public void ToleranceIsFifteenOriginalPixels()
    {
        // Row 40 → y = 81, inside G's rows. Column 17 → x = 85: 15 px left of XMin = 100 → hit.
        Assert.Equal(1.0, Point(40, 17));
        // Column 16 → x = 83: 17 original px → miss, although only 25 − 16.5 = 8.5 input px from the box.
        Assert.Equal(0.0, Point(40, 16));
        // Right side: XMax = 140. Column 52 → x = 155 (15 px) → hit; column 53 → x = 157 (17 px) → miss.
        Assert.Equal(1.0, Point(40, 52));
        Assert.Equal(0.0, Point(40, 53));
    }

    [Fact]
    public void DistanceIsEuclideanToTheNearestCorner()
    {
        // (20, 24) → (91, 49): dx = 100 − 91 = 9, dy = 61 − 49 = 12, distance √(81 + 144) = 15 → hit.
        Assert.Equal(1.0, Point(24, 20));
        // (20, 23) → (91, 47): dy = 14, distance √(81 + 196) = √277 ≈ 16.6 → miss (each axis alone is ≤ 15).
        Assert.Equal(0.0, Point(23, 20));
    }

    [Fact]
    public void ToleranceIsAnOption()
    {
        // (40, 16) is 17 px away: a hit with tolerance 17, a miss with 16.9.
        var input = Input(Map(100, 0, (40, 16, 1f)), T, G);
        Assert.Equal(1.0, Scored(new PointingGame(17).Compute(input)));
        Assert.Equal(0.0, Scored(new PointingGame(16.9).Compute(input)));
    }

    [Fact]
    public void TiesGoToTheFirstPixelInRowMajorOrder()
    {
        // Equal peaks at (0, 0) → (51, 1), far from G, and (40, 35) inside G: (0, 0) comes first → miss.
        var input = Input(Map(100, 0, (40, 35, 1f), (0, 0, 1f)), T, G);
        Assert.Equal(0, input.ArgMax);
        Assert.Equal(0.0, Scored(Metric.Compute(input)));
        // Equal peaks at (40, 35) and (99, 99): the one inside comes first → hit.
        Assert.Equal(1.0, Scored(Metric.Compute(Input(Map(100, 0, (99, 99, 1f), (40, 35, 1f)), T, G))));
    }

    [Fact]
    public void NearestOfSeveralBoxesDecides()
    {
        // (90, 90) → (231, 181) misses G but lies in a second box [220, 240) × [170, 190).
        Assert.Equal(1.0, Point(90, 90, G, Box(220, 170, 240, 190)));
    }

    [Fact]
    public void BoxesOutsideTheCropCountUnclipped()
    {
        // The crop shows original x ≥ 50. A box [0, 40) × [0, 200) lies wholly outside it, yet pixel (50, 0) → (51, 101)
        // is 11 px from it → hit.
        Assert.Equal(1.0, Point(50, 0, Box(0, 0, 40, 200)));
    }

    [Fact]
    public void BlankMapsPointNowhere()
    {
        Assert.Equal(0.0, Scored(Metric.Compute(Input(Map(100), T, G))));
        // Negative values only: max(map, 0) = 0 everywhere → 0, even though the largest raw value is inside G.
        Assert.Equal(0.0, Scored(Metric.Compute(Input(Map(100, -2f, (40, 35, -1f)), T, G))));
    }

    [Fact]
    public void ImagesWithoutBoxesAreSkipped() =>
        Skipped("no_boxes", Metric.Compute(Input(Map(100, 0, (40, 35, 1f)), T)));
}
