using Harness.Data.Imaging;

namespace Harness.Reports;

/// <summary>
/// Turns a saliency map (row-major floats, one per pixel) into pictures: coloured with <see cref="Colormap"/>,
/// either alone or blended over the image it explains. Maps are normalised by their maximum, so only the relative
/// attribution within one map is shown; negative values count as zero (no evidence for the class).
/// </summary>
public static class Heatmap
{
    /// <summary>
    /// <paramref name="image"/> with the map blended over it. Each pixel's blend weight is
    /// <paramref name="alpha"/> × its normalised value, so unattributed regions keep the plain image and the
    /// strongest attribution gets the full <paramref name="alpha"/>; a map of another size than the image is
    /// resized (nearest neighbour, pixel centres). Maps that are all zero (or negative) or that hold NaN or infinity
    /// give back the plain image: a broken map should look like "no explanation", not like a confident one.
    /// </summary>
    public static RgbImage Overlay(RgbImage image, float[] map, int mapWidth, int mapHeight, double alpha = 0.5)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckMap(map, mapWidth, mapHeight);
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in [0, 1]");

        var pixels = (byte[])image.Pixels.Clone();
        var max = PositiveMax(map);
        if (max is null) return new RgbImage(image.Width, image.Height, pixels, image.Source);

        for (var y = 0; y < image.Height; y++)
        {
            var my = (int)((y + 0.5) * mapHeight / image.Height);
            for (var x = 0; x < image.Width; x++)
            {
                var mx = (int)((x + 0.5) * mapWidth / image.Width);
                var t = Math.Max(0f, map[my * mapWidth + mx] / max.Value);
                var (r, g, b) = Colormap.Map(t);
                var weight = alpha * t;
                var i = 3 * (y * image.Width + x);
                pixels[i] = Blend(pixels[i], r, weight);
                pixels[i + 1] = Blend(pixels[i + 1], g, weight);
                pixels[i + 2] = Blend(pixels[i + 2], b, weight);
            }
        }
        return new RgbImage(image.Width, image.Height, pixels, image.Source);
    }

    /// <summary>
    /// The map alone, <paramref name="w"/> × <paramref name="h"/>, coloured after normalising by its maximum.
    /// Maps without a positive finite maximum, or with non-finite values, render as the colormap's zero colour.
    /// </summary>
    public static RgbImage Render(float[] map, int w, int h)
    {
        CheckMap(map, w, h);
        var max = PositiveMax(map);
        var pixels = new byte[checked(w * h * 3)];
        for (var i = 0; i < map.Length; i++)
        {
            var (r, g, b) = Colormap.Map(max is null ? 0f : Math.Max(0f, map[i] / max.Value));
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

    /// <summary>The map's maximum, or null when it cannot be normalised (non-finite values, or max ≤ 0).</summary>
    private static float? PositiveMax(float[] map)
    {
        var max = 0f;
        foreach (var v in map)
        {
            if (!float.IsFinite(v)) return null;
            if (v > max) max = v;
        }
        return max > 0 ? max : null;
    }

    private static byte Blend(byte under, byte over, double weight) =>
        (byte)Math.Round(under + (over - under) * weight, MidpointRounding.AwayFromZero);
}
