using Harness.Tests.Experiments;

namespace Harness.Tests.Cluster;

/// <summary>`mipin status RUN --watch` on a run that will not finish: it ends with the run's status instead of refreshing forever.</summary>
public sealed class StatusWatchTests
{
    [Fact]
    public void TheLiveViewOfAClusterRunWithoutACoordinatorEndsWithItsStatus()
    {
        // A cluster run whose coordinator never started (its cluster is down): the same as one whose coordinator was
        // killed (the standing-cluster test watches that case on a real cluster).
        using var experiment = new TempExperiment();
        var spec = experiment.WriteSpec("watch", "methods: [gradient]\nmetrics: [bbox_accuracy]\nshard_size: 4\n");
        var submit = TestProcess.Run("dotnet", [TestPaths.Cli, "submit", spec, "--set", "dataset.limit=8", "--engine", "cluster", "--cluster", "redis://127.0.0.1:1"],
            TestPaths.RepoRoot, timeout: TimeSpan.FromMinutes(2));
        Assert.True(submit.Code != 0 && submit.Stderr.Contains("cannot join the cluster", StringComparison.Ordinal), submit.Output);
        var run = Path.Combine(experiment.Directory, "results", "watch", "run");

        var watch = TestProcess.Run("dotnet", [TestPaths.Cli, "status", run, "--watch", "--interval", "0.5"], TestPaths.RepoRoot, timeout: TimeSpan.FromMinutes(1));

        Assert.True(watch.Code == 1, watch.Output);
        Assert.Contains("the run stopped before it finished", watch.Stdout);
        Assert.Contains("lost: score task 1 (score/", watch.Stdout);
        Assert.Contains($"to run what is missing: mipin resume {run}", watch.Stdout);
    }
}
