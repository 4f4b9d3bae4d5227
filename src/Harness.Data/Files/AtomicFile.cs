namespace Harness.Data;

/// <summary>
/// Writes whole files atomically: the bytes go to a temporary file in the
/// target folder and are then moved over the target, so a reader (or a crashed run) never sees a half-written file.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte-order mark).</summary>
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, new System.Text.UTF8Encoding(false).GetBytes(text));

    public static void WriteAllBytes(string path, byte[] bytes)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        // Same folder, so the final move is a rename on one file system rather than a copy.
        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true); // durable before the rename makes it visible
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp); // no-op when it does not exist
            throw;
        }
    }
}
