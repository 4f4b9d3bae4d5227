using System.Diagnostics;
using Harness.Client.Engines;
using Harness.Data;
using Harness.Experiments;
using Harness.Grains;
using Harness.Tests.Experiments;
using Harness.Torch;

namespace Harness.Tests.Cluster;

/// <summary>
/// `mipin submit --engine slurm` on the real single-node cluster that scripts/test.sh starts (two fake GPUs): the run is
/// one job that starts Redis, two silos through srun (distinct ports, one fake GPU each) and the coordinator. Its
/// leaderboard equals the embedded run's byte for byte, also after a silo is SIGKILLed, the job is requeued, and the
/// job is cancelled and resumed; finished grains are never computed again.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class SlurmClusterTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(10);
    private static readonly Dictionary<string, string?> OneThread = new() { [IntraOpThreads.EnvironmentVariable] = "1" };

    [SlurmFact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void QuickstartAsOneJobOfTwoSilosEqualsTheEmbeddedRun()
    {
        using var experiment = new TempExperiment();
        var local = Path.Combine(experiment.Directory, "local");
        var cluster = Path.Combine(experiment.Directory, "slurm");
        var config = TestPaths.Repo("configs", "quickstart.yaml");

        // Each silo gets one CPU (--cpus-per-silo 1), so one libtorch thread; the embedded run must use the same count
        // for the same digits (parallel reductions add in another order).
        Cli(OneThread, "run", config, "--set", $"results={local}");
        Cli(null, "submit", config, "--set", $"results={cluster}", "--engine", "slurm", "--silos-per-node", "2", "--gpus-per-silo", "1");
        var runDirectory = Path.Combine(cluster, "quickstart", "run");
        using var cleanup = new JobsCancelledOnExit(runDirectory);
        var status = WaitUntilSettled(runDirectory);
        Assert.True(status.IsFinished, Describe(status));
        Assert.Equal(File.ReadAllBytes(Path.Combine(local, "quickstart", "leaderboard.csv")),
                     File.ReadAllBytes(Path.Combine(cluster, "quickstart", "leaderboard.csv")));

        // One job for the whole plan: one sbatch, no stage chaining.
        var manifest = RunManifest.Load(runDirectory);
        var job = Assert.Single(manifest.Jobs);
        Assert.Equal("run", job.Stage);
        var submitLog = File.ReadAllText(Path.Combine(runDirectory, "submit.log"));
        Assert.Single(submitLog.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("--dependency", submitLog + File.ReadAllText(Path.Combine(runDirectory, "run.sbatch")));
        // The run's secret and Redis configuration are the owner's only.
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(runDirectory, "cluster.secret")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(runDirectory, "redis.conf")));

        // Two silos on the one node, on distinct ports, each holding one of the two fake GPUs.
        var joined = Enumerable.Range(0, 2).Select(i => File.ReadAllLines(Path.Combine(runDirectory, "logs", $"silo-{i}.log"))
            .Single(l => l.StartsWith($"silo localhost-{i} joined", StringComparison.Ordinal))).ToList();
        Assert.NotEqual(PortsOf(joined[0]), PortsOf(joined[1]));
        var (header, rows) = CsvTable.Read(Path.Combine(cluster, "quickstart", "throughput.csv"));
        Assert.Equal(GrainStats.CsvHeader, header);
        Assert.Equal(5, rows.Count); // train + 4 shards
        string Col(string[] r, string name) => r[Array.IndexOf(header, name)];
        Assert.All(rows, r =>
        {
            Assert.Equal("slurm", Col(r, "engine"));
            Assert.Equal("cpu", Col(r, "device"));
            Assert.Matches($@"^{job.JobId}_[01]$", Col(r, "slurm_task"));
            Assert.Equal(Col(r, "slurm_task")[^1..], Col(r, "assigned_gpus")); // silo of rank i holds fake GPU i
        });
        // The model stays loaded on each silo: at most one load per silo for the train grain and four shards.
        Assert.All(rows.GroupBy(r => Col(r, "silo")), g => Assert.True(g.Sum(r => int.Parse(Col(r, "model_loads"), System.Globalization.CultureInfo.InvariantCulture)) <= 1));
        Assert.Equal(2, rows.Select(r => Col(r, "silo")).Distinct().Count());
    }

    private const string FaultBody = """
        methods: [gradient, gradcam, center, random]
        method_options:
          gradcam: { layer: features.18 }
        metrics: [bbox_accuracy, pointing_game, energy_pointing_game]
        shard_size: 4
        batch_size: 2
        """;

    [SlurmFact]
    public void KilledSiloRequeuedJobAndCancelledJobResumeToTheSameLeaderboard()
    {
        using var experiment = new TempExperiment();
        var spec = experiment.WriteSpec("fault", FaultBody);
        var limit = "dataset.limit=48";
        Cli(OneThread, "run", spec, "--set", limit, "--set", $"results={Path.Combine(experiment.Directory, "local")}");
        var expected = File.ReadAllBytes(Path.Combine(experiment.Directory, "local", "fault", "leaderboard.csv"));

        var resultsDir = Path.Combine(experiment.Directory, "slurm", "fault");
        var shards = Path.Combine(resultsDir, "shards", "mobilenet_v2_mobilenet_v2_coral");
        Cli(null, "submit", spec, "--set", limit, "--set", $"results={Path.Combine(experiment.Directory, "slurm")}",
            "--engine", "slurm", "--silos-per-node", "2", "--retries", "1");
        var runDirectory = Path.Combine(resultsDir, "run");
        using var cleanup = new JobsCancelledOnExit(runDirectory);
        int Written() => Directory.Exists(shards) ? Directory.GetFiles(shards, "*.csv").Length : 0;

        // Twelve shards on two silos. After the first shard: SIGKILL silo 1 (its grain in flight runs again on silo 0).
        WaitFor(runDirectory, () => Written() >= 1, "the first shard");
        KillSilo(runDirectory, rank: 1);
        // Then requeue the job the way preemption does: Slurm starts it again, the coordinator skips finished shards.
        WaitFor(runDirectory, () => Written() >= 2, "a second shard");
        var firstJob = RunManifest.Load(runDirectory).Jobs.Single().JobId;
        Run("scontrol", "requeue", firstJob);
        WaitFor(runDirectory, () => File.ReadAllText(Path.Combine(runDirectory, "logs", "job.log")).Contains("(requeue 1)", StringComparison.Ordinal), "the requeued job's start");
        // Then cancel it once more shards are written, and resume.
        var before = Written();
        WaitFor(runDirectory, () => Written() > before, "a shard after the requeue");
        Cli(null, "cancel", runDirectory);
        var status = WaitUntilSettled(runDirectory);
        Assert.False(status.IsFinished, "the run finished before the cancel");
        Assert.Contains(status.Tasks, t => t.State.Phase == TaskPhase.Cancelled);
        var finished = Directory.GetFiles(shards, "*.csv").ToDictionary(f => f, File.GetLastWriteTimeUtc);

        Cli(null, "resume", runDirectory);
        status = WaitUntilSettled(runDirectory);
        Assert.True(status.IsFinished, Describe(status));
        Assert.Equal(2, RunManifest.Load(runDirectory).Jobs.Count);
        Assert.Equal(expected, File.ReadAllBytes(Path.Combine(resultsDir, "leaderboard.csv")));
        foreach (var (file, written) in finished) Assert.Equal(written, File.GetLastWriteTimeUtc(file)); // not computed again
        var rows = ImageRow.Read(Path.Combine(resultsDir, "images.csv"), new[] { "bbox_accuracy", "pointing_game", "energy_pointing_game" });
        Assert.Equal(48 * 4, rows.Count);
        Assert.Equal(rows.Count, rows.Select(r => (r.Method, r.ImageId)).Distinct().Count());
        Assert.Empty(Directory.GetFiles(resultsDir, "*.tmp", SearchOption.AllDirectories));
    }

    [SlurmFact]
    public void SilosThatCannotUseTheirGpuFailTheJobClearly()
    {
        // The fake GPUs are only unusable with a CPU-only libtorch.
        Skip.If(torch.cuda.device_count() > 0, "a CUDA device is present: the fake GPUs would be usable");
        using var experiment = new TempExperiment();
        var spec = experiment.WriteSpec("gpu", "methods: [gradient]\nmetrics: [bbox_accuracy]\nshard_size: 4\ndevices: [cuda]\n");
        Cli(null, "submit", spec, "--set", "dataset.limit=4", "--engine", "slurm", "--gpus-per-silo", "1", "--retries", "0");
        var runDirectory = Path.Combine(experiment.Directory, "results", "gpu", "run");
        using var cleanup = new JobsCancelledOnExit(runDirectory);
        var status = WaitUntilSettled(runDirectory, TimeSpan.FromMinutes(3));
        var score = status.Tasks.Single(t => t.Stage == "score");
        Assert.Equal(TaskPhase.Failed, score.State.Phase);
        Assert.Contains("libtorch sees 0 CUDA device(s)", score.State.Detail);
        Assert.Contains(Path.Combine(runDirectory, "logs", "job.log"), score.State.Detail);
    }

    private static (string Silo, string Gateway) PortsOf(string joinedLine)
    {
        var m = System.Text.RegularExpressions.Regex.Match(joinedLine, @":(\d+) \(gateway (\d+)\)");
        Assert.True(m.Success, joinedLine);
        return (m.Groups[1].Value, m.Groups[2].Value);
    }

    private static RunStatus WaitUntilSettled(string runDirectory, TimeSpan? patience = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var status = RunController.Status(runDirectory);
            if (status.IsSettled) return status;
            if (clock.Elapsed > (patience ?? Patience)) throw new TimeoutException($"the run did not settle: {Describe(status)}");
            Thread.Sleep(1000);
        }
    }

    // Waits for a condition of a running job; fails at once, with the job's log, when the job ended first.
    private static void WaitFor(string runDirectory, Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        var polls = 0;
        while (!condition())
        {
            string Log() => JobLogs(runDirectory);
            if (clock.Elapsed > Patience) throw new TimeoutException($"{what} did not happen within {Patience}; job log:\n{Log()}");
            if (++polls % 20 == 0 && RunController.Status(runDirectory) is { IsSettled: true } settled)
                throw new InvalidOperationException($"the job ended before {what}: {Describe(settled)}; job log:\n{Log()}");
            Thread.Sleep(100);
        }
    }

    // The job's log and the end of each silo's log, for a failure message.
    private static string JobLogs(string runDirectory)
    {
        var logs = Path.Combine(runDirectory, "logs");
        var text = new System.Text.StringBuilder(File.ReadAllText(Path.Combine(logs, "job.log")));
        foreach (var silo in Directory.GetFiles(logs, "silo-*.log").Order(StringComparer.Ordinal))
            text.Append($"\n--- {Path.GetFileName(silo)} (last 60 lines) ---\n").AppendJoin('\n', File.ReadAllLines(silo).TakeLast(60));
        return text.ToString();
    }

    private static string Describe(RunStatus status) =>
        string.Join("; ", status.Tasks.Select(t => $"{t.Stage}[{t.Task}]={t.State.Phase} {t.State.Detail}"));

    /// <summary>SIGKILLs the silo of srun rank <paramref name="rank"/> of the run's job (found by its command line and environment).</summary>
    private static void KillSilo(string runDirectory, int rank)
    {
        foreach (var process in Process.GetProcesses())
        {
            string commandLine, environment;
            try
            {
                commandLine = File.ReadAllText($"/proc/{process.Id}/cmdline").Replace('\0', ' ');
                environment = File.ReadAllText($"/proc/{process.Id}/environ");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (commandLine.Contains("mipin.dll silo ", StringComparison.Ordinal) && commandLine.Contains(runDirectory, StringComparison.Ordinal)
                && environment.Contains($"\0SLURM_PROCID={rank}\0", StringComparison.Ordinal))
            {
                process.Kill(); // SIGKILL
                return;
            }
        }
        throw new InvalidOperationException($"no silo process of rank {rank} for {runDirectory}");
    }

    private static void Cli(IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var r = TestProcess.Run("dotnet", new[] { TestPaths.Cli }.Concat(args), TestPaths.RepoRoot, environment);
        Assert.True(r.Code == 0, $"mipin {string.Join(" ", args)} exited {r.Code}:\n{r.Output}");
    }

    /// <summary>
    /// Cancels the run's jobs that are still queued or running when a test ends (a failed assertion or a timeout), so
    /// they do not hold the single test node and leave the next test's job pending.
    /// </summary>
    private sealed class JobsCancelledOnExit(string runDirectory) : IDisposable
    {
        public void Dispose()
        {
            if (!File.Exists(Path.Combine(runDirectory, RunManifest.FileName)) || RunController.Status(runDirectory).IsSettled) return;
            foreach (var job in RunManifest.Load(runDirectory).Jobs) TestProcess.Run("scancel", new[] { job.JobId }, TestPaths.RepoRoot);
        }
    }

    private static void Run(string command, params string[] args)
    {
        var r = TestProcess.Run(command, args, TestPaths.RepoRoot);
        Assert.True(r.Code == 0, $"{command} exited {r.Code}: {r.Output}");
    }
}
