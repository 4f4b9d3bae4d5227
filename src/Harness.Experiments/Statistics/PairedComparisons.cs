using System.Globalization;
using Harness.Data;
using Harness.Metrics;

namespace Harness.Experiments.Statistics;

/// <summary>
/// One method variant against the reference method on the same images, for one model and metric: the mean of the
/// paired differences (method − reference) with its seeded bootstrap 95% interval, and the Wilcoxon signed-rank test.
/// </summary>
public sealed record PairedComparison(string Model, string Metric, string Method, string Reference, int Pairs,
    double MeanDifference, double Ci95Low, double Ci95High, double WilcoxonStatistic, double PValue, bool ExactP, BetterDirection Better);

/// <summary>
/// Answers the question a leaderboard's readers come with — is method A better than the reference on these images,
/// and is the difference real? — for every model, metric and method variant: the images both scored are paired
/// (same model, same image id), the differences tested (<see cref="WilcoxonSignedRank"/>) and their mean bootstrapped
/// (<see cref="PairedBootstrap"/>, seeded by the spec's seed). Written as comparisons.csv (docs/results.md).
/// </summary>
public static class PairedComparisons
{
    /// <summary>The default reference: Grad-CAM, the baseline MIP-IN's paper compares with.</summary>
    public const string DefaultReference = "gradcam";

    public static readonly string[] Columns =
        ["model", "metric", "method", "reference", "pairs", "mean_difference", "ci95_low", "ci95_high", "wilcoxon_statistic", "p_value", "p_exact", "better"];

    /// <summary>
    /// The reference variant's label among <paramref name="labels"/>: the label equal to <paramref name="reference"/>
    /// or the first variant of that method ("gradcam[layer=features.18]" for "gradcam"); null when none matches.
    /// </summary>
    public static string? ReferenceLabel(IEnumerable<string> labels, string reference) =>
        labels.FirstOrDefault(l => l == reference) ?? labels.FirstOrDefault(l => l.StartsWith(reference + "[", StringComparison.Ordinal));

    /// <summary>Every comparison, in row order of models, metrics, then method variants (the reference itself left out).</summary>
    public static List<PairedComparison> Compute(IReadOnlyList<ImageRow> rows, IReadOnlyList<string> metrics, string reference, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var result = new List<PairedComparison>();
        foreach (var model in rows.Select(r => r.Model).Distinct())
        {
            var ofModel = rows.Where(r => r.Model == model).ToList();
            var labels = ofModel.Select(r => r.Method).Distinct().ToList();
            if (ReferenceLabel(labels, reference) is not { } refLabel) continue;
            var refRows = ofModel.Where(r => r.Method == refLabel).GroupBy(r => r.ImageId).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            foreach (var metric in metrics)
                foreach (var label in labels.Where(l => l != refLabel))
                {
                    var differences = new List<double>();
                    foreach (var row in ofModel.Where(r => r.Method == label))
                        if (Value(row, metric) is { } a && refRows.TryGetValue(row.ImageId, out var other) && Value(other, metric) is { } b)
                            differences.Add(a - b);
                    if (differences.Count == 0) continue; // e.g. completeness: no values for the reference
                    var (low, high) = PairedBootstrap.MeanCi95(differences, seed);
                    var test = WilcoxonSignedRank.Test(differences);
                    result.Add(new PairedComparison(model, metric, label, refLabel, differences.Count, differences.Average(), low, high,
                        test.Statistic, test.PValue, test.Exact, MetricRegistry.Better(metric)));
                }
        }
        return result;
    }

    public static string ToCsv(IEnumerable<PairedComparison> comparisons) =>
        CsvTable.ToText(Columns, comparisons.Select(c => (IReadOnlyList<string>)new[]
        {
            c.Model, c.Metric, c.Method, c.Reference, c.Pairs.ToString(CultureInfo.InvariantCulture), F(c.MeanDifference), F(c.Ci95Low),
            F(c.Ci95High), F(c.WilcoxonStatistic), c.PValue.ToString("G6", CultureInfo.InvariantCulture), c.ExactP ? "exact" : "normal",
            c.Better switch { BetterDirection.Higher => "higher", BetterDirection.Lower => "lower", _ => "toward_zero" },
        }));

    private static double? Value(ImageRow row, string metric) => row.Values.TryGetValue(metric, out var v) ? v : null;

    private static string F(double v) => double.IsNaN(v) ? "" : v.ToString("F6", CultureInfo.InvariantCulture);
}
