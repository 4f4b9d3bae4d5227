namespace Harness.Torch;

/// <summary>
/// This process's resident memory from /proc/self/status (Linux): the current RSS (VmRSS) and its high-water mark
/// (VmHWM), which <see cref="ResetPeak"/> resets by writing 5 to /proc/self/clear_refs. Elsewhere the .NET
/// working-set figures stand in.
/// </summary>
public static class ProcessMemory
{
    /// <summary>Current resident set size in bytes.</summary>
    public static long ResidentBytes() => ReadStatus("VmRSS:") ?? Environment.WorkingSet;

    /// <summary>Peak resident set size in bytes since the process started or the last successful <see cref="ResetPeak"/>.</summary>
    public static long PeakResidentBytes()
    {
        if (ReadStatus("VmHWM:") is { } hwm) return hwm;
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return self.PeakWorkingSet64;
    }

    /// <summary>
    /// Starts a piece of work's own peak, as a silo does before every grain: hands the C heap's freed memory back to the
    /// OS (<see cref="HostMemory.ReleaseFreedMemory"/>; the process keeps it otherwise, see
    /// <see cref="HostMemory.KeepFreedMemory"/>), then resets the peak to what is left. Without the first step the peak
    /// would start from whatever earlier work left in the heap. False when the peak cannot be reset (it then counts from
    /// the process start).
    /// </summary>
    public static bool BeginOwnPeak()
    {
        HostMemory.ReleaseFreedMemory();
        return ResetPeak();
    }

    /// <summary>Resets the peak to the current RSS; false when the kernel does not allow it (the peak then keeps counting).</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    private static long? ReadStatus(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    var parts = line[key.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
        }
        return null;
    }
}
