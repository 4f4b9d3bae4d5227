using System.Diagnostics;

namespace Harness.Experiments;

/// <summary>
/// Wall time per named stage of a piece of work (e.g. a shard: "read+decode", "maps: mipin", "metric: completeness"),
/// summed over calls, in the order the stages were first seen. <c>mipin bench --pipeline</c> reads it to show where a
/// score grain's time goes. Stopwatch reads only: cheap enough to stay on in production scoring.
/// Thread-safe, so stages timed on a prefetch thread add up too (their time then overlaps other stages').
/// </summary>
public sealed class StageTimer
{
    private readonly List<string> _order = new();
    private readonly Dictionary<string, (double Seconds, int Calls)> _totals = new(StringComparer.Ordinal);

    /// <summary>Runs <paramref name="work"/> and adds its wall time to <paramref name="stage"/>.</summary>
    public T Time<T>(string stage, Func<T> work)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            return work();
        }
        finally
        {
            Add(stage, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
    }

    /// <summary>Runs <paramref name="work"/> and adds its wall time to <paramref name="stage"/>.</summary>
    public void Time(string stage, Action work) => Time(stage, () =>
    {
        work();
        return 0;
    });

    /// <summary>Adds <paramref name="seconds"/> to <paramref name="stage"/> (one call).</summary>
    public void Add(string stage, double seconds)
    {
        lock (_totals)
        {
            if (!_totals.TryGetValue(stage, out var total)) _order.Add(stage);
            _totals[stage] = (total.Seconds + seconds, total.Calls + 1);
        }
    }

    /// <summary>Each stage's summed seconds and number of calls, in first-seen order.</summary>
    public IReadOnlyList<(string Stage, double Seconds, int Calls)> Totals
    {
        get
        {
            lock (_totals) return _order.Select(s => (s, _totals[s].Seconds, _totals[s].Calls)).ToList();
        }
    }

    /// <summary>Forgets every stage (e.g. after a warm-up run).</summary>
    public void Reset()
    {
        lock (_totals)
        {
            _order.Clear();
            _totals.Clear();
        }
    }
}
