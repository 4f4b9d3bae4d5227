using Harness.Torch.IO;

namespace Harness.Data;

/// <summary>
/// Writes whole files atomically: the bytes go to a temporary file in the
/// target folder and are then moved over the target, so a reader (or a crashed run) never sees a half-written file.
/// A writer killed between the two steps leaves its temporary file behind; <see cref="RemoveInterruptedWrites"/>
/// clears those when a run starts again and when it ends.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// A temporary file older than this was left by a killed writer even when the writer cannot be checked (it ran on
    /// another machine, or named no process): the slowest write takes seconds.
    /// </summary>
    public static readonly TimeSpan Abandoned = TimeSpan.FromHours(1);

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte-order mark).</summary>
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, new System.Text.UTF8Encoding(false).GetBytes(text));

    public static void WriteAllBytes(string path, byte[] bytes)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        // Same folder, so the final move is a rename on one file system rather than a copy.
        var temp = WriteTempFile.For(full);
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

    /// <summary>
    /// Deletes, under <paramref name="directory"/> and its subfolders, the temporary files of writes that can no longer
    /// finish: those whose writer was a process of this machine that is not running now, and those older than
    /// <see cref="Abandoned"/>. Files being written by a live process are left alone. Returns the deleted paths.
    /// </summary>
    public static IReadOnlyList<string> RemoveInterruptedWrites(string directory)
    {
        var removed = new List<string>();
        if (!Directory.Exists(directory)) return removed;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles(".*.tmp", SearchOption.AllDirectories))
        {
            if (!WriteTempFile.IsTemp(file.Name)) continue;
            var writer = WriteTempFile.WriterOf(file.Name);
            var writerGone = writer is { } w && w.Host == Environment.MachineName && !LocalProcess.IsRunning(w.Pid);
            if (!writerGone && DateTime.UtcNow - file.LastWriteTimeUtc < Abandoned) continue;
            try
            {
                file.Delete();
                removed.Add(file.FullName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone already (another process swept it) or not ours to delete: nothing lost either way.
            }
        }
        return removed;
    }
}
