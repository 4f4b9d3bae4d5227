using Harness.Torch;

namespace Harness.Attribution;

/// <summary>Small helpers shared by the attribution methods.</summary>
internal static class AttributionMaps
{
    /// <summary>The map as float32 (the same tensor's data when it already is).</summary>
    public static Tensor Float32(Tensor map) => map.dtype == ScalarType.Float32 ? map.alias() : map.to(ScalarType.Float32);

    /// <summary>The shared pass's input gradient, or a clear error when the method was not registered.</summary>
    public static Tensor InputGradient(AttributionBatch batch, IAttributionMethod method) =>
        batch.Gradients.InputGradient ?? throw new InvalidOperationException(
            $"{method.Name}: the batch's gradient pass has no input gradient. Register the method with the AttributionBatch " +
            "(constructor or Register) before the first Explain call on that batch.");

    /// <summary>
    /// <paramref name="t"/> (B×...) repeated <paramref name="copies"/> times along dimension 0, copy-major:
    /// rows [k·B, (k+1)·B) are copy k. A new contiguous tensor.
    /// </summary>
    public static Tensor RepeatBatch(Tensor t, long copies)
    {
        if (copies == 1) return t.alias();
        var shape = t.shape;
        var expanded = new long[shape.Length + 1];
        expanded[0] = copies;
        shape.CopyTo(expanded, 1);
        var flat = (long[])shape.Clone();
        flat[0] *= copies;
        using var e = t.unsqueeze(0).expand(expanded);
        return e.reshape(flat);
    }
}
