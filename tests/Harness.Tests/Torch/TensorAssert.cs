using Harness.Torch;

namespace Harness.Tests.Torch;

/// <summary>Tensor assertions with messages that show where values differ.</summary>
public static class TensorAssert
{
    /// <summary>Asserts equal shapes and |actual − expected| ≤ atol + rtol·|expected| element-wise.</summary>
    public static void Close(Tensor expected, Tensor actual, double rtol = 1e-5, double atol = 1e-6, string? what = null)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var e = expected.to(ScalarType.Float64);
        using var a = actual.to(ScalarType.Float64);
        var ev = e.ToArray<double>();
        var av = a.ToArray<double>();
        for (var i = 0; i < ev.Length; i++)
        {
            var tolerance = atol + rtol * Math.Abs(ev[i]);
            if (!(Math.Abs(av[i] - ev[i]) <= tolerance))
                Assert.Fail($"{what ?? "tensor"}: element {i} is {av[i]:R}, expected {ev[i]:R} (tolerance {tolerance:G3}); {ev.Length} elements");
        }
    }

    /// <summary>Asserts equal shapes and identical elements (after conversion to int64/float64).</summary>
    public static void Equal(Tensor expected, Tensor actual, string? what = null)
    {
        Assert.Equal(expected.shape, actual.shape);
        Assert.True(expected.dtype == actual.dtype, $"{what}: dtype {actual.dtype}, expected {expected.dtype}");
        Assert.True(expected.equal(actual), $"{what ?? "tensor"}: values differ");
    }

    public static void Values(float[] expected, Tensor actual, float tolerance = 1e-6f)
    {
        var values = actual.ToArray<float>();
        Assert.Equal(expected.Length, values.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - values[i]) <= tolerance, $"element {i}: {values[i]} != {expected[i]}");
    }
}
