using System.Globalization;
using Harness.Client.Engines;
using Harness.Grains;
using Harness.Grains.Cluster;
using Harness.Silo.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin status RUN --watch`: refreshes a live view until the run is finished (or Ctrl+C): grains and images done,
/// images/s since the run's first grain started, ETA; for a run on a standing cluster also every silo's device slots
/// and the grain each runs (asked from the slots themselves, <see cref="IDeviceSlotGrain.Activity"/>).
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
