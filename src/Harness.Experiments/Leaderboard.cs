using System.Globalization;
using Harness.Data;

namespace Harness.Experiments;

/// <summary>One leaderboard line: a metric's statistics for one model × method variant × layer.</summary>
public sealed record LeaderboardRow(string Model, string Method, string Layer, string Metric, double Mean, double Std,
    double Ci95Low, double Ci95High, int N, int Skipped, int ZeroMaps);

/// <summary>
/// Aggregates per-image rows into the leaderboard: for every model × method × layer × metric the mean, sample
/// standard deviation, normal-approximation 95% confidence interval (mean ± 1.96·std/√n), the number of scored
/// images n and of skipped ones. Order follows the spec (models, methods, metrics), so the CSV is byte-identical
/// for identical inputs.
/// </summary>
public static class Leaderboard
{
    /// <summary>
    /// The leaderboard of <paramref name="rows"/> for <paramref name="metrics"/>. A metric that does not apply to a
    /// method (<see cref="MetricApplicability"/>: completeness for a method without a source signal) gets no line for it.
    /// </summary>
    public static List<LeaderboardRow> Compute(IReadOnlyList<ImageRow> rows, IReadOnlyList<string> metrics, MetricApplicability applicability)
    {
        var result = new List<LeaderboardRow>();
        var groups = rows.GroupBy(r => (r.Model, r.Method, r.Layer)); // GroupBy keeps first-appearance order
        foreach (var group in groups)
            foreach (var metric in metrics)
            {
                if (!applicability.Applies(group.Key.Method, metric)) continue;
                var values = group.Select(r => r.Values.TryGetValue(metric, out var v) ? v : null).ToList();
                var scored = values.Where(v => v.HasValue).Select(v => v!.Value).ToList();
                var n = scored.Count;
                var mean = n > 0 ? scored.Sum() / n : double.NaN;
                var std = n > 1 ? Math.Sqrt(scored.Sum(v => (v - mean) * (v - mean)) / (n - 1)) : 0;
                var half = n > 0 ? 1.96 * std / Math.Sqrt(n) : double.NaN;
                var zero = applicability.CountsZeroMaps(metric) ? group.Sum(r => r.ZeroMaps) : 0;
                result.Add(new LeaderboardRow(group.Key.Model, group.Key.Method, group.Key.Layer, metric, mean, std, mean - half, mean + half,
                    n, values.Count - n, zero));
            }
        return result;
    }

    public static readonly string[] Columns = { "model", "method", "layer", "metric", "mean", "std", "ci95_low", "ci95_high", "n", "skipped", "zero_maps" };

    public static string ToCsv(IEnumerable<LeaderboardRow> rows) =>
        CsvTable.ToText(Columns, rows.Select(r => (IReadOnlyList<string>)new[]
        {
            r.Model, r.Method, r.Layer, r.Metric, F(r.Mean), F(r.Std), F(r.Ci95Low), F(r.Ci95High),
            r.N.ToString(CultureInfo.InvariantCulture), r.Skipped.ToString(CultureInfo.InvariantCulture), r.ZeroMaps.ToString(CultureInfo.InvariantCulture),
        }));

    private static string F(double v) => double.IsNaN(v) ? "" : v.ToString("F6", CultureInfo.InvariantCulture);
}
