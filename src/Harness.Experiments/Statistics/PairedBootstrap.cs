using Harness.Metrics;

namespace Harness.Experiments.Statistics;

/// <summary>
/// A seeded percentile bootstrap of the mean of paired differences (Efron and Tibshirani 1993): B resamples of the n
/// differences drawn with replacement, the mean of each, and the 2.5th and 97.5th percentiles of those means with
/// numpy's default linear interpolation (position q·(B − 1) in the sorted means). Resample b takes its n indices as
/// consecutive draws <see cref="SplitMix64.Uniform"/>(state, n) from the single stream
/// <see cref="SplitMix64.Stream"/>(seed, "paired_bootstrap"), b-major, so tools/reference reproduces it exactly.
/// </summary>
public static class PairedBootstrap
{
    /// <summary>Resamples by default.</summary>
    public const int DefaultResamples = 10_000;

    /// <summary>The 95% percentile interval of the mean of <paramref name="differences"/>.</summary>
    public static (double Low, double High) MeanCi95(IReadOnlyList<double> differences, ulong seed, int resamples = DefaultResamples)
    {
        ArgumentNullException.ThrowIfNull(differences);
        ArgumentOutOfRangeException.ThrowIfLessThan(resamples, 2);
        var n = differences.Count;
        if (n == 0) return (double.NaN, double.NaN);
        var state = SplitMix64.Stream(seed, "paired_bootstrap");
        var means = new double[resamples];
        for (var b = 0; b < resamples; b++)
        {
            var sum = 0.0;
            for (var k = 0; k < n; k++) sum += differences[(int)SplitMix64.Uniform(ref state, (ulong)n)];
            means[b] = sum / n;
        }
        Array.Sort(means);
        return (Percentile.OfSorted(means, 2.5), Percentile.OfSorted(means, 97.5));
    }
}
