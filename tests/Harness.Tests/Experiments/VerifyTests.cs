using Harness.Grains;

namespace Harness.Tests.Experiments;

/// <summary>
/// Finished shards are trusted by the stamps of their inputs (size and write time: nothing is read), and
/// `mipin verify` re-checks their content: an image changed in place with its old time restored still looks done,
/// verify finds it stale and removes the marker, and a changed write time is noticed without verify.
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
        var cli = Path.Combine(AppContext.BaseDirectory, "mipin.dll");
        var run = TestProcess.Run("dotnet", [cli, "run", spec, "--set", $"dataset.root={root}"], TestPaths.RepoRoot);
        Assert.True(run.Code == 0, run.Output);
        var plan = new ExperimentGrains(Harness.Experiments.SpecLoader.Load(spec, [$"dataset.root={root}"]));
        var shards = plan.All.OfType<ScoreShardGrain>().ToList();
        Assert.Equal(2, shards.Count);
        Assert.All(shards, s => Assert.True(s.IsDone() && s.IsVerified()));

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

        // A new write time is seen by the quick check itself.
        File.SetLastWriteTimeUtc(Path.Combine(root, "images", ids[3] + ".JPEG"), time.AddMinutes(1));
        var again = new ExperimentGrains(Harness.Experiments.SpecLoader.Load(spec, [$"dataset.root={root}"])).All.OfType<ScoreShardGrain>().ToList();
        Assert.False(again[1].IsDone());
    }
}
