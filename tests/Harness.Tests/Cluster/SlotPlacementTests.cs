using System.Diagnostics;
using Harness.Grains.Cluster;
using Harness.Silo.Cluster;
using Harness.Torch;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace Harness.Tests.Cluster;

/// <summary>
/// The grain logic on an in-memory Orleans test cluster (Microsoft.Orleans.TestingHost) of two silos with two CPU
/// slots each: every silo lists its own slots, a slot activates on the silo that owns it (pinned placement), a slot
/// of a silo that is not in the cluster is refused, the coordinator waits for the silos it expects (at most its
/// patience), and the round trip of an empty slot call is measured.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class SlotPlacementTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    private sealed class TwoCpuSlots : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo.AddMipInSilo([Device.CPU, Device.CPU], name: null, _ => { });
    }

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(2);
        builder.AddSiloBuilderConfigurator<TwoCpuSlots>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.StopAllSilosAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task SlotsArePinnedToTheSiloThatOwnsThem()
    {
        var hosts = await _cluster.Client.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true);
        var names = hosts.Select(h => h.SiloName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, names.Count);
        foreach (var name in names)
        {
            var slots = await _cluster.Client.GetGrain<ISiloSlotsGrain>(name).Slots();
            Assert.Equal([$"{name}|cpu|0", $"{name}|cpu|1"], slots.Select(s => s.Key));
            Assert.All(slots, s => Assert.Equal((name, "cpu"), (s.Silo, s.Device)));
            foreach (var slot in slots)
                Assert.Equal(name, await _cluster.Client.GetGrain<IDeviceSlotGrain>(slot.Key).Silo());
        }
    }

    [Fact]
    public async Task TheCoordinatorWaitsForTheSilosItExpectsAndGivesUpAfterItsPatience()
    {
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        // Both silos are active: no wait.
        Assert.Equal(2, await new ClusterScheduler(_cluster.Client, log.Enqueue) { WaitForSilos = 2 }.WaitForSilosAsync(CancellationToken.None));
        Assert.Empty(log);

        // A third silo is expected: the wait ends when it joins.
        var waiting = new ClusterScheduler(_cluster.Client, log.Enqueue) { WaitForSilos = 3 }.WaitForSilosAsync(CancellationToken.None);
        await Task.Delay(1500);
        Assert.False(waiting.IsCompleted);
        Assert.Contains(log, l => l.Contains("waiting for the cluster's silos to join: 2 of 3 active", StringComparison.Ordinal));
        var third = await _cluster.StartAdditionalSiloAsync();
        Assert.Equal(3, await waiting.WaitAsync(TimeSpan.FromMinutes(1)));

        // A fourth never comes: after the patience the run starts with the three.
        var clock = Stopwatch.StartNew();
        var patience = TimeSpan.FromSeconds(3);
        Assert.Equal(3, await new ClusterScheduler(_cluster.Client, log.Enqueue) { WaitForSilos = 4, JoinPatience = patience }.WaitForSilosAsync(CancellationToken.None));
        Assert.InRange(clock.Elapsed, patience, patience + TimeSpan.FromSeconds(10));
        Assert.Contains(log, l => l.Contains("only 3 of 4 silos joined within 3 s; starting with them", StringComparison.Ordinal));
        await _cluster.StopSiloAsync(third);
    }

    [Fact]
    public async Task ASlotOfAnAbsentSiloIsRefused()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => _cluster.Client.GetGrain<IDeviceSlotGrain>("gone|cpu|0").Silo());
        Assert.Contains("silo 'gone' is not an active member of the cluster", e.ToString());
        Assert.True(ClusterScheduler.IsSiloLoss(e), $"{e.GetType().Name} should count as a lost silo");
    }

    [Fact]
    public async Task EmptyCallRoundTrip()
    {
        var hosts = await _cluster.Client.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true);
        var slot = _cluster.Client.GetGrain<IDeviceSlotGrain>(SlotInfo.KeyOf(hosts[0].SiloName, "cpu", 0));
        for (var i = 0; i < 200; i++) await slot.Silo(); // activation and JIT
        var times = new double[2000];
        for (var i = 0; i < times.Length; i++)
        {
            var clock = Stopwatch.StartNew();
            await slot.Silo();
            times[i] = clock.Elapsed.TotalMicroseconds;
        }
        Array.Sort(times);
        output.WriteLine($"empty slot call from the test-cluster client: median {times[times.Length / 2]:F0} µs, p90 {times[times.Length * 9 / 10]:F0} µs");
        Assert.True(times[times.Length / 2] < 50_000, "an empty call should take well under 50 ms");
    }
}
