using System.Diagnostics;
using Harness.Experiments;

namespace Harness.Tests.Experiments;

/// <summary>
/// A run killed with SIGKILL part-way and run again ends with a leaderboard byte-identical to an uninterrupted run,
/// keeps the shards finished before the kill, and has no duplicate rows; the temporary file of a write the kill cut
/// short is removed.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ResumeTests
{
    private const string Body = """
        methods: [gradient, center, random]
        metrics: [bbox_accuracy, pointing_game, energy_pointing_game, localization_accuracy, class_sensitivity]
        shard_size: 2
        batch_size: 2
        """;

    [Fact]
    public void KilledRunResumesToTheSameLeaderboard()
    {
        using var experiment = new TempExperiment();
        var spec = experiment.WriteSpec("resume", Body);
        var limit = "dataset.limit=12";

        TempExperiment.Run(spec, limit, $"results={Path.Combine(experiment.Directory, "uninterrupted")}");
        var expected = File.ReadAllBytes(Path.Combine(experiment.Directory, "uninterrupted", "resume", "leaderboard.csv"));

        // Start the CLI as its own process and SIGKILL it once some shards are finished.
        var interruptedRoot = Path.Combine(experiment.Directory, "interrupted");
        var shardDir = Path.Combine(interruptedRoot, "resume", "shards");
        var cli = TestPaths.Cli;
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = TestPaths.RepoRoot, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { cli, "run", spec, "--set", limit, "--set", $"results={interruptedRoot}" }) start.ArgumentList.Add(a);
        // The CLI would use every core; give it this process's thread count, which TempExperiment.Run uses, so both runs
        // add in the same order (results agree to the last digit only at equal thread counts).
        start.Environment[Harness.Torch.IntraOpThreads.EnvironmentVariable] = Harness.Torch.torch.get_num_threads().ToString(System.Globalization.CultureInfo.InvariantCulture);
        int killedPid;
        using (var process = Process.Start(start)!)
        {
            killedPid = process.Id;
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var clock = Stopwatch.StartNew();
            while (!process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(5) &&
                   (!Directory.Exists(shardDir) || Directory.GetFiles(shardDir, "*.csv.json", SearchOption.AllDirectories).Length < 2))
                Thread.Sleep(50);
            Assert.False(process.HasExited, "the run finished before it could be interrupted");
            process.Kill(entireProcessTree: true); // SIGKILL
            process.WaitForExit();
        }
        var finishedBefore = Directory.GetFiles(shardDir, "*.csv.json", SearchOption.AllDirectories)
            .ToDictionary(f => f, File.GetLastWriteTimeUtc);
        Assert.InRange(finishedBefore.Count, 2, 5);
        Assert.False(File.Exists(Path.Combine(interruptedRoot, "resume", "leaderboard.csv")));
        // The kill lands between writes only by luck; plant what a kill inside a shard's write leaves behind.
        var cutShort = Path.Combine(Path.GetDirectoryName(finishedBefore.Keys.First())!,
            $".0099.csv.{Guid.NewGuid():N}.{killedPid}@{Environment.MachineName}.tmp");
        File.WriteAllText(cutShort, "model,method,layer,image_id\nmobilenet_v2,grad");

        TempExperiment.Run(spec, limit, $"results={interruptedRoot}");
        Assert.Equal(expected, File.ReadAllBytes(Path.Combine(interruptedRoot, "resume", "leaderboard.csv")));
        foreach (var (file, time) in finishedBefore)
            Assert.Equal(time, File.GetLastWriteTimeUtc(file)); // finished shards were not recomputed
        var rows = ImageRow.Read(Path.Combine(interruptedRoot, "resume", "images.csv"),
            new[] { "bbox_accuracy", "pointing_game", "energy_pointing_game", "localization_accuracy", "class_sensitivity" });
        Assert.Equal(12 * 3, rows.Count);
        Assert.Equal(rows.Count, rows.Select(r => (r.Method, r.ImageId)).Distinct().Count());
        Assert.Empty(Directory.GetFiles(interruptedRoot, "*.tmp", SearchOption.AllDirectories));
    }
}
