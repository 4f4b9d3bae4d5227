using Harness.Metrics;
using MathNet.Numerics.Distributions;

namespace Harness.Experiments.Statistics;

/// <summary>
/// The two-sided Wilcoxon signed-rank test of paired differences (H0: symmetric about 0), as scipy.stats.wilcoxon
/// with <c>zero_method="wilcox"</c> and no continuity correction: zero differences are dropped, |d| ranked with ties
/// averaged, W+ and W− the rank sums of the positive and negative differences, statistic T = min(W+, W−).
/// The p-value is exact (the null distribution of W+ by counting subsets) when at most 50 differences remain and
/// their |d| have no ties, and otherwise the normal approximation with scipy's tie correction of the variance.
/// (scipy 1.10's "auto" also takes the exact path with ties, truncating the fractional rank sum; with ties the
/// normal approximation is the sound choice, and is what scipy's <c>method="approx"</c> gives.)
/// </summary>
public static class WilcoxonSignedRank
{
    /// <summary>Differences up to this count (without ties) get the exact p-value.</summary>
    public const int ExactLimit = 50;

    /// <summary>The test's outcome: T = min(W+, W−), the p-value, the count of non-zero differences and whether p is exact.</summary>
    public readonly record struct Result(double Statistic, double PValue, int Count, bool Exact);

    /// <summary>Tests <paramref name="differences"/>; p = 1 when every difference is zero (nothing to test).</summary>
    public static Result Test(IReadOnlyList<double> differences)
    {
        ArgumentNullException.ThrowIfNull(differences);
        var d = differences.Where(v => v != 0).ToArray();
        if (d.Any(double.IsNaN)) throw new ArgumentException("differences must not be NaN", nameof(differences));
        var n = d.Length;
        if (n == 0) return new Result(0, 1, 0, true);
        var abs = d.Select(Math.Abs).ToArray();
        var ranks = Ranking.Average(abs);
        double plus = 0, minus = 0;
        for (var k = 0; k < n; k++)
            if (d[k] > 0) plus += ranks[k];
            else minus += ranks[k];
        var statistic = Math.Min(plus, minus);
        var ties = Ranking.TieSizes(abs);
        if (n <= ExactLimit && ties.All(t => t == 1))
            return new Result(statistic, ExactPValue(n, (int)Math.Round(plus)), n, true);

        var mean = n * (n + 1) / 4.0;
        var variance = n * (n + 1.0) * (2 * n + 1);
        foreach (var t in ties) variance -= 0.5 * t * ((double)t * t - 1);
        var z = (statistic - mean) / Math.Sqrt(variance / 24);
        return new Result(statistic, Math.Min(1, 2 * Normal.CDF(0, 1, -Math.Abs(z))), n, false);
    }

    // P-value from the exact null distribution: each of the n ranks is in W+ with probability ½, so
    // count[w] = number of subsets of {1..n} summing to w, divided by 2ⁿ. Two-sided as scipy: 2·min(P(W+ ≤ w), P(W+ ≥ w)).
    private static double ExactPValue(int n, int wPlus)
    {
        var max = n * (n + 1) / 2;
        var count = new double[max + 1];
        count[0] = 1;
        for (var r = 1; r <= n; r++)
            for (var w = max; w >= r; w--) count[w] += count[w - r];
        var total = Math.Pow(2, n);
        if (wPlus == max / 2) return 1; // scipy: the centre of the distribution (integer division) is p = 1
        double below = 0, above = 0;
        for (var w = 0; w <= max; w++)
        {
            if (w <= wPlus) below += count[w];
            if (w >= wPlus) above += count[w];
        }
        return Math.Clamp(2 * Math.Min(below, above) / total, 0, 1);
    }
}
