namespace Harness.Grains.Rendering;

/// <summary>
/// Writes whole files atomically (same pattern as <c>JpegEncoder.Save</c>): the bytes go to a temporary file in the
/// target folder and are then moved over the target, so a reader (or a crashed run) never sees a half-written file.
/// </summary>
internal static class AtomicFile
{
    public static void WriteAllBytes(string path, byte[] bytes)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        // Same folder, so the final move is a rename on one file system rather than a copy.
        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp); // no-op when it does not exist
            throw;
        }
    }
}
