using Harness.Torch;

namespace Harness.Tests.Attribution;

/// <summary>Comparisons of saliency maps.</summary>
public static class MapAssert
{
    /// <summary>
    /// max |actual − expected| / max |expected| (both maps divided by the reference's maximum); an all-zero
    /// reference is compared absolutely.
    /// </summary>
    public static double RelativeMaxDifference(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var scope = torch.NewDisposeScope();
        var e = expected.to(ScalarType.Float64);
        var a = actual.to(ScalarType.Float64);
        var scale = e.abs().max().item<double>();
        var diff = (a - e).abs().max().item<double>();
        return scale > 0 ? diff / scale : diff;
    }

    /// <summary>
    /// The fraction of elements within <paramref name="tolerance"/> × max |expected| of the reference: where a few
    /// elements may differ for a known reason (a gate flipped by rounding), how many do not.
    /// </summary>
    public static double AgreeingFraction(Tensor expected, Tensor actual, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var scope = torch.NewDisposeScope();
        var e = expected.to(ScalarType.Float64);
        var bound = tolerance * e.abs().max().item<double>();
        return ((actual.to(ScalarType.Float64) - e).abs() <= bound).to(ScalarType.Float64).mean().item<double>();
    }

    /// <summary>Asserts <see cref="RelativeMaxDifference"/> ≤ <paramref name="tolerance"/> and returns it.</summary>
    public static double Close(Tensor expected, Tensor actual, double tolerance, string what)
    {
        var d = RelativeMaxDifference(expected, actual);
        Assert.True(d <= tolerance, $"{what}: max difference {d:G3} of the reference maximum exceeds {tolerance:G3}");
        return d;
    }
}
