using Harness.Client.Commands;
using Harness.Experiments;
using Harness.Silo;
using Harness.Silo.Cluster;

namespace Harness.Client.Engines;

/// <summary>
/// Runs the whole plan as one Slurm job that is an Orleans cluster for the run (<see cref="SlurmJobScript"/>): Redis
/// membership on the first node (or a standing cluster's, with --cluster), one silo per task through srun, and the
/// run's coordinator, which starts each grain as soon as its own dependencies are done. The script, the run's secret
/// and the logs stay in the run folder; submit.log records every sbatch command with its job id.
/// </summary>
public sealed class SlurmEngine(SlurmCli slurm) : IEngine
{
    public string Name => "slurm";

    public void Validate(ExperimentSpec spec, ClusterOptions options)
    {
        if (SiloDevices.WantsCuda(spec.Devices) && options.GpusPerSilo < 1)
            throw new CommandLineException($"{spec.SourceFile}: the experiment runs on [{string.Join(", ", spec.Devices)}] but " +
                                           "--gpus-per-silo 0 starts silos without GPUs; give --gpus-per-silo N (N >= 1) or set devices: [cpu]");
        if (options.Retries < 0) throw new CommandLineException("--retries must be 0 or more");
        if (options.CpusPerSilo < 1) throw new CommandLineException("--cpus-per-silo must be 1 or more");
        if (options.Nodes < 1) throw new CommandLineException("--nodes must be 1 or more");
        if (options.SilosPerNode < 1) throw new CommandLineException("--silos-per-node must be 1 or more");
        if (options.Cluster is not null) ClusterAddress.Parse(options.Cluster, options.SecretFile); // a bad URL or secret file fails before anything is written
        else if (options.SecretFile is not null) throw new CommandLineException("--secret-file goes with --cluster (a job that starts its own cluster makes a secret per run)");
        if (!SiloDevices.WantsCuda(spec.Devices) && options.GpusPerSilo > 0)
            Console.Error.WriteLine($"mipin: note: the experiment runs on [{string.Join(", ", spec.Devices)}]; each silo still holds " +
                                    $"{options.GpusPerSilo} GPU(s) (--gpus-per-silo) without using them");
    }

    public IReadOnlyList<RunJob> Start(RunContext run, IReadOnlyList<StageWork> work, bool dryRun)
    {
        if (work.All(w => w.Tasks.Count == 0))
        {
            Console.Error.WriteLine("every grain is done: nothing to submit");
            return Array.Empty<RunJob>();
        }
        var mipinDll = Path.Combine(AppContext.BaseDirectory, "mipin.dll");
        if (!File.Exists(mipinDll)) throw new CommandLineException($"{mipinDll} not found: build the solution (./mipin builds it) before submitting");
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var manifest = run.Manifest;
        Directory.CreateDirectory(Path.Combine(run.Directory, "logs"));
        if (manifest.Options.Cluster is null) WriteClusterSecret(run.Directory);
        var script = Path.Combine(run.Directory, SlurmJobScript.FileName);
        Harness.Data.AtomicFile.WriteAllText(script, SlurmJobScript.Render(manifest, run.Directory, dotnet, mipinDll, run.Spec!.Devices,
            run.Spec.Models.Count));
        var line = $"sbatch --parsable {SlurmJobScript.Quote(script)}";
        var id = dryRun ? "DRYRUN" : slurm.Submit(new[] { script });
        File.AppendAllText(Path.Combine(run.Directory, "submit.log"), $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ} {line}  # job {id}\n");
        var grains = work.Sum(w => w.Tasks.Count);
        Console.Error.WriteLine($"{(dryRun ? "would submit" : "submitted")} job {id}: {grains} grain(s) on {manifest.Options.Nodes} node(s) × " +
                                $"{manifest.Options.SilosPerNode} silo(s)  ({line})");
        return dryRun ? Array.Empty<RunJob>() : new[] { new RunJob("run", id, Array.Empty<int>(), DateTime.UtcNow) };
    }

    // The run's own cluster: a fresh secret (Redis password, TLS identity) and the redis-server configuration holding it,
    // both readable by the owner only. A resubmission keeps the secret.
    private static void WriteClusterSecret(string runDirectory)
    {
        var secretPath = SlurmJobScript.SecretPath(runDirectory);
        var secret = File.Exists(secretPath) ? ClusterAddress.ReadSecret(secretPath) : ClusterAddress.CreateSecret(secretPath);
        ClusterAddress.WriteOwnerOnly(SlurmJobScript.RedisConfigPath(runDirectory),
            $"# The run's membership store (written by mipin submit; holds the run's secret).\nbind 0.0.0.0\nprotected-mode no\n" +
            $"requirepass {secret}\nsave \"\"\nappendonly no\ndaemonize no\n");
    }

    /// <summary>The job's state for every task that is not done (the controller reads done tasks from their outputs).</summary>
    public IReadOnlyDictionary<(string Stage, int Task), TaskState> Query(RunContext run)
    {
        if (run.Manifest.Jobs.Count == 0) return new Dictionary<(string, int), TaskState>();
        var job = run.Manifest.Jobs[^1]; // a resume supersedes the earlier jobs
        var info = slurm.Query(new[] { job.JobId }).FirstOrDefault(i => i.JobId == job.JobId);
        var log = SlurmJobScript.LogPath(run.Directory);
        var state = info?.State switch
        {
            null => new TaskState(TaskPhase.Lost, job.JobId, $"no output and Slurm no longer lists job {job.JobId}{LastError(log)}; log: {log}"),
            "PENDING" or "REQUEUED" or "REQUEUE_HOLD" or "REQUEUE_FED" or "SUSPENDED" => new TaskState(TaskPhase.Pending, job.JobId, info.Reason),
            "RUNNING" or "CONFIGURING" or "COMPLETING" or "STAGE_OUT" or "RESIZING" or "SIGNALING" => new TaskState(TaskPhase.Running, job.JobId, $"log: {log}"),
            "COMPLETED" => new TaskState(TaskPhase.Lost, job.JobId, $"the job completed without this grain's output; log: {log}"),
            "CANCELLED" => new TaskState(TaskPhase.Cancelled, job.JobId, $"cancelled; log: {log}"),
            _ => new TaskState(TaskPhase.Failed, job.JobId, $"job {info.State.ToLowerInvariant()}{LastError(log)}; log: {log}"),
        };
        return RunController.EveryTask(run.Manifest, state);
    }

    public IReadOnlyList<string> Cancel(RunContext run, IReadOnlyCollection<string>? jobIds)
    {
        var ids = (jobIds ?? run.Manifest.Jobs.Select(j => j.JobId).ToList()).Distinct().ToList();
        slurm.Cancel(ids);
        return ids;
    }

    // The coordinator's last error line, so `mipin status` says why without opening the log.
    private static string LastError(string log)
    {
        if (!File.Exists(log)) return "";
        var line = File.ReadLines(log).LastOrDefault(l => l.StartsWith("mipin: error: ", StringComparison.Ordinal));
        return line is null ? "" : $" ({line["mipin: error: ".Length..].Trim()})";
    }
}
