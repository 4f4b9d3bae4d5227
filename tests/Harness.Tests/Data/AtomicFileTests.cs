using System.Diagnostics;
using Harness.Data;
using Harness.Torch.IO;

namespace Harness.Tests.Data;

/// <summary>
/// Atomic writes leave no temporary file when they finish, and <see cref="AtomicFile.RemoveInterruptedWrites"/> removes
/// exactly the temporary files whose writer is gone: a dead process of this machine, or any writer an hour ago.
/// </summary>
public sealed class AtomicFileTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"mipin-atomic-{Guid.NewGuid():N}");

    public AtomicFileTests() => Directory.CreateDirectory(Path.Combine(_folder, "shards"));

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void AFinishedWriteLeavesOnlyItsTarget()
    {
        var target = Path.Combine(_folder, "shards", "0001.csv");
        AtomicFile.WriteAllText(target, "a,b\n1,2\n");
        AtomicFile.WriteAllText(target, "a,b\n3,4\n");
        Assert.Equal("a,b\n3,4\n", File.ReadAllText(target));
        Assert.Equal(new[] { target }, Directory.GetFiles(_folder, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void TheTemporaryNameSaysWhichProcessWrites()
    {
        var temp = Path.GetFileName(WriteTempFile.For(Path.Combine(_folder, "leaderboard.csv")));
        Assert.StartsWith(".leaderboard.csv.", temp);
        Assert.Equal((Environment.MachineName, Environment.ProcessId), WriteTempFile.WriterOf(temp));
        // Host names may hold dots; the name is parsed from the right.
        Assert.Equal(("node7.cluster.example", 4242), WriteTempFile.WriterOf(".0003.csv.0123456789abcdef0123456789abcdef.4242@node7.cluster.example.tmp"));
        Assert.Null(WriteTempFile.WriterOf(".0003.csv.0123456789abcdef0123456789abcdef.tmp")); // an older version's name
        Assert.Null(WriteTempFile.WriterOf("0003.csv"));
    }

    [Fact]
    public void OnlyTheWritesOfGoneWritersAreRemoved()
    {
        int deadPid;
        using (var exited = Process.Start(new ProcessStartInfo("true"))!)
        {
            exited.WaitForExit();
            deadPid = exited.Id;
        }
        string Temp(string writer) => Plant(Path.Combine(_folder, "shards", $".0001.csv.{Guid.NewGuid():N}.{writer}.tmp"));
        var killedHere = Temp($"{deadPid}@{Environment.MachineName}");
        var liveHere = Temp($"{Environment.ProcessId}@{Environment.MachineName}");
        var elsewhere = Temp($"{deadPid}@another-node");
        var elsewhereLongAgo = Temp($"{deadPid}@another-node");
        File.SetLastWriteTimeUtc(elsewhereLongAgo, DateTime.UtcNow - AtomicFile.Abandoned - TimeSpan.FromMinutes(1));
        var unnamedLongAgo = Plant(Path.Combine(_folder, $".run.json.{Guid.NewGuid():N}.tmp"));
        File.SetLastWriteTimeUtc(unnamedLongAgo, DateTime.UtcNow - AtomicFile.Abandoned - TimeSpan.FromMinutes(1));
        var unnamedNow = Plant(Path.Combine(_folder, $".run.json.{Guid.NewGuid():N}.tmp"));
        var notATemp = Plant(Path.Combine(_folder, "shards", "notes.tmp"));

        var removed = AtomicFile.RemoveInterruptedWrites(_folder);

        Assert.Equal(new[] { killedHere, elsewhereLongAgo, unnamedLongAgo }.Order(), removed.Order());
        Assert.All(new[] { liveHere, elsewhere, unnamedNow, notATemp }, f => Assert.True(File.Exists(f), f));
        Assert.Empty(AtomicFile.RemoveInterruptedWrites(Path.Combine(_folder, "missing")));
    }

    private static string Plant(string path)
    {
        File.WriteAllText(path, "half a fi");
        return path;
    }
}
