using Harness.Experiments;
using ScottPlot;

namespace Harness.Reports.Plots;

/// <summary>
/// One metric at a glance: a bar per method variant and model (the leaderboard mean) with its 95% confidence
/// interval as error bars, so a reader sees both the ranking and whether the differences exceed the noise of the
/// sample. Method variants are the groups along x, in leaderboard order; within a group one bar per model, coloured
/// by model (with a legend when there is more than one). The value axis says which way is better; the title names the metric.
/// </summary>
public static class MetricBarChart
{
    /// <summary>The bar chart of <paramref name="metric"/> over <paramref name="board"/> (dispose the plot after saving it).</summary>
    public static Plot Create(IReadOnlyList<LeaderboardRow> board, string metric)
    {
        ArgumentNullException.ThrowIfNull(board);
        var rows = board.Where(r => r.Metric == metric).ToList();
        var methods = rows.Select(r => r.Method).Distinct().ToList();
        var models = rows.Select(r => r.Model).Distinct().ToList();

        var plot = PlotStyle.NewPlot(models.Count == 1 ? $"{metric}: mean and 95% CI, {models[0]}" : $"{metric}: mean and 95% CI");
        const double groupWidth = 0.8;
        var barWidth = groupWidth / Math.Max(1, models.Count);
        var allNonNegative = true;
        for (var m = 0; m < models.Count; m++)
        {
            var bars = new List<Bar>();
            var whiskers = new List<(double X, double Y, double Low, double High)>();
            for (var g = 0; g < methods.Count; g++)
            {
                var row = rows.FirstOrDefault(r => r.Model == models[m] && r.Method == methods[g]);
                if (row is null || !PlotStyle.Finite(row.Mean)) continue;
                var x = g - groupWidth / 2 + barWidth * (m + 0.5);
                bars.Add(new Bar
                {
                    Position = x,
                    Value = row.Mean,
                    Size = barWidth * 0.92,
                    FillColor = PlotStyle.Color(m),
                    LineWidth = 0,
                });
                whiskers.Add((x, row.Mean, row.Ci95Low, row.Ci95High));
                allNonNegative &= row.Mean >= 0 && (!PlotStyle.Finite(row.Ci95Low) || row.Ci95Low >= 0);
            }
            if (bars.Count == 0) continue;
            var barPlot = plot.Add.Bars(bars);
            if (models.Count > 1) barPlot.LegendText = models[m];
            if (PlotStyle.CiErrorBars(whiskers, Colors.Black) is { } errors) plot.Add.Plottable(errors);
        }

        plot.YLabel(PlotStyle.ValueLabel(metric, "mean"));
        // Model names are long and few: one row in the top corner, over headroom kept free for it below.
        if (models.Count > 1) plot.ShowLegend(Alignment.UpperRight, Orientation.Horizontal);
        // Bars stand on the axis when nothing is negative; x shows exactly the groups.
        plot.Axes.Margins(left: 0, right: 0, bottom: allNonNegative ? 0 : 0.1, top: models.Count > 1 ? 0.35 : 0.1);
        plot.Axes.AutoScale();
        plot.Axes.SetLimitsX(-0.5, Math.Max(1, methods.Count) - 0.5);
        PlotStyle.CategoryTicks(plot, methods);
        return plot;
    }
}
