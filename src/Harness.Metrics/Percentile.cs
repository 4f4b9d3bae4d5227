namespace Harness.Metrics;

/// <summary>Percentiles as numpy.percentile computes them by default, so figures compare with the Python references.</summary>
public static class Percentile
{
    /// <summary>
    /// The <paramref name="q"/>th percentile (0–100) of ascending <paramref name="sorted"/>: linear interpolation
    /// between the values at position q/100·(n − 1) (numpy's "linear" method).
    /// </summary>
    public static double OfSorted(IReadOnlyList<double> sorted, double q)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0) throw new ArgumentException("the percentile of no values is undefined", nameof(sorted));
        var position = q / 100 * (sorted.Count - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}
