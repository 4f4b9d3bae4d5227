using Harness.Grains;
using Harness.Torch;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Harness.Silo;

/// <summary>
/// The silo as a hosted service (Microsoft.Extensions.Hosting): runs one grain graph on its devices, then stops the
/// host. The client embeds it for local runs; Ctrl+C stops scheduling new grains and keeps finished outputs.
/// </summary>
public sealed class SiloService(IReadOnlyList<IGrain> grains, IReadOnlyList<Device> devices, Action<string> log,
    IProgress<SiloProgress>? progress, GrainRunner runner, IReadOnlyCollection<string>? finishedElsewhere,
    IHostApplicationLifetime lifetime) : BackgroundService
{
    /// <summary>Set when the run ended with an error (a failed grain), else null.</summary>
    public Exception? Failure { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await new EmbeddedSilo(devices, log, runner).RunAsync(grains, progress, stoppingToken, finishedElsewhere).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Failure = e;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    /// <summary>Runs <paramref name="grains"/> in an in-process host and returns when they are done (or failed / interrupted).</summary>
    /// <param name="finishedElsewhere">Dependencies outside <paramref name="grains"/> known to be done (see <see cref="EmbeddedSilo"/>).</param>
    public static async Task RunEmbeddedAsync(IReadOnlyList<IGrain> grains, IReadOnlyList<Device> devices, Action<string> log,
        IProgress<SiloProgress>? progress, GrainRunner runner, IReadOnlyCollection<string>? finishedElsewhere = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        // On Ctrl+C, let the grains in flight finish (their outputs are atomic) instead of abandoning them after 30 s.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = Timeout.InfiniteTimeSpan);
        SiloService? service = null;
        builder.Services.AddHostedService(sp =>
            service = new SiloService(grains, devices, log, progress, runner, finishedElsewhere, sp.GetRequiredService<IHostApplicationLifetime>()));
        using var host = builder.Build();
        await host.RunAsync().ConfigureAwait(false);
        if (service?.Failure is { } failure) throw failure;
    }
}
