namespace Harness.Metrics;

/// <summary>Ranks with ties averaged (scipy.stats.rankdata's default) and the sizes of the tie groups.</summary>
public static class Ranking
{
    /// <summary>1-based ranks; tied values share the mean of the ranks they span.</summary>
    public static double[] Average(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var order = Enumerable.Range(0, values.Count).ToArray();
        Array.Sort(order, (x, y) => values[x].CompareTo(values[y]));
        var ranks = new double[values.Count];
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            for (var k = start; k <= end; k++) ranks[order[k]] = (start + end) / 2.0 + 1;
            start = end + 1;
        }
        return ranks;
    }

    /// <summary>How many values share each distinct value (1 for an untied value).</summary>
    public static IReadOnlyList<int> TieSizes(IReadOnlyList<double> values) =>
        values.GroupBy(v => v).Select(g => g.Count()).ToArray();

    /// <summary>
    /// The k-th smallest value (0-based) of <paramref name="values"/>, i.e. what <c>Array.Sort</c> would put at index
    /// <paramref name="k"/>, in expected linear time instead of a full sort: a three-way quickselect (median-of-three
    /// pivot; equal values are set aside in one step, so maps with many zeros stay linear). Reorders
    /// <paramref name="values"/>. The values must not be NaN.
    /// </summary>
    public static double KthSmallest(Span<double> values, int k)
    {
        if (k < 0 || k >= values.Length) throw new ArgumentOutOfRangeException(nameof(k), k, $"must be in [0, {values.Length})");
        var (lo, hi) = (0, values.Length - 1);
        while (lo < hi)
        {
            var (a, b, c) = (values[lo], values[lo + (hi - lo) / 2], values[hi]);
            var pivot = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
            // values[lo..lt) < pivot, values[lt..i) == pivot, values(gt..hi] > pivot
            var (lt, i, gt) = (lo, lo, hi);
            while (i <= gt)
            {
                if (values[i] < pivot) (values[lt], values[i], lt, i) = (values[i], values[lt], lt + 1, i + 1);
                else if (values[i] > pivot) (values[i], values[gt], gt) = (values[gt], values[i], gt - 1);
                else i++;
            }
            if (k < lt) hi = lt - 1;
            else if (k > gt) lo = gt + 1;
            else return pivot;
        }
        return values[lo];
    }
}
