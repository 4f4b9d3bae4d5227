using System.Security.Cryptography;
using System.Text;

namespace Harness.Data;

/// <summary>SHA-256 content hashes (lower-case hex) that identify inputs: checkpoints, image sets, options.</summary>
public static class ContentHash
{
    public static string OfFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static string OfText(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>A hash of several files in the given order: the hash of their names and content hashes.</summary>
    public static string OfFiles(IEnumerable<string> paths)
    {
        var text = new StringBuilder();
        foreach (var path in paths) text.Append(Path.GetFileName(path)).Append(' ').Append(OfFile(path)).Append('\n');
        return OfText(text.ToString());
    }

    /// <summary>
    /// A cheap stand-in for a file's content hash: its size and last write time (of the target, for a symbolic link).
    /// Finished grains record both; status and resume compare stamps (no file is read), `mipin verify` the hashes.
    /// </summary>
    public static string StampOfFile(string path)
    {
        var info = new FileInfo(path);
        // FileInfo describes a symbolic link itself; the attribute test costs no extra system call for a plain file.
        if (info.Attributes.HasFlag(FileAttributes.ReparsePoint) && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target) info = target;
        if (!info.Exists) throw new FileNotFoundException($"{path} does not exist", path);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{info.Length}:{info.LastWriteTimeUtc.Ticks}");
    }
}
