using Harness.Data.Imaging;
using Harness.Metrics;
using Harness.Torch;
using static Harness.Tests.Metrics.MetricMaps;

namespace Harness.Tests.Metrics;

/// <summary>The shared, cached geometry of <see cref="LocalizationInput"/> and its validation.</summary>
public sealed class LocalizationInputTests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public void BoxMaskMatchesImageTransformBoxMask()
    {
        // torchvision geometry with fractional box edges: 300 × 180 → Resize(256) → 426 × 256, crop at (101, 16).
        var t = new ImageTransform(PreprocessConfig.ImageNet, 300, 180);
        BoundingBox[] boxes = [Box(150, 90, 210, 180), Box(60, 10, 90, 40), Box(0, 0, 50, 180), Box(200.5, 20.25, 240, 60.75)];
        var input = Input(new float[224 * 224], t, boxes);
        var expected = t.BoxMask(boxes).ToArray<float>().Select(v => v == 1f).ToArray();
        Assert.Equal(expected, input.BoxMask.ToArray());
        Assert.Equal(expected.Count(v => v), input.BoxMaskCount);
        Assert.Equal(3, input.TransformedBoxes.Count); // Box(0, 0, 50, 180) lies left of the crop
        Assert.Equal(t.ApplyToBox(boxes[0]), input.TransformedBoxes[0]);
    }

    [Fact]
    public void SharedValuesAreComputedOnce()
    {
        var input = Input(Map(10, 0, (1, 2, 3f), (4, 4, -1f), (5, 5, 3f)), Identity(), Box(2, 2, 5, 5));
        Assert.Same(input.TransformedBoxes, input.TransformedBoxes);
        Assert.Equal((3.0, 12, 6.0), (input.Max, input.ArgMax, input.Sum)); // first of the tied maxima: index 12
        Assert.Equal(0.0, input.Positive[44]);
        foreach (var metric in MetricRegistry.LocalizationDefaults) metric.Compute(input);
        Assert.Equal(9, input.BoxMaskCount);
    }

    [Fact]
    public void WithCopiesStartAfresh()
    {
        var input = Input(Map(10), Identity(), Box(2, 2, 5, 5));
        Assert.Equal(9, input.BoxMaskCount);
        var other = input with { Boxes = [Box(0, 0, 10, 1)] };
        Assert.Equal(10, other.BoxMaskCount);
        Assert.Equal(9, input.BoxMaskCount);
        Assert.NotEqual(input, other);
        Assert.Equal(input, input with { });
    }

    [Fact]
    public void InconsistentInputsAreRejected()
    {
        var t = Identity();
        Assert.Throws<ArgumentException>(() => new LocalizationInput(new float[99], 10, t, []));
        Assert.Throws<ArgumentException>(() => new LocalizationInput(new float[64], 8, t, []));
        Assert.ThrowsAny<ArgumentException>(() => new LocalizationInput(null!, 10, t, []));
        var input = Input(new float[100], t);
        Assert.Throws<ArgumentException>(() => (input with { Map = new float[4] }).Max);
    }

    [Fact]
    public void NonFiniteMapsAreSkippedByEveryMetric()
    {
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var input = Input(Map(10, 0, (0, 0, 1f), (5, 5, bad)), Identity(), Box(2, 2, 5, 5));
            foreach (var metric in MetricRegistry.LocalizationDefaults) Skipped("non_finite_map", metric.Compute(input));
        }
    }

    [Fact]
    public void AllZeroMapsScoreZeroOnPointingEnergyAndLocalization()
    {
        var input = Input(Map(10), Identity(), Box(2, 2, 5, 5));
        Assert.Equal(0.0, Scored(new PointingGame().Compute(input)));
        Assert.Equal(0.0, Scored(new EnergyPointingGame().Compute(input)));
        Assert.Equal(0.0, Scored(new LocalizationAccuracy().Compute(input)));
    }
}
