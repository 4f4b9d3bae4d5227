using Harness.Silo.Cluster;
using Orleans.Runtime;

namespace Harness.Tests.Cluster;

/// <summary>How a client's failure to join a cluster is reported: a broken cluster, or an interruption.</summary>
public sealed class ClusterJoinTests
{
    private static readonly ClusterAddress Cluster = new("127.0.0.1", 6390, "s3cret");

    // What Orleans 10 throws when no silo has a gateway yet, and also when the start is cancelled between its attempts.
    private static readonly SiloUnavailableException NoGateway =
        new("Could not find any gateway in 'Orleans.Clustering.Redis.RedisGatewayListProvider'. Orleans client cannot initialize until at least one gateway becomes available.");

    [Fact]
    public void AFailedJoinNamesTheClusterAndWhatToCheck()
    {
        var e = Assert.IsType<ClusterUnavailableException>(StandingCluster.JoinFailure(Cluster, NoGateway, CancellationToken.None));
        Assert.StartsWith("cannot join the cluster at redis://127.0.0.1:6390: Could not find any gateway", e.Message);
        Assert.Contains("has a silo joined?", e.Message);
        Assert.DoesNotContain("s3cret", e.Message);
    }

    [Fact]
    public void AnInterruptedJoinIsACancellationWhateverOrleansThrew()
    {
        // SIGTERM (Slurm stopping a coordinator whose silos all failed) must read as an interruption, not as a broken
        // cluster: the job log's last error is what `mipin status` shows.
        using var interrupted = new CancellationTokenSource();
        interrupted.Cancel();
        var e = Assert.IsType<OperationCanceledException>(StandingCluster.JoinFailure(Cluster, NoGateway, interrupted.Token));
        Assert.Equal(interrupted.Token, e.CancellationToken);
        Assert.Same(NoGateway, e.InnerException);
    }

    [SkippableFact]
    public async Task CancellingAJoinThatWaitsForAGatewayEndsItAsACancellation()
    {
        // A real Redis with no silo: Orleans retries its first gateway lookup (for minutes); the cancellation ends it.
        await using var redis = await LoopbackRedis.StartAsync("right");
        using var interrupt = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => StandingCluster.ConnectAsync(new ClusterAddress("127.0.0.1", redis.Port, "right"), interrupt.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the join took {clock.Elapsed.TotalSeconds:0} s to stop");
    }
}
