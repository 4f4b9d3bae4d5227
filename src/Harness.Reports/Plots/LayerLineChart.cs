using Harness.Experiments;
using ScottPlot;

namespace Harness.Reports.Plots;

/// <summary>
/// How a metric changes with the layer a method reads, for specs that sweep layers: the question layer-dependent
/// methods (Grad-CAM, MIP-IN) raise is which depth explains best. x is the model's layers in the order the
/// leaderboard first names them (the spec's sweep order); one line per method with its other options fixed
/// ("mipin[complete=none]" and "mipin[complete=full]" are two lines), with 95% CI error bars. Methods that read no
/// layer appear as dashed horizontal lines, a baseline across depths. One chart per model and metric.
/// </summary>
public static class LayerLineChart
{
    /// <summary>Whether <paramref name="model"/>'s rows sweep layers: some method variant appears at two layers or more.</summary>
    public static bool Applies(IReadOnlyList<LeaderboardRow> board, string model)
    {
        ArgumentNullException.ThrowIfNull(board);
        return board.Where(r => r.Model == model && r.Layer != "-")
            .GroupBy(r => PlotStyle.WithoutOption(r.Method, "layer"))
            .Any(g => g.Select(r => r.Layer).Distinct().Count() >= 2);
    }

    /// <summary>
    /// The chart of <paramref name="metric"/> against the layer for <paramref name="model"/>, or null when no method
    /// has finite values of it at two layers (dispose the plot after saving it).
    /// </summary>
    public static Plot? Create(IReadOnlyList<LeaderboardRow> board, string model, string metric)
    {
        ArgumentNullException.ThrowIfNull(board);
        var ofModel = board.Where(r => r.Model == model).ToList();
        // One layer order for every metric of the model, so its charts line up.
        var layers = ofModel.Where(r => r.Layer != "-").Select(r => r.Layer).Distinct().ToList();
        var rows = ofModel.Where(r => r.Metric == metric && PlotStyle.Finite(r.Mean)).ToList();
        var series = rows.Where(r => r.Layer != "-")
            .GroupBy(r => PlotStyle.WithoutOption(r.Method, "layer"))
            .Select(g => (Name: g.Key, Points: g.GroupBy(r => r.Layer).Select(l => l.First()).OrderBy(r => layers.IndexOf(r.Layer)).ToList()))
            .ToList();
        if (!series.Any(s => s.Points.Count >= 2)) return null;
        var flat = rows.Where(r => r.Layer == "-").GroupBy(r => r.Method).Select(g => g.First()).ToList();

        var plot = PlotStyle.NewPlot($"{metric} by layer, {model}");
        // Lines of one layer side by side rather than on top of each other: a small dodge per series.
        var dodge = series.Count > 1 ? Math.Min(0.08, 0.4 / series.Count) : 0;
        for (var s = 0; s < series.Count; s++)
        {
            var color = PlotStyle.Color(s);
            var offset = (s - (series.Count - 1) / 2.0) * dodge;
            var points = series[s].Points;
            var xs = points.Select(r => layers.IndexOf(r.Layer) + offset).ToArray();
            var line = plot.Add.Scatter(xs, points.Select(r => r.Mean).ToArray(), color);
            line.LegendText = series[s].Name;
            line.LineWidth = 2;
            line.MarkerSize = 7;
            if (PlotStyle.CiErrorBars(points.Select((r, i) => (xs[i], r.Mean, r.Ci95Low, r.Ci95High)).ToList(), color) is { } errors)
                plot.Add.Plottable(errors);
        }
        for (var f = 0; f < flat.Count; f++)
        {
            var baseline = plot.Add.HorizontalLine(flat[f].Mean, 1.5f, PlotStyle.Color(series.Count + f), LinePattern.Dashed);
            baseline.LegendText = flat[f].Method;
        }

        plot.YLabel(PlotStyle.ValueLabel(metric, "mean"));
        plot.XLabel("layer");
        plot.ShowLegend(Edge.Right);
        plot.Axes.Margins(left: 0, right: 0, bottom: 0.1, top: 0.1);
        plot.Axes.AutoScale();
        plot.Axes.SetLimitsX(-0.5, layers.Count - 0.5);
        PlotStyle.CategoryTicks(plot, layers, PlotStyle.LegendWidth(series.Select(s => s.Name).Concat(flat.Select(f => f.Method))));
        return plot;
    }
}
