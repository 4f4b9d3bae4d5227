using Harness.Data.Imaging;

namespace Harness.Reports;

/// <summary>
/// Turns a saliency map (row-major floats, one per pixel) into pictures, alone or blended over the image it explains,
/// the way captum users know them (<see cref="HeatmapStyle"/>): |map| or its positive part on inferno
/// (<see cref="Colormap"/>), or the signed map on a diverging colormap (<see cref="DivergingColormap"/>), each map scaled
/// by its own clipping threshold so that only the relative attribution within one map is shown.
/// </summary>
public static class Heatmap
{
    /// <summary>
    /// The map scaled to [0, 1] (unsigned styles) or [−1, 1] (<see cref="MapSign.Signed"/>), with
    /// <paramref name="signed"/> telling which; null when it cannot be scaled: a non-finite value, or nothing to show
    /// (all zero, or no positive value for <see cref="MapSign.Positive"/>).
    /// </summary>
    public static float[]? Normalise(float[] map, HeatmapStyle style, out bool signed)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(style);
        if (!(style.ClipPercentile > 0 && style.ClipPercentile <= 100))
            throw new ArgumentOutOfRangeException(nameof(style), style.ClipPercentile, "the clip percentile must be in (0, 100]");
        signed = style.Sign == MapSign.Signed || (style.Sign == MapSign.Auto && map.Any(v => v < 0));
        if (map.Any(v => !float.IsFinite(v))) return null;
        var sign = style.Sign == MapSign.Auto ? (signed ? MapSign.Signed : MapSign.Absolute) : style.Sign;
        var magnitude = map.Select(v => sign == MapSign.Positive ? Math.Max(v, 0f) : Math.Abs(v)).ToArray();
        var threshold = Percentile(magnitude, style.ClipPercentile);
        if (!(threshold > 0)) return null;
        return sign switch
        {
            MapSign.Signed => map.Select(v => (float)Math.Clamp(v / threshold, -1, 1)).ToArray(),
            _ => magnitude.Select(v => (float)Math.Min(v / threshold, 1)).ToArray(),
        };
    }

    /// <summary>
    /// The <paramref name="percentile"/>th percentile of <paramref name="values"/>, as numpy.percentile's default
    /// (linear interpolation between the sorted values at position p/100·(n − 1)).
    /// </summary>
    public static double Percentile(float[] values, double percentile)
    {
        ArgumentNullException.ThrowIfNull(values);
        return values.Length == 0 ? 0 : Metrics.Percentile.OfSorted(values.Select(v => (double)v).Order().ToArray(), percentile);
    }

    /// <summary>
    /// <paramref name="image"/> with the map blended over it. Each pixel's blend weight is <paramref name="alpha"/> ×
    /// its scaled magnitude, so unattributed regions keep the plain image and saturated attribution gets the full
    /// <paramref name="alpha"/>; a map of another size than the image is resized (nearest neighbour, pixel centres).
    /// Maps that cannot be scaled (all zero, NaN or infinity) give back the plain image: a broken map should look like
    /// "no explanation", not like a confident one.
    /// </summary>
    public static RgbImage Overlay(RgbImage image, float[] map, int mapWidth, int mapHeight, double alpha = 0.5, HeatmapStyle? style = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckMap(map, mapWidth, mapHeight);
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in [0, 1]");

        var pixels = (byte[])image.Pixels.Clone();
        var scaled = Normalise(map, style ?? HeatmapStyle.Default, out var signed);
        if (scaled is null) return new RgbImage(image.Width, image.Height, pixels, image.Source);

        for (var y = 0; y < image.Height; y++)
        {
            var my = (int)((y + 0.5) * mapHeight / image.Height);
            for (var x = 0; x < image.Width; x++)
            {
                var mx = (int)((x + 0.5) * mapWidth / image.Width);
                var t = scaled[my * mapWidth + mx];
                var (r, g, b) = signed ? DivergingColormap.Map(t) : Colormap.Map(t);
                var weight = alpha * Math.Abs(t);
                var i = 3 * (y * image.Width + x);
                pixels[i] = Blend(pixels[i], r, weight);
                pixels[i + 1] = Blend(pixels[i + 1], g, weight);
                pixels[i + 2] = Blend(pixels[i + 2], b, weight);
            }
        }
        return new RgbImage(image.Width, image.Height, pixels, image.Source);
    }

    /// <summary>
    /// The map alone, <paramref name="w"/> × <paramref name="h"/>, coloured after scaling. Maps that cannot be scaled
    /// render as the colormap's zero colour.
    /// </summary>
    public static RgbImage Render(float[] map, int w, int h, HeatmapStyle? style = null)
    {
        CheckMap(map, w, h);
        var scaled = Normalise(map, style ?? HeatmapStyle.Default, out var signed);
        var pixels = new byte[checked(w * h * 3)];
        for (var i = 0; i < map.Length; i++)
        {
            var t = scaled?[i] ?? 0f;
            var (r, g, b) = signed ? DivergingColormap.Map(t) : Colormap.Map(t);
            pixels[3 * i] = r;
            pixels[3 * i + 1] = g;
            pixels[3 * i + 2] = b;
        }
        return new RgbImage(w, h, pixels, "heatmap");
    }

    private static void CheckMap(float[] map, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"map size {width}x{height} is empty");
        if (map.Length != (long)width * height)
            throw new ArgumentException($"{map.Length} values do not make a {width}x{height} map", nameof(map));
    }

    private static byte Blend(byte under, byte over, double weight) =>
        (byte)Math.Round(under + (over - under) * weight, MidpointRounding.AwayFromZero);
}
