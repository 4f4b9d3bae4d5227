namespace Harness.Silo;

/// <summary>
/// The process's peak resident memory (Linux VmHWM), resettable so that each grain reports its own peak. With
/// several slots in one process the figure covers the grains that ran side by side.
/// </summary>
public static class PeakMemory
{
    /// <summary>Resets the high-water mark to the current resident size (writes "5" to /proc/self/clear_refs).</summary>
    public static void Reset()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Peak resident set size in MiB since start or the last <see cref="Reset"/>; 0 where /proc is unavailable.</summary>
    public static double PeakMb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException) { }
        return 0;
    }
}
