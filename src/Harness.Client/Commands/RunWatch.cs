using System.Globalization;
using Harness.Client.Engines;
using Harness.Grains;
using Harness.Grains.Cluster;
using Harness.Silo.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin status RUN --watch`: refreshes a live view until the run is finished (exit code 0), has stopped without
/// finishing (exit code 1, with the status), or Ctrl+C: grains and images done, images/s since the run's first grain
/// started, ETA; for a run on a standing cluster also every silo's device slots and the grain each runs (asked from the
/// slots themselves, <see cref="IDeviceSlotGrain.Activity"/>).
/// </summary>
public static class RunWatch
{
    /// <summary>How long the view waits for a silo's answer: a killed silo stays listed until the cluster declares it dead.</summary>
    private static readonly TimeSpan SiloPatience = TimeSpan.FromSeconds(3);

    public static int Watch(string directory, TimeSpan interval)
    {
        var run = RunController.Load(directory, withPlan: true);
        var plan = run.Plan!;
        IHost? host = null;
        var done = plan.All.Where(ExperimentGrains.IsFinished).ToList();
        var settledPolls = 0;
        // The cluster a run's coordinator uses: a standing cluster's is in the manifest, a Slurm job's in its coordinator lease.
        var lease = RunCoordinator.Live(directory);
        var (url, secret) = lease is null ? (run.Manifest.Options.Cluster, run.Manifest.Options.SecretFile) : (lease.Cluster, lease.SecretFile);
        if (done.Count < plan.All.Count && run.Manifest.Engine != "local" && url is not null)
        {
            try
            {
                host = StandingCluster.ConnectAsync(ClusterAddress.Parse(url, secret), CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (ClusterUnavailableException e)
            {
                Console.Error.WriteLine($"mipin: no live view of the silos ({e.Message}); showing progress from the run's files");
            }
        }
        try
        {
            while (true)
            {
                Console.WriteLine(Line(plan, done, run.Manifest.CreatedUtc));
                if (host is not null)
                {
                    var slots = StandingCluster.ActivityAsync(host.Services.GetRequiredService<IClusterClient>(), SiloPatience).GetAwaiter().GetResult();
                    if (slots is null)
                    {
                        slots = Array.Empty<SlotActivity>();
                        Console.WriteLine($"(the cluster did not list its silos within {SiloPatience.TotalSeconds:0} s, or lost the silo it asked; progress above is from the run's files)");
                    }
                    TextTable.Print(["silo", "slot", "grain", "for", "finished"], slots.Select(s => (IReadOnlyList<string>)
                    [
                        s.Silo, s.Device, s.Grain.Length == 0 ? "idle" : s.Grain,
                        s.Grain.Length == 0 ? "" : $"{(DateTime.UtcNow - s.Since).TotalSeconds:F0} s",
                        $"{s.Finished} grain(s), {s.Images} images",
                    ]).ToList());
                }
                if (done.Count == plan.All.Count) return 0;
                if (WillNotFinish(run.Manifest.Engine, directory, ref settledPolls) is { } status)
                {
                    Console.WriteLine("the run stopped before it finished (its coordinator or job is gone); `mipin resume` continues it:");
                    StatusCommand.Print(status);
                    return 1;
                }
                Thread.Sleep(interval);
                done = plan.All.Where(ExperimentGrains.IsFinished).ToList();
            }
        }
        finally
        {
            host?.StopAsync().GetAwaiter().GetResult();
            host?.Dispose();
        }
    }

    /// <summary>
    /// The run's status when it has stopped without finishing (a failed, lost or cancelled task and nothing queued or
    /// running: its coordinator was killed, its Slurm job failed or was cancelled), seen on two polls in a row, so that a
    /// view opened while the run is being submitted (its coordinator not yet holding the lease) does not end at once;
    /// else null. A local run is never judged: it runs in another process that leaves no trace to ask, so its view runs
    /// until it finishes or Ctrl+C.
    /// </summary>
    private static RunStatus? WillNotFinish(string engine, string directory, ref int settledPolls)
    {
        if (engine == "local") return null;
        var status = RunController.Status(directory);
        settledPolls = status.IsSettled && !status.IsFinished ? settledPolls + 1 : 0;
        return settledPolls >= 2 ? status : null;
    }

    /// <summary>"[time] grains 5/6, images 75/100, 6.2 images/s, ETA 00:00:04".</summary>
    /// <param name="since">The run's start: grains that ran before it (an earlier run of the experiment) do not count in the rate.</param>
    public static string Line(ExperimentGrains plan, IReadOnlyList<IWorkGrain> done, DateTime since)
    {
        long total = plan.All.Sum(g => (long)g.Images), finished = done.Sum(g => (long)g.Images);
        var stats = GrainStats.ReadAll(plan.StatsDirectory).Where(s => s.StartedUtc >= since && done.Any(g => g.Key == s.Grain)).ToList();
        var line = $"[{DateTime.Now:HH:mm:ss}] grains {done.Count}/{plan.All.Count}, images {finished}/{total}";
        if (stats.Count > 0)
        {
            var first = stats.Min(s => s.StartedUtc);
            var last = stats.Max(s => s.StartedUtc.AddSeconds(s.Seconds));
            var rate = stats.Sum(s => (double)s.Images) / Math.Max(1e-3, (last - first).TotalSeconds);
            line += string.Create(CultureInfo.InvariantCulture, $", {rate:F2} images/s");
            if (rate > 0 && finished < total) line += $", ETA {TimeSpan.FromSeconds((total - finished) / rate):hh\\:mm\\:ss}";
        }
        return line;
    }
}
