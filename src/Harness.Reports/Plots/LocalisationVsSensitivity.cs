using Harness.Experiments;
using Harness.Metrics;
using ScottPlot;

namespace Harness.Reports.Plots;

/// <summary>
/// The trade-off the benchmark is about: a map can sit on the object (localisation) without depending on which class
/// was asked for (class sensitivity), and the reverse. One labelled point per method variant of a model at
/// (class_sensitivity mean, localisation mean), with both 95% CIs as error bars; up and to the right is better on
/// both. The localisation metric is the first of <see cref="LocalisationPreference"/> the board has for the model.
/// One chart per model.
/// </summary>
public static class LocalisationVsSensitivity
{
    /// <summary>Localisation metrics in order of preference for the y axis.</summary>
    public static IReadOnlyList<string> LocalisationPreference { get; } = new[]
    {
        PointingGame.MetricName, EnergyPointingGame.MetricName, LocalizationAccuracy.MetricName, BoundingBoxAccuracy.MetricName,
    };

    /// <summary>The localisation metric <paramref name="model"/>'s chart uses, or null when the board has none with a value.</summary>
    public static string? LocalisationMetric(IReadOnlyList<LeaderboardRow> board, string model)
    {
        ArgumentNullException.ThrowIfNull(board);
        return LocalisationPreference.FirstOrDefault(m => board.Any(r => r.Model == model && r.Metric == m && PlotStyle.Finite(r.Mean)));
    }

    /// <summary>Whether the board has both class sensitivity and a localisation metric for one method variant of <paramref name="model"/>.</summary>
    public static bool Applies(IReadOnlyList<LeaderboardRow> board, string model) => Points(board, model).Count > 0;

    /// <summary>The chart for <paramref name="model"/>, or null when it does not apply (dispose the plot after saving it).</summary>
    public static Plot? Create(IReadOnlyList<LeaderboardRow> board, string model)
    {
        var points = Points(board, model);
        if (points.Count == 0) return null;
        var localisation = points[0].Y.Metric;

        var plot = PlotStyle.NewPlot($"{localisation} vs class sensitivity, {model}");
        for (var i = 0; i < points.Count; i++)
        {
            var (x, y) = (points[i].X, points[i].Y);
            var color = PlotStyle.Color(i);
            plot.Add.Marker(x.Mean, y.Mean, MarkerShape.FilledCircle, 9, color);
            if (PlotStyle.Finite(x.Ci95Low) && PlotStyle.Finite(x.Ci95High) && PlotStyle.Finite(y.Ci95Low) && PlotStyle.Finite(y.Ci95High)
                && (x.Ci95High > x.Ci95Low || y.Ci95High > y.Ci95Low))
            {
                plot.Add.Plottable(new ScottPlot.Plottables.ErrorBar(new[] { x.Mean }, new[] { y.Mean },
                    new[] { Math.Max(0, x.Ci95High - x.Mean) }, new[] { Math.Max(0, x.Mean - x.Ci95Low) },
                    new[] { Math.Max(0, y.Ci95High - y.Mean) }, new[] { Math.Max(0, y.Mean - y.Ci95Low) })
                {
                    Color = color,
                    LineWidth = 1.2f,
                    CapSize = 5,
                });
            }
        }

        plot.XLabel(PlotStyle.ValueLabel(ClassSensitivity.MetricName));
        plot.YLabel(PlotStyle.ValueLabel(localisation));
        // Room on the right and top for the labels, which autoscaling does not count.
        plot.Axes.Margins(left: 0.08, right: 0.35, bottom: 0.1, top: 0.15);
        plot.Axes.AutoScale();
        PlaceLabels(plot, points);
        return plot;
    }

    // Each point's label to its right, moved up or down (in steps of a line) off the labels already placed, so
    // variants with close scores stay readable. Pixel positions are estimated from the axis limits and the usual
    // size of the data area; an estimate is enough to keep labels apart.
    private static void PlaceLabels(Plot plot, List<(LeaderboardRow X, LeaderboardRow Y)> points)
    {
        const float fontSize = 11, gap = 7, lineHeight = fontSize + 3;
        var limits = plot.Axes.GetLimits();
        double dataWidth = PlotStyle.Width - 110, dataHeight = PlotStyle.Height - 105;
        float Px(double x) => (float)((x - limits.Left) / (limits.Right - limits.Left) * dataWidth);
        float Py(double y) => (float)((limits.Top - y) / (limits.Top - limits.Bottom) * dataHeight);

        using var font = new SkiaSharp.SKFont(ReportFonts.Regular, fontSize);
        var placed = new List<SkiaSharp.SKRect>();
        var order = Enumerable.Range(0, points.Count).OrderByDescending(i => points[i].Y.Mean).ThenBy(i => points[i].X.Mean);
        foreach (var i in order)
        {
            var (x, y) = (points[i].X, points[i].Y);
            var width = font.MeasureText(x.Method);
            var (px, py) = (Px(x.Mean), Py(y.Mean));
            // Offsets of the label's baseline from the point: just above, just below, then further out.
            var candidates = Enumerable.Range(0, 8).Select(k => k % 2 == 0 ? -4 - k / 2 * lineHeight : 4 + lineHeight + k / 2 * lineHeight).ToList();
            SkiaSharp.SKRect Box(float dy) => new(px + gap, py + dy - lineHeight, px + gap + width, py + dy);
            var offset = candidates.FirstOrDefault(dy => !placed.Any(p => p.IntersectsWith(Box(dy))), candidates[0]);
            placed.Add(Box(offset));

            var label = plot.Add.Text(x.Method, x.Mean, y.Mean);
            label.LabelStyle.FontName = ReportFonts.FamilyName;
            label.LabelStyle.FontSize = fontSize;
            label.LabelStyle.ForeColor = PlotStyle.Color(i).Darken(0.3);
            label.LabelStyle.Alignment = Alignment.LowerLeft;
            label.OffsetX = gap;
            label.OffsetY = offset;
        }
    }

    private static List<(LeaderboardRow X, LeaderboardRow Y)> Points(IReadOnlyList<LeaderboardRow> board, string model)
    {
        ArgumentNullException.ThrowIfNull(board);
        var localisation = LocalisationMetric(board, model);
        if (localisation is null) return new();
        var ofModel = board.Where(r => r.Model == model && PlotStyle.Finite(r.Mean)).ToList();
        return ofModel.Select(r => r.Method).Distinct()
            .Select(method => (X: ofModel.FirstOrDefault(r => r.Method == method && r.Metric == ClassSensitivity.MetricName),
                Y: ofModel.FirstOrDefault(r => r.Method == method && r.Metric == localisation)))
            .Where(p => p.X is not null && p.Y is not null)
            .Select(p => (p.X!, p.Y!))
            .ToList();
    }
}
