using System.Diagnostics;
using System.Globalization;

namespace Harness.Bench;

/// <summary>
/// Machine-wide CPU idleness from /proc/stat, for benchmarking on a shared machine: <see cref="WaitUntilIdle"/>
/// holds a cell back until the other processes leave the cores (mostly) alone, so a ratio compares the two sides
/// and not two moments of someone else's build. Linux only; elsewhere it never waits.
/// </summary>
public static class CpuIdle
{
    /// <summary>Fraction of CPU time spent idle (or waiting on I/O) over <paramref name="window"/>, or null if unknown.</summary>
    public static double? Measure(TimeSpan window)
    {
        var a = Read();
        if (a is null) return null;
        Thread.Sleep(window);
        var b = Read();
        if (b is null) return null;
        var total = b.Value.Total - a.Value.Total;
        return total > 0 ? (double)(b.Value.Idle - a.Value.Idle) / total : null;
    }

    /// <summary>
    /// Waits until the CPUs were at least <paramref name="threshold"/> idle over a 2-second window, at most
    /// <paramref name="limit"/>; returns the last idleness seen (null where /proc/stat is unreadable).
    /// </summary>
    public static double? WaitUntilIdle(double threshold, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var idle = Measure(TimeSpan.FromSeconds(2));
            if (idle is null || idle >= threshold || watch.Elapsed >= limit) return idle;
        }
    }

    private static (long Total, long Idle)? Read()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").First();
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            // user nice system idle iowait irq softirq steal ...
            return (fields.Take(8).Sum(), fields[3] + fields[4]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
