using Harness.Grains;
using Harness.Torch;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;

namespace Harness.Silo.Cluster;

/// <summary>
/// The embedded default: one in-process Orleans silo with localhost clustering (no external service) whose device
/// slots are this run's devices, and its co-hosted client driving a <see cref="ClusterScheduler"/>. The same grains,
/// placement and scheduler as a standing cluster; only the membership differs. Ctrl+C (or SIGTERM) stops scheduling,
/// lets the grains in flight finish, and keeps every finished output.
/// </summary>
public static class EmbeddedCluster
{
    /// <summary>Runs <paramref name="grains"/> (the plan of <paramref name="specPath"/> with <paramref name="overrides"/>) to completion.</summary>
    public static async Task<ClusterScheduler.Outcome> RunAsync(string specPath, IReadOnlyList<string> overrides, IReadOnlyList<IWorkGrain> grains,
        string statsDirectory, IReadOnlyList<Device> devices, string engine, Action<string> log, IProgress<SiloProgress>? progress,
        IReadOnlyCollection<string>? finishedElsewhere = null)
    {
        using var interrupt = new Interruption();

        var builder = Host.CreateApplicationBuilder().AsMipInHost();
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(OrleansSetup.FreePort(), OrleansSetup.FreePort(), serviceId: OrleansSetup.ClusterId, clusterId: OrleansSetup.ClusterId)
            // One run per process: each slot keeps every model the run loads (the report reloads none).
            .AddMipInSilo(devices, "embedded", log, modelsPerSlot: int.MaxValue));
        using var host = builder.Build();
        await host.StartAsync().ConfigureAwait(false);
        try
        {
            host.Services.GetRequiredService<SlotWorkers>().Seed(specPath, overrides, grains, statsDirectory);
            var client = host.Services.GetRequiredService<IClusterClient>();
            return await new ClusterScheduler(client, log)
                .RunAsync(specPath, overrides, grains, engine, progress, interrupt.Token, finishedElsewhere).ConfigureAwait(false);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }
}
