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
}
