using System.Net;
using System.Net.Sockets;
using Harness.Grains;
using Harness.Grains.Cluster;
using Orleans.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using StackExchange.Redis;

namespace Harness.Silo.Cluster;

/// <summary>
/// A standing cluster: silo processes on worker machines that join through a Redis membership table
/// (Microsoft.Orleans.Clustering.Redis), and clients that send runs to them. Several runs may share one cluster:
/// each run's scheduler takes free slots as they come.
/// </summary>
public static class StandingCluster
{
    /// <summary>Runs a silo until SIGINT/SIGTERM: it offers <paramref name="identity"/>'s slots to the cluster.</summary>
    /// <param name="advertise">The address other silos and clients reach this one at.</param>
    /// <param name="siloPort">Silo-to-silo port (0: a free one).</param>
    /// <param name="gatewayPort">Client port (0: a free one).</param>
    /// <param name="dashboardPort">Serve the Orleans dashboard on 127.0.0.1:PORT (null: none). A build without it
    /// (<see cref="SiloDashboard.Included"/> false) throws NotSupportedException.</param>
    public static async Task RunSiloAsync(ClusterAddress cluster, SiloIdentity identity, IPAddress advertise, int siloPort, int gatewayPort,
        Action<string> log, CancellationToken stop, int? dashboardPort = null)
    {
        await RedisCredentialsCheck.EnsureAcceptedAsync(cluster, stop).ConfigureAwait(false);
        siloPort = siloPort == 0 ? OrleansSetup.FreePort() : siloPort;
        gatewayPort = gatewayPort == 0 ? OrleansSetup.FreePort() : gatewayPort;
        // A web host only when the dashboard is asked for: it is served by ASP.NET Core in the silo process.
        var builder = SiloDashboard.CreateBuilder(dashboardPort).AsMipInHost();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning)
            // Membership events (a silo joining, suspected, declared dead) tell an operator why work moved; they are rare.
            .AddFilter("Orleans.Runtime.MembershipService", LogLevel.Information);
        builder.UseOrleans(silo =>
        {
            silo.JoinCluster(cluster)
                .ConfigureEndpoints(advertise, siloPort, gatewayPort, listenOnAnyHostAddress: true)
                .AddMipInSilo(identity.Devices, identity.Name, log, identity.ModelsPerSlot);
            if (dashboardPort is not null) SiloDashboard.AddTo(silo);
        });
        using var host = SiloDashboard.Build(builder, dashboardPort);
        await host.StartAsync(stop).ConfigureAwait(false);
        log($"silo {identity.Name} joined {cluster} at {advertise}:{siloPort} (gateway {gatewayPort}) with slots {string.Join(", ", identity.Devices)}" +
            (dashboardPort is { } d ? $"; dashboard on http://127.0.0.1:{d}/" : ""));
        try
        {
            await Task.Delay(Timeout.Infinite, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        log($"silo {identity.Name} leaving the cluster (grains in flight are abandoned; their runs re-run them elsewhere)");
        await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends a run to the cluster: this process is its coordinator until every grain is done, or until SIGINT/SIGTERM or
    /// <paramref name="cancel"/> (then it starts no new grain, waits for those in flight, and throws OperationCanceledException).
    /// </summary>
    /// <param name="waitForSilos">Silos to wait for before the first grain (<see cref="ClusterScheduler.WaitForSilos"/>).</param>
    public static async Task<ClusterScheduler.Outcome> RunAsync(ClusterAddress cluster, string specPath, IReadOnlyList<string> overrides,
        IReadOnlyList<IWorkGrain> grains, string engine, Action<string> log, IProgress<SiloProgress>? progress, CancellationToken cancel = default,
        int waitForSilos = 0)
    {
        using var interrupt = new Interruption();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(interrupt.Token, cancel);
        using var host = await ConnectAsync(cluster, stop.Token).ConfigureAwait(false);
        try
        {
            var client = host.Services.GetRequiredService<IClusterClient>();
            return await new ClusterScheduler(client, log) { WaitForSilos = waitForSilos }
                .RunAsync(specPath, overrides, grains, engine, progress, stop.Token).ConfigureAwait(false);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A started Orleans client host connected to <paramref name="cluster"/> (the caller stops and disposes it).
    /// </summary>
    /// <exception cref="ClusterUnavailableException">Redis is down, the secret is wrong, or no silo answers.</exception>
    public static async Task<IHost> ConnectAsync(ClusterAddress cluster, CancellationToken cancellation)
    {
        await RedisCredentialsCheck.EnsureAcceptedAsync(cluster, cancellation).ConfigureAwait(false);
        var builder = Host.CreateApplicationBuilder().AsMipInHost();
        builder.UseOrleansClient(client => client
            .JoinCluster(cluster)
            .Configure<ClientMessagingOptions>(o => o.ResponseTimeout = OrleansSetup.GrainCallTimeout));
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellation).ConfigureAwait(false);
            return host;
        }
        catch (Exception e)
        {
            host.Dispose();
            if (e is OperationCanceledException) throw;
            throw JoinFailure(cluster, e, cancellation);
        }
    }

    /// <summary>
    /// What a client start that failed with <paramref name="e"/> (not itself a cancellation) means. Interrupted (SIGTERM,
    /// Ctrl+C): an <see cref="OperationCanceledException"/>, whatever Orleans threw, because Orleans ends its wait for a
    /// first gateway by rethrowing its last attempt's "could not find any gateway", which would read as a broken cluster
    /// (and in a Slurm job would hide the silos' own errors). Otherwise a <see cref="ClusterUnavailableException"/> saying
    /// what to check.
    /// </summary>
    public static Exception JoinFailure(ClusterAddress cluster, Exception e, CancellationToken cancellation) =>
        cancellation.IsCancellationRequested ? new OperationCanceledException($"interrupted while joining the cluster at {cluster}", e, cancellation)
        : new ClusterUnavailableException($"cannot join the cluster at {cluster}: {ClusterUnavailableException.RootCause(e).Message} " +
            "(is the Redis server up, is the secret file the cluster's, and has a silo joined? start one with `mipin silo --cluster URL`)", e);

    /// <summary>
    /// What every slot of the cluster is doing; silos that do not answer within <paramref name="patience"/> are left
    /// out. Null when the cluster's list of silos does not come: no answer in time, or the silo asked was just lost
    /// (the management grain's call is routed through a silo the cluster has not yet declared dead).
    /// </summary>
    public static async Task<IReadOnlyList<SlotActivity>?> ActivityAsync(IClusterClient client, TimeSpan patience)
    {
        // Every question has a deadline: a silo that was killed is listed as active until the cluster declares it dead,
        // and a call to it would wait for the client's grain-call timeout (OrleansSetup.GrainCallTimeout, days), freezing a live view.
        MembershipEntry[] hosts;
        try
        {
            hosts = await client.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true).WaitAsync(patience).ConfigureAwait(false);
        }
        catch (Exception e) when (ClusterScheduler.IsSiloLoss(e))
        {
            return null;
        }
        var perSilo = hosts.Where(h => h.Status == SiloStatus.Active).OrderBy(h => h.SiloName, StringComparer.Ordinal).Select(async host =>
        {
            try
            {
                var slots = await client.GetGrain<ISiloSlotsGrain>(host.SiloName).Slots().WaitAsync(patience).ConfigureAwait(false);
                return await Task.WhenAll(slots.Select(slot => client.GetGrain<IDeviceSlotGrain>(slot.Key).Activity().WaitAsync(patience))).ConfigureAwait(false);
            }
            catch (Exception e) when (ClusterScheduler.IsSiloLoss(e))
            {
                return Array.Empty<SlotActivity>(); // lost or not answering in time: left out of this view
            }
        });
        return (await Task.WhenAll(perSilo).ConfigureAwait(false)).SelectMany(a => a).ToList();
    }

    /// <summary>The address to advertise for a cluster: loopback when its Redis is local, else this host's first IPv4 address.</summary>
    public static IPAddress DefaultAdvertise(ClusterAddress cluster)
    {
        if (cluster.Host is "localhost" || IPAddress.TryParse(cluster.Host, out var ip) && IPAddress.IsLoopback(ip)) return IPAddress.Loopback;
        return Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
               ?? IPAddress.Loopback;
    }
}

/// <summary>
/// How silos and clients join a standing cluster: the Redis membership table (its password is the cluster's secret),
/// MipIn's cluster id, and mutual TLS keyed by the secret (<see cref="ClusterTls"/>; none without a secret).
/// </summary>
internal static class StandingClusterMembership
{
    public static ISiloBuilder JoinCluster(this ISiloBuilder silo, ClusterAddress cluster)
    {
        silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(cluster.RedisConfiguration))
            .Configure<ClusterOptions>(Identify);
        if (cluster.Password is not { } secret) return silo;
        var tls = new ClusterTls(secret);
        return silo.UseTls(tls.Certificate, o => RequirePeer(o, tls));
    }

    public static IClientBuilder JoinCluster(this IClientBuilder client, ClusterAddress cluster)
    {
        client.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(cluster.RedisConfiguration))
            .Configure<ClusterOptions>(Identify);
        if (cluster.Password is not { } secret) return client;
        var tls = new ClusterTls(secret);
        return client.UseTls(tls.Certificate, o => RequirePeer(o, tls));
    }

    private static void Identify(ClusterOptions o)
    {
        o.ClusterId = OrleansSetup.ClusterId;
        o.ServiceId = OrleansSetup.ClusterId;
    }

    private static void RequirePeer(Orleans.Connections.Security.TlsOptions o, ClusterTls tls)
    {
        o.RemoteCertificateMode = Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate;
        o.ClientCertificateMode = Orleans.Connections.Security.RemoteCertificateMode.RequireCertificate;
        o.RemoteCertificateValidation = (certificate, _, _) => tls.IsClusterPeer(certificate);
    }
}
