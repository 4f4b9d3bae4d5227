using Harness.Data.Imaging;
using SkiaSharp;

namespace Harness.Reports;

/// <summary>
/// The legend under a map grid: the colormap as a horizontal bar with its end labels, so a reader knows that every
/// map is scaled to its own clipping threshold ("clip") and which colour means what.
/// </summary>
public static class ColourBar
{
    /// <summary>A bar <paramref name="width"/> px wide for unsigned (inferno, 0 … clip) or signed (−clip … 0 … +clip) maps.</summary>
    public static RgbImage Render(bool signed, double clipPercentile, int width = 300, int barHeight = 14, float fontSize = 13)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 20);
        using var font = new SKFont(ReportFonts.Regular, fontSize) { Edging = SKFontEdging.Antialias };
        var line = ImageGrid.LineHeight(font);
        var caption = signed
            ? $"signed maps: against ← 0 → for the class (clip: each map's {Ordinal(clipPercentile)} percentile)"
            : $"|map|: 0 → clip (clip: each map's {Ordinal(clipPercentile)} percentile)";
        var totalWidth = Math.Max(width, (int)Math.Ceiling(font.MeasureText(caption)) + 8);
        var height = line + 2 + barHeight + 2 + line;
        using var bitmap = new SKBitmap(new SKImageInfo(totalWidth, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        using (var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true })
        using (var paint = new SKPaint())
        {
            canvas.Clear(SKColors.White);
            canvas.DrawText(caption, (totalWidth - font.MeasureText(caption)) / 2, ImageGrid.Baseline(font, line), font, ink);
            var left = (totalWidth - width) / 2;
            for (var x = 0; x < width; x++)
            {
                var t = (float)x / (width - 1);
                var (r, g, b) = signed ? DivergingColormap.Map(2 * t - 1) : Colormap.Map(t);
                paint.Color = new SKColor(r, g, b);
                canvas.DrawRect(left + x, line + 2, 1, barHeight, paint);
            }
            var labelsTop = line + 2 + barHeight + 2 + ImageGrid.Baseline(font, line);
            string[] labels = signed ? ["−clip", "0", "+clip"] : ["0", "clip"];
            for (var k = 0; k < labels.Length; k++)
            {
                var at = left + width * k / (labels.Length - 1f);
                var w = font.MeasureText(labels[k]);
                canvas.DrawText(labels[k], Math.Clamp(at - w / 2, 0, totalWidth - w), labelsTop, font, ink);
            }
        }
        return ImageEncoder.FromBitmap(bitmap, "colour bar");
    }

    private static string Ordinal(double p) => p.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + (p % 10 == 1 && p % 100 != 11 ? "st" : p % 10 == 2 && p % 100 != 12 ? "nd" : p % 10 == 3 && p % 100 != 13 ? "rd" : "th");
}
