using System.Text.RegularExpressions;
using Harness.Metrics;
using ScottPlot;
using SkiaSharp;

namespace Harness.Reports.Plots;

/// <summary>
/// What the three plot kinds share: size, palette, fonts, axis wording, label parsing and the layout of long
/// category labels (which ScottPlot does not measure once they are rotated).
/// </summary>
internal static partial class PlotStyle
{
    /// <summary>Every plot's size in pixels (PNG) and user units (SVG).</summary>
    public const int Width = 800, Height = 450;

    private const float TickFontSize = 12; // ScottPlot's default for tick labels
    private static readonly ScottPlot.Palettes.Category10 Palette = new();

    /// <summary>A plot with the bundled font, a white background and <paramref name="title"/>.</summary>
    public static Plot NewPlot(string title)
    {
        var plot = new Plot();
        ReportFonts.UseInScottPlot(plot);
        plot.Title(title, size: 15);
        plot.Axes.Left.Label.FontSize = 14;
        plot.Axes.Bottom.Label.FontSize = 14;
        return plot;
    }

    /// <summary>The <paramref name="index"/>-th colour of matplotlib's tab10, so charts look like the paper's.</summary>
    public static ScottPlot.Color Color(int index) => Palette.GetColor(index);

    /// <summary>
    /// "pointing_game (↑ higher is better)": a value axis names the metric and its direction; with
    /// <paramref name="quantity"/> (the title already names the metric) "mean (↑ higher is better)".
    /// </summary>
    public static string ValueLabel(string metric, string? quantity = null)
    {
        var name = quantity ?? metric;
        if (!MetricRegistry.Names.Contains(metric)) return name; // a metric of an older build: no direction known
        var better = MetricRegistry.Better(metric);
        var words = better switch
        {
            BetterDirection.Higher => "higher is better",
            BetterDirection.Lower => "lower is better",
            _ => "closer to zero is better",
        };
        return $"{name} ({PaperTable.Arrow(better)} {words})";
    }

    /// <summary>
    /// A method label without one option: "mipin[complete=none,layer=features.17]" without "layer" is
    /// "mipin[complete=none]", "gradcam[layer=features.18]" is "gradcam". A label that is not NAME[k=v,...] is kept.
    /// </summary>
    public static string WithoutOption(string label, string key)
    {
        var open = label.IndexOf('[');
        if (open < 0 || !label.EndsWith(']')) return label;
        var options = label[(open + 1)..^1].Split(',')
            .Where(o => !o.StartsWith(key + "=", StringComparison.Ordinal)).ToList();
        return options.Count == 0 ? label[..open] : $"{label[..open]}[{string.Join(",", options)}]";
    }

    /// <summary>Whether a leaderboard value can be drawn (a metric with no scored image has NaN statistics).</summary>
    public static bool Finite(double value) => double.IsFinite(value);

    /// <summary>A name for a file: characters other than letters, digits, '.', '_' and '-' become '_'.</summary>
    public static string SafeFileName(string name) => Unsafe().Replace(name, "_");

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex Unsafe();

    /// <summary>
    /// Category ticks at x = 0, 1, …: <paramref name="labels"/> as written. Labels wider than their slot are turned
    /// 45° (ending under their tick), and the bottom and left axes are given the room the turned text needs, since
    /// ScottPlot sizes axes by the unturned text. <paramref name="reservedRight"/>: pixels taken on the right (a
    /// legend), for the slot width estimate.
    /// </summary>
    public static void CategoryTicks(Plot plot, IReadOnlyList<string> labels, float reservedRight = 0)
    {
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, labels.Count).Select(i => (double)i).ToArray(), labels.ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 4;
        plot.Axes.Bottom.MinorTickStyle.Length = 0;
        if (labels.Count == 0) return;

        using var font = new SKFont(ReportFonts.Regular, TickFontSize);
        var widths = labels.Select(l => font.MeasureText(l)).ToArray();
        float left = 70; // about what ScottPlot gives a left axis with a label and 0.00-style ticks
        float Slot() => (Width - left - reservedRight - 20) / labels.Count;
        if (widths.Max() <= 0.9f * Slot()) return;

        plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        const float cos45 = 0.70710678f;
        var lineHeight = font.Spacing;
        // Down: the longest label's drop plus tick and padding, at most 55% of the image (longer labels are cut).
        var axisLabel = string.IsNullOrEmpty(plot.Axes.Bottom.Label.Text) ? 0 : 26;
        plot.Axes.Bottom.MinimumSize = Math.Min(0.55f * Height, (widths.Max() + lineHeight) * cos45 + 14 + axisLabel);
        // Left: label i ends at its tick x_i = left + (i + ½)·slot and reaches w_i·cos45 further left.
        for (var pass = 0; pass < 3; pass++)
        {
            var slot = Slot();
            var need = widths.Select((w, i) => w * cos45 - (i + 0.5f) * slot).Max() + 10;
            left = Math.Max(70, Math.Min(0.4f * Width, need));
        }
        plot.Axes.Left.MinimumSize = left;
    }

    /// <summary>The pixel width a legend on the right edge takes for <paramref name="entries"/> (symbol, padding, text).</summary>
    public static float LegendWidth(IEnumerable<string> entries)
    {
        using var font = new SKFont(ReportFonts.Regular, TickFontSize);
        return entries.Select(e => font.MeasureText(e)).DefaultIfEmpty(0).Max() + 60;
    }

    /// <summary>
    /// Error bars from 95% CIs, asymmetric where the interval is: one whisker pair per point, none where the interval
    /// is missing or empty (n ≤ 1, no spread). Returns null when no point has one.
    /// </summary>
    public static ScottPlot.Plottables.ErrorBar? CiErrorBars(IReadOnlyList<(double X, double Y, double Low, double High)> points,
        ScottPlot.Color color)
    {
        var kept = points.Where(p => Finite(p.X) && Finite(p.Y) && Finite(p.Low) && Finite(p.High) && p.High - p.Low > 0).ToList();
        if (kept.Count == 0) return null;
        return new ScottPlot.Plottables.ErrorBar(
            kept.Select(p => p.X).ToList(), kept.Select(p => p.Y).ToList(), null, null,
            kept.Select(p => Math.Max(0, p.High - p.Y)).ToList(), kept.Select(p => Math.Max(0, p.Y - p.Low)).ToList())
        {
            Color = color,
            LineWidth = 1.5f,
            CapSize = 6,
        };
    }
}
