using Harness.Grains;

namespace Harness.Tests.Experiments;

/// <summary>
/// Finished shards are trusted by the stamps of their inputs (size and write time: nothing is read), and
/// `mipin verify` re-checks their content: an image changed in place with its old time restored still looks done,
/// verify finds it stale and removes the marker, and a changed write time is noticed without verify. `mipin status`
/// trusts the markers alone, without re-planning.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class VerifyTests : IDisposable
{
    private readonly TempExperiment _experiment = new();

    public void Dispose() => _experiment.Dispose();

    [Fact]
    public void StampsAreTrustedAndVerifyRechecksContent()
    {
        var (root, ids) = _experiment.CopySample(4);
        var spec = _experiment.WriteSpec("verify", """
            methods: [center]
            metrics: [pointing_game]
            shard_size: 2
            """);
        var cli = TestPaths.Cli;
        var run = TestProcess.Run("dotnet", [cli, "run", spec, "--set", $"dataset.root={root}"], TestPaths.RepoRoot);
        Assert.True(run.Code == 0, run.Output);
        var plan = new ExperimentGrains(Harness.Experiments.SpecLoader.Load(spec, [$"dataset.root={root}"]));
        var shards = plan.All.OfType<ScoreShardGrain>().ToList();
        Assert.Equal(2, shards.Count);
        Assert.All(shards, s => Assert.True(s.IsDone() && s.IsVerified()));
        var finished = TestProcess.Run("dotnet", [cli, "status", Path.Combine(_experiment.Directory, "results", "verify")], TestPaths.RepoRoot);
        Assert.True(finished.Code == 0, finished.Output);

        // Same size, same write time, other content: the stamp cannot tell, the content hash can.
        var image = Path.Combine(root, "images", ids[1] + ".JPEG"); // not ids[0]: the plan hashes the first image as its (empty) training set
        var time = File.GetLastWriteTimeUtc(image);
        var bytes = File.ReadAllBytes(image);
        bytes[^10] ^= 0x55;
        File.WriteAllBytes(image, bytes);
        File.SetLastWriteTimeUtc(image, time);
        var fresh = new ExperimentGrains(Harness.Experiments.SpecLoader.Load(spec, [$"dataset.root={root}"])).All.OfType<ScoreShardGrain>().ToList();
        Assert.True(fresh[0].IsDone());
        Assert.False(fresh[0].IsVerified());

        var verify = TestProcess.Run("dotnet", [cli, "verify", Path.Combine(_experiment.Directory, "results", "verify")], TestPaths.RepoRoot);
        Assert.True(verify.Code == 1, verify.Output);
        Assert.Contains($"stale: {fresh[0].Key}", verify.Stdout);
        Assert.Contains("1 shard(s) verified, 1 stale", verify.Stdout);
        Assert.False(fresh[0].IsDone());
        Assert.True(fresh[1].IsDone());

        // `mipin status` reads the done files run.json records: it never re-plans (it answers with the dataset moved
        // away) and sees the shard whose marker verify removed as missing.
        var runDirectory = Path.Combine(_experiment.Directory, "results", "verify", "run");
        Directory.Move(root, root + ".away");
        var status = TestProcess.Run("dotnet", [cli, "status", runDirectory], TestPaths.RepoRoot);
        Directory.Move(root + ".away", root);
        Assert.True(status.Code == 1, status.Output);
        Assert.Contains($"lost: score task 0 ({fresh[0].Key})", status.Stdout);
        Assert.Contains("to run what is missing: mipin resume", status.Stdout);

        // A new write time is seen by the quick check itself.
        File.SetLastWriteTimeUtc(Path.Combine(root, "images", ids[3] + ".JPEG"), time.AddMinutes(1));
        var again = new ExperimentGrains(Harness.Experiments.SpecLoader.Load(spec, [$"dataset.root={root}"])).All.OfType<ScoreShardGrain>().ToList();
        Assert.False(again[1].IsDone());
    }
}
