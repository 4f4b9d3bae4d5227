using Harness.Data.Imaging;
using Harness.Metrics;

namespace Harness.Tests.Metrics;

/// <summary>Hand-made maps, boxes and transforms for the metric tests.</summary>
internal static class MetricMaps
{
    /// <summary>A size × size source with Resize(size) and CenterCrop(size): no resize, no crop, boxes map unchanged.</summary>
    public static ImageTransform Identity(int size = 10) => Transform(size, size, size, size);

    /// <summary>Resize(resize) → CenterCrop(crop) of a width × height source.</summary>
    public static ImageTransform Transform(int width, int height, int resize, int crop) =>
        new(new PreprocessConfig(resize, crop, [0.5f, 0.4f, 0.3f], [0.2f, 0.2f, 0.2f]), width, height);

    /// <summary>An all-<paramref name="fill"/> size × size map with the given pixels (row, column, value) set.</summary>
    public static float[] Map(int size, float fill = 0, params (int Row, int Col, float Value)[] pixels)
    {
        var map = new float[size * size];
        Array.Fill(map, fill);
        foreach (var (r, c, v) in pixels) map[r * size + c] = v;
        return map;
    }

    /// <summary>Sets rows [r0, r1) × columns [c0, c1) of a size × size map to <paramref name="value"/>.</summary>
    public static float[] Fill(this float[] map, int size, int r0, int r1, int c0, int c1, float value)
    {
        for (var r = r0; r < r1; r++)
        for (var c = c0; c < c1; c++)
            map[r * size + c] = value;
        return map;
    }

    /// <summary>A continuous box [x0, x1) × [y0, y1).</summary>
    public static BoundingBox Box(double x0, double y0, double x1, double y1) => new(x0, y0, x1, y1);

    public static LocalizationInput Input(float[] map, ImageTransform transform, params BoundingBox[] boxes) =>
        new(map, transform.OutputSize, transform, boxes);

    /// <summary>The score of a result that must not be skipped.</summary>
    public static double Scored(MetricResult result)
    {
        Assert.Null(result.SkipReason);
        Assert.NotNull(result.Value);
        return result.Value.Value;
    }

    public static void Skipped(string reason, MetricResult result)
    {
        Assert.Null(result.Value);
        Assert.Equal(reason, result.SkipReason);
    }
}
