using System.Text.RegularExpressions;
using Harness.Data;
using Harness.Experiments;
using ScottPlot;

namespace Harness.Reports.Plots;

/// <summary>
/// One plot as written: its caption, its two files and the PNG bytes, so report.html can inline the picture as a
/// data: URI (the report stays one offline file) without reading the file back.
/// </summary>
/// <param name="Title">The plot's title, for a caption or alt text.</param>
/// <param name="PngPath">Full path of NAME.png.</param>
/// <param name="SvgPath">Full path of NAME.svg (vector, for papers; its text names the font, DejaVu Sans).</param>
/// <param name="Png">The bytes of NAME.png.</param>
public sealed record RenderedPlot(string Title, string PngPath, string SvgPath, byte[] Png);

/// <summary>
/// Every plot the leaderboard supports, written under results/NAME/plots/ as PNG and SVG, in a fixed order:
/// a bar chart per metric (<see cref="MetricBarChart"/>), then per model a chart per metric against the layer when the
/// spec swept layers (<see cref="LayerLineChart"/>), then per model localisation against class sensitivity
/// (<see cref="LocalisationVsSensitivity"/>). The same board gives byte-identical files: no timestamps, and the SVG
/// clip-path ids, which SkiaSharp numbers process-wide, are renumbered per file.
/// </summary>
public static partial class ReportPlots
{
    /// <summary>File-name prefixes of the three kinds; files with them that a run no longer writes are removed.</summary>
    private static readonly string[] Prefixes = { "bar_", "layers_", "loc_vs_sens_" };

    /// <summary>
    /// Renders and writes every applicable plot of <paramref name="board"/> (atomically, NAME.png and NAME.svg) into
    /// <paramref name="plotsDirectory"/>. <paramref name="metrics"/> orders the bar and layer charts; metrics without
    /// leaderboard rows get none. Plot files of an earlier run that this one does not write are deleted, so the folder
    /// always matches the report.
    /// </summary>
    public static IReadOnlyList<RenderedPlot> WriteAll(string plotsDirectory, IReadOnlyList<LeaderboardRow> board, IReadOnlyList<string> metrics)
    {
        ArgumentException.ThrowIfNullOrEmpty(plotsDirectory);
        ArgumentNullException.ThrowIfNull(board);
        ArgumentNullException.ThrowIfNull(metrics);
        Directory.CreateDirectory(plotsDirectory);
        var written = new List<RenderedPlot>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var present = metrics.Distinct().Where(m => board.Any(r => r.Metric == m)).ToList();
        var models = board.Select(r => r.Model).Distinct().ToList();

        foreach (var metric in present)
            using (var plot = MetricBarChart.Create(board, metric))
                written.Add(Write(plotsDirectory, names, $"bar_{metric}", plot));

        foreach (var model in models.Where(m => LayerLineChart.Applies(board, m)))
            foreach (var metric in present)
            {
                using var plot = LayerLineChart.Create(board, model, metric);
                if (plot is not null) written.Add(Write(plotsDirectory, names, $"layers_{model}_{metric}", plot));
            }

        foreach (var model in models)
        {
            using var plot = LocalisationVsSensitivity.Create(board, model);
            if (plot is not null) written.Add(Write(plotsDirectory, names, $"loc_vs_sens_{model}", plot));
        }

        RemoveStale(plotsDirectory, names);
        return written;
    }

    private static RenderedPlot Write(string directory, HashSet<string> names, string name, Plot plot)
    {
        // Two names that differ only in replaced characters (or case) get -2, -3, …
        var stem = PlotStyle.SafeFileName(name);
        var unique = stem;
        for (var i = 2; !names.Add(unique); i++) unique = $"{stem}-{i}";

        var png = plot.GetImageBytes(PlotStyle.Width, PlotStyle.Height, ImageFormat.Png);
        var svg = NormaliseClipIds(plot.GetSvgXml(PlotStyle.Width, PlotStyle.Height));
        var pngPath = Path.GetFullPath(Path.Combine(directory, unique + ".png"));
        var svgPath = Path.GetFullPath(Path.Combine(directory, unique + ".svg"));
        AtomicFile.WriteAllBytes(pngPath, png);
        AtomicFile.WriteAllText(svgPath, svg);
        return new RenderedPlot(plot.Axes.Title.Label.Text, pngPath, svgPath, png);
    }

    // Skia's SVG canvas numbers clip paths with a process-wide counter in hex (cl_4 in the first file, cl_8 in the next, later cl_15d):
    // renumber them by first appearance so a file depends only on its plot.
    internal static string NormaliseClipIds(string svg)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        return ClipId().Replace(svg, m =>
        {
            if (!ids.TryGetValue(m.Groups[1].Value, out var id)) ids[m.Groups[1].Value] = id = $"cl_{ids.Count + 1}";
            return id;
        });
    }

    [GeneratedRegex(@"(?<=id=""|url\(#)cl_([0-9A-Fa-f]+)(?=["")])")]
    private static partial Regex ClipId();

    private static void RemoveStale(string directory, HashSet<string> written)
    {
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            var fileName = Path.GetFileName(file);
            var extension = Path.GetExtension(fileName);
            if (extension is not (".png" or ".svg")) continue;
            if (!Prefixes.Any(p => fileName.StartsWith(p, StringComparison.Ordinal))) continue;
            if (!written.Contains(Path.GetFileNameWithoutExtension(fileName))) File.Delete(file);
        }
    }
}
