using Harness.Client.Commands;
using Harness.Experiments;
using Harness.Silo;
using Harness.Silo.Cluster;

namespace Harness.Client.Engines;

/// <summary>
/// A standing Orleans cluster (silos started with `mipin silo --cluster redis://HOST:PORT`): this client process is
/// the run's coordinator and sends each grain to a free device slot of any silo; it runs in the foreground like the
/// local engine (Ctrl+C or `mipin cancel` stops it, `mipin resume` continues). Silos may join or leave during the run.
/// </summary>
public sealed class ClusterEngine : IEngine
{
    public string Name => "cluster";

    public void Validate(ExperimentSpec spec, ClusterOptions options)
    {
        if (options.Cluster is null) throw new CommandLineException("the cluster engine needs --cluster redis://HOST:PORT");
        ClusterAddress.Parse(options.Cluster, options.SecretFile); // a bad URL or secret file fails here, before anything is written
    }

    public IReadOnlyList<RunJob> Start(RunContext run, IReadOnlyList<StageWork> work, bool dryRun)
    {
        if (!dryRun) Coordinate(run, run.Manifest.Options.Cluster!, run.Manifest.Options.SecretFile);
        return Array.Empty<RunJob>();
    }

    /// <summary>
    /// Runs the unfinished grains of <paramref name="run"/> on the cluster at <paramref name="clusterUrl"/>, this process
    /// holding the run's <see cref="RunCoordinator"/> lease; returns when every grain is done.
    /// </summary>
    /// <exception cref="CommandLineException">Another coordinator is running the run, or `mipin cancel` stopped this one.</exception>
    /// <param name="takeOver">Take the lease even from a coordinator that looks live (a requeued Slurm job: Slurm runs one instance).</param>
    /// <param name="waitForSilos">Active silos to wait for before the first grain (the Slurm job's silo count; 0: none).</param>
    public static void Coordinate(RunContext run, string clusterUrl, string? secretFile, bool takeOver = false, int waitForSilos = 0)
    {
        var cluster = ClusterAddress.Parse(clusterUrl, secretFile);
        if (!takeOver && RunCoordinator.Live(run.Directory) is { } other)
            throw new CommandLineException($"{run.Directory}: the run is already coordinated by process {other.Pid} on {other.Host} " +
                                           $"(since {other.StartedUtc:u}); follow it with `mipin status {run.Directory} --watch` or stop it with `mipin cancel`");
        using var coordinator = RunCoordinator.Take(run.Directory, clusterUrl, secretFile);
        RunController.RemoveInterruptedWrites(run);
        ClusterScheduler.Outcome outcome;
        try
        {
            outcome = StandingCluster.RunAsync(cluster, run.Manifest.Config, run.Manifest.Overrides, run.Plan!.All, run.Manifest.Engine,
                m => Console.Error.WriteLine(m), LocalEngine.ProgressPrinter(), coordinator.CancelRequested, waitForSilos).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (coordinator.CancelRequested.IsCancellationRequested)
        {
            throw new CommandLineException($"cancelled by `mipin cancel`: no new grain was started and those in flight finished; " +
                                           $"finished grains are kept, `mipin resume {run.Directory}` continues");
        }
        Console.Error.WriteLine($"ran {outcome.Executed} grain(s) on {cluster} ({outcome.Retried} re-run after a silo was lost); " +
                                $"model loads per silo: {string.Join(", ", outcome.ModelLoadsPerSilo.Select(p => $"{p.Key} {p.Value}"))}");
    }

    /// <summary>Every unfinished task is running while the run's coordinator holds its lease.</summary>
    public IReadOnlyDictionary<(string Stage, int Task), TaskState> Query(RunContext run) =>
        RunCoordinator.Live(run.Directory) is { } lease
            ? RunController.EveryTask(run.Manifest, new TaskState(TaskPhase.Running, "", $"coordinated by process {lease.Pid} on {lease.Host} ({lease.Cluster})"))
            : new Dictionary<(string, int), TaskState>();

    /// <summary>Asks the run's coordinator to stop: it starts no new grain and exits once those in flight finish.</summary>
    public IReadOnlyList<string> Cancel(RunContext run, IReadOnlyCollection<string>? jobIds)
    {
        if (RunCoordinator.Live(run.Directory) is not { } lease) return Array.Empty<string>();
        RunCoordinator.RequestCancel(run.Directory);
        return new[] { $"coordinator {lease.Pid} on {lease.Host}" };
    }
}
