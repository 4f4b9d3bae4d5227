namespace Harness.Torch.IO;

/// <summary>
/// The temporary file an atomic write goes through before its rename over the target:
/// <c>.NAME.GUID.PID@HOST.tmp</c> in the target's folder. Naming the writing process lets a later run tell a temp file
/// whose writer was killed mid-write (SIGKILL, a preempted or cancelled job), which it may remove, from one that
/// another process is writing now, which it must leave alone.
/// </summary>
public static class WriteTempFile
{
    private const string Suffix = ".tmp";

    /// <summary>A fresh temporary path for a write of <paramref name="target"/> by this process.</summary>
    public static string For(string target)
    {
        var full = Path.GetFullPath(target);
        return Path.Combine(Path.GetDirectoryName(full)!,
            $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.{Environment.ProcessId}@{Environment.MachineName}{Suffix}");
    }

    /// <summary>Whether <paramref name="fileName"/> (a name, not a path) looks like a write's temporary file.</summary>
    public static bool IsTemp(string fileName) =>
        fileName.StartsWith('.') && fileName.EndsWith(Suffix, StringComparison.Ordinal);

    /// <summary>
    /// The host and process that write the temporary file <paramref name="fileName"/>, or null for a name without them
    /// (written by an older version).
    /// </summary>
    public static (string Host, int Pid)? WriterOf(string fileName)
    {
        if (!IsTemp(fileName)) return null;
        var stem = fileName[..^Suffix.Length];
        var at = stem.LastIndexOf('@');
        if (at < 0) return null;
        var dot = stem.LastIndexOf('.', at);
        return dot >= 0 && int.TryParse(stem.AsSpan(dot + 1, at - dot - 1), System.Globalization.NumberStyles.None,
                   System.Globalization.CultureInfo.InvariantCulture, out var pid)
            ? (stem[(at + 1)..], pid) : null;
    }
}
