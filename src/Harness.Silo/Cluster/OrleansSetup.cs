using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Harness.Silo.Cluster;

/// <summary>
/// What every MipIn silo adds to Orleans, whatever its clustering: its name and device slots, the slot workers, the
/// pinned placement, and a response timeout long enough for a shard that runs for hours (a lost silo is detected by
/// cluster membership, not by a timeout).
/// </summary>
public static class OrleansSetup
{
    /// <summary>The cluster and service id of MipIn clusters (a run's secret keeps other clusters out, not this id).</summary>
    public const string ClusterId = "mipin";

    /// <summary>Grain calls wait this long; a slot call lasts as long as its grain.</summary>
    public static readonly TimeSpan GrainCallTimeout = TimeSpan.FromDays(7);

    /// <param name="devices">The silo's device slots.</param>
    /// <param name="name">The silo's name in the cluster; null keeps the name the host gives it (e.g. a test cluster's).</param>
    /// <param name="modelsPerSlot">How many models each slot keeps loaded between grains.</param>
    public static ISiloBuilder AddMipInSilo(this ISiloBuilder silo, IReadOnlyList<Harness.Torch.Device> devices, string? name, Action<string> log,
        int modelsPerSlot = Harness.Grains.GrainContext.DefaultMaxModels)
    {
        if (name is not null) silo.Configure<SiloOptions>(o => o.SiloName = name);
        silo.Services.AddSingleton(sp => new SiloIdentity(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<SiloOptions>>().Value.SiloName, devices)
        {
            ModelsPerSlot = modelsPerSlot,
        });
        silo.Configure<SiloMessagingOptions>(o =>
        {
            o.ResponseTimeout = GrainCallTimeout;
            o.SystemResponseTimeout = TimeSpan.FromSeconds(30);
        });
        silo.Services.AddSingleton(sp => new SlotWorkers(sp.GetRequiredService<SiloIdentity>(), log));
        silo.Services.AddPlacementDirector<PinnedToSiloPlacement, PinnedToSiloDirector>();
        return silo;
    }

    /// <summary>
    /// A host as every MipIn silo and client runs it: no default log providers (Orleans is chatty; callers add what
    /// they want) and the <see cref="CallerOwnedLifetime"/>, so SIGINT/SIGTERM reach <see cref="Interruption"/>.
    /// </summary>
    public static TBuilder AsMipInHost<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, CallerOwnedLifetime>();
        return builder;
    }

    /// <summary>A free TCP port on the loopback interface (for the embedded silo's two endpoints).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// A host lifetime that leaves SIGINT and SIGTERM to the caller: MipIn stops scheduling new grains on Ctrl+C and lets
/// the ones in flight finish (their outputs are atomic) before the silo shuts down, which the console lifetime's
/// immediate stop would not allow.
/// </summary>
public sealed class CallerOwnedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
