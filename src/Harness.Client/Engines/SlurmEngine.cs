using Harness.Client.Commands;
using Harness.Experiments;
using Harness.Silo;

namespace Harness.Client.Engines;

/// <summary>
/// Runs each stage as one `sbatch --array` (one silo per array task, `--gres=gpu:N` per silo), later stages chained
/// with `--dependency=afterok` on the jobs of the stages they need. Scripts and logs stay in the run folder;
/// submit.log records every sbatch command with its job id.
/// </summary>
public sealed class SlurmEngine(SlurmCli slurm) : IEngine
{
    public string Name => "slurm";

    public int GrainsPerTask(ExperimentSpec spec, ClusterOptions options) =>
        SiloDevices.WantsCuda(spec.Devices) ? Math.Max(1, options.GpusPerSilo) : spec.Devices.Count;

    public void Validate(ExperimentSpec spec, ClusterOptions options)
    {
        if (SiloDevices.WantsCuda(spec.Devices) && options.GpusPerSilo < 1)
            throw new CommandLineException($"{spec.SourceFile}: the experiment runs on [{string.Join(", ", spec.Devices)}] but " +
                                           "--gpus-per-silo 0 starts silos without GPUs; give --gpus-per-silo N (N >= 1) or set devices: [cpu]");
        if (options.Retries < 0) throw new CommandLineException("--retries must be 0 or more");
        if (options.CpusPerSilo < 1) throw new CommandLineException("--cpus-per-silo must be 1 or more");
        if (options.MaxParallel is < 1) throw new CommandLineException("--max-parallel must be 1 or more");
        if (!SiloDevices.WantsCuda(spec.Devices) && options.GpusPerSilo > 0)
            Console.Error.WriteLine($"mipin: note: the experiment runs on [{string.Join(", ", spec.Devices)}]; each silo still holds " +
                                    $"{options.GpusPerSilo} GPU(s) (--gpus-per-silo) without using them");
    }

    public IReadOnlyList<RunJob> Start(RunContext run, IReadOnlyList<StageWork> work, bool dryRun)
    {
        var siloDll = Path.Combine(AppContext.BaseDirectory, "mipin-silo.dll");
        if (!File.Exists(siloDll)) throw new CommandLineException($"{siloDll} not found: build the solution (./mipin builds it) before submitting");
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var manifest = run.Manifest;
        var grainsPerTask = GrainsPerTask(run.Spec!, manifest.Options);
        Directory.CreateDirectory(Path.Combine(run.Directory, "logs"));
        var jobs = new List<RunJob>();
        var jobOfStage = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (stage, tasks) in work.Select(w => (w.Stage, w.Tasks)))
        {
            if (tasks.Count == 0) continue;
            var number = manifest.Stages.ToList().FindIndex(s => s.Name == stage.Name) + 1;
            var script = Path.Combine(run.Directory, SlurmBatchScript.FileName(number, stage.Name));
            Harness.Data.AtomicFile.WriteAllText(script, SlurmBatchScript.Render(manifest, run.Directory, stage, dotnet, siloDll, grainsPerTask));
            var args = new List<string>();
            var after = stage.DependsOn.Where(jobOfStage.ContainsKey).Select(d => jobOfStage[d]).ToList();
            if (after.Count > 0) args.Add($"--dependency=afterok:{string.Join(":", after)}");
            var array = SlurmBatchScript.ArraySpec(tasks);
            if (manifest.Options.MaxParallel is { } max) array += $"%{max}";
            args.Add($"--array={array}");
            args.Add(script);
            var line = "sbatch --parsable " + string.Join(" ", args.Select(SlurmBatchScript.Quote));
            var id = dryRun ? $"DRYRUN{number}" : slurm.Submit(args);
            File.AppendAllText(Path.Combine(run.Directory, "submit.log"), $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ} {line}  # job {id}\n");
            Console.Error.WriteLine($"{(dryRun ? "would submit" : "submitted")} {stage.Name}: {tasks.Count} task(s), job {id}  ({line})");
            jobOfStage[stage.Name] = id;
            if (!dryRun) jobs.Add(new RunJob(stage.Name, id, tasks, DateTime.UtcNow));
        }
        return jobs;
    }

    public IReadOnlyDictionary<(string Stage, int Task), TaskState> Query(RunContext run)
    {
        var jobs = run.Manifest.Jobs;
        var infos = slurm.Query(jobs.Select(j => j.JobId).Distinct().ToList())
            .ToDictionary(i => (i.JobId, i.Task));
        var states = new Dictionary<(string, int), TaskState>();
        // Later submissions (resume) supersede earlier ones for the same task.
        foreach (var job in jobs)
            foreach (var task in job.Tasks)
            {
                var failure = SlurmBatchScript.FailurePath(run.Directory, job.Stage, task);
                var log = SlurmBatchScript.LogPath(run.Directory, job.Stage, task);
                var given = File.Exists(failure) ? File.ReadAllText(failure).Trim() : null;
                if (!infos.TryGetValue((job.JobId, task), out var info))
                {
                    // Slurm has forgotten the task (finished long ago, or accounting is off): only the failure file tells.
                    states[(job.Stage, task)] = given is null
                        ? new TaskState(TaskPhase.Lost, job.JobId, $"no output and Slurm no longer lists {job.JobId}_{task}; log: {log}")
                        : new TaskState(TaskPhase.Failed, job.JobId, $"{given}{LastError(log)}");
                    continue;
                }
                states[(job.Stage, task)] = info.State switch
                {
                    "PENDING" when info.Reason.Contains("DependencyNeverSatisfied", StringComparison.Ordinal) =>
                        new TaskState(TaskPhase.Blocked, job.JobId, "an earlier stage did not finish (DependencyNeverSatisfied)"),
                    "PENDING" or "REQUEUED" or "REQUEUE_HOLD" or "REQUEUE_FED" or "SUSPENDED" =>
                        new TaskState(TaskPhase.Pending, job.JobId, info.Reason),
                    "RUNNING" or "CONFIGURING" or "COMPLETING" or "STAGE_OUT" or "RESIZING" or "SIGNALING" =>
                        new TaskState(TaskPhase.Running, job.JobId, $"log: {log}"),
                    "COMPLETED" => new TaskState(TaskPhase.Done, job.JobId, $"log: {log}"),
                    "CANCELLED" => new TaskState(TaskPhase.Cancelled, job.JobId, $"cancelled; log: {log}"),
                    _ => new TaskState(TaskPhase.Failed, job.JobId, $"{given ?? info.State.ToLowerInvariant()}{LastError(log)}" +
                                                                    (given is null ? $"; log: {log}" : "")),
                };
            }
        return states;
    }

    public IReadOnlyList<string> Cancel(RunContext run, IReadOnlyCollection<string>? jobIds)
    {
        var ids = (jobIds ?? run.Manifest.Jobs.Select(j => j.JobId).ToList()).Distinct().ToList();
        slurm.Cancel(ids);
        return ids;
    }

    // The silo's last error line, so `mipin status` says why without opening the log.
    private static string LastError(string log)
    {
        if (!File.Exists(log)) return "";
        var line = File.ReadLines(log).LastOrDefault(l => l.StartsWith("mipin-silo: error:", StringComparison.Ordinal));
        return line is null ? "" : $" ({line["mipin-silo: error:".Length..].Trim()})";
    }
}
