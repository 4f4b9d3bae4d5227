using System.Diagnostics;
using Harness.Client.Engines;
using Harness.Data;
using Harness.Experiments;
using Harness.Grains;
using Harness.Silo;
using Harness.Tests.Experiments;
using Harness.Torch;

namespace Harness.Tests.Cluster;

/// <summary>
/// Experiments through `mipin submit --engine slurm` on the real single-node cluster that scripts/test.sh starts
/// (two fake GPUs): the leaderboard equals the local run's byte for byte, also after a silo is SIGKILLed and a task is
/// scancelled mid-shard and the run is resumed; per-grain stats show where each grain ran.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class SlurmClusterTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(10);

    [SlurmFact]
    public void QuickstartOnSlurmEqualsTheLocalRun()
    {
        using var experiment = new TempExperiment();
        var local = Path.Combine(experiment.Directory, "local");
        var cluster = Path.Combine(experiment.Directory, "slurm");
        var config = TestPaths.Repo("configs", "quickstart.yaml");

        // Each Slurm task gets one CPU (--cpus-per-silo 1), so one libtorch thread; the local run must use the same count
        // for the same digits (parallel reductions add in another order).
        Cli(TestPaths.RepoRoot, new Dictionary<string, string?> { [IntraOpThreads.EnvironmentVariable] = "1" }, "run", config, "--set", $"results={local}");
        Cli(TestPaths.RepoRoot, "submit", config, "--set", $"results={cluster}", "--engine", "slurm", "--gpus-per-silo", "1");
        var runDirectory = Path.Combine(cluster, "quickstart", "run");
        var status = WaitUntilSettled(runDirectory);
        Assert.True(status.IsFinished, Describe(status));

        Assert.Equal(File.ReadAllBytes(Path.Combine(local, "quickstart", "leaderboard.csv")),
                     File.ReadAllBytes(Path.Combine(cluster, "quickstart", "leaderboard.csv")));

        // train (1 task) → score (4 shards) → aggregate, chained by afterok.
        var manifest = RunManifest.Load(runDirectory);
        Assert.Equal(new[] { "train", "score", "aggregate" }, manifest.Jobs.Select(j => j.Stage));
        var submitLog = File.ReadAllText(Path.Combine(runDirectory, "submit.log"));
        Assert.Contains($"--dependency=afterok:{manifest.Jobs[0].JobId}' '--array=0-3'", submitLog);
        Assert.Contains($"--dependency=afterok:{manifest.Jobs[1].JobId}' '--array=0'", submitLog);

        // One stats row per train/score grain, from Slurm array tasks that each held one of the two fake GPUs.
        var (header, rows) = CsvTable.Read(Path.Combine(cluster, "quickstart", "throughput.csv"));
        Assert.Equal(GrainStats.CsvHeader, header);
        Assert.Equal(5, rows.Count);
        string Col(string[] r, string name) => r[Array.IndexOf(header, name)];
        Assert.All(rows, r =>
        {
            Assert.Equal("slurm", Col(r, "engine"));
            Assert.Equal("cpu", Col(r, "device"));
            Assert.Matches(@"^\d+_\d+$", Col(r, "slurm_task"));
            Assert.True(double.Parse(Col(r, "peak_rss_mb"), System.Globalization.CultureInfo.InvariantCulture) > 100);
        });
        Assert.Equal(new[] { "0", "1" }, rows.Select(r => Col(r, "assigned_gpus")).Distinct().Order());
        Assert.All(rows.Where(r => Col(r, "stage") == "score"), r =>
            Assert.True(double.Parse(Col(r, "images_per_s"), System.Globalization.CultureInfo.InvariantCulture) > 0));
    }

    private const string FaultBody = """
        methods: [gradient, gradcam, center, random]
        method_options:
          gradcam: { layer: features.18 }
        metrics: [bbox_accuracy, pointing_game, energy_pointing_game]
        shard_size: 8
        batch_size: 2
        """;

    [SlurmFact]
    public void KilledCancelledAndRequeuedTasksResumeToTheSameLeaderboard()
    {
        using var experiment = new TempExperiment();
        var spec = experiment.WriteSpec("fault", FaultBody);
        var limit = "dataset.limit=24";
        TempExperiment.Run(spec, limit, $"results={Path.Combine(experiment.Directory, "local")}");
        var expected = File.ReadAllBytes(Path.Combine(experiment.Directory, "local", "fault", "leaderboard.csv"));

        var resultsDir = Path.Combine(experiment.Directory, "slurm", "fault");
        var shards = Path.Combine(resultsDir, "shards", "mobilenet_v2_mobilenet_v2_coral");
        Cli(TestPaths.RepoRoot, "submit", spec, "--set", limit, "--set", $"results={Path.Combine(experiment.Directory, "slurm")}",
            "--engine", "slurm", "--gpus-per-silo", "1", "--retries", "1");
        var runDirectory = Path.Combine(resultsDir, "run");
        var scoreJob = RunManifest.Load(runDirectory).Jobs.Single(j => j.Stage == "score").JobId;

        // Three score tasks, two at a time (two fake GPUs). Once each silo has started its shard: SIGKILL the silo of
        // task 0 (its batch script retries in the same allocation), scancel task 1 (nothing retries it), and requeue
        // task 2 the way preemption does (Slurm starts it again; within the retry limit it runs).
        WaitForSiloStart(runDirectory, "score", 0);
        WaitForSiloStart(runDirectory, "score", 1);
        Assert.False(File.Exists(Path.Combine(shards, "0000.csv")), "shard 0 finished before the kill");
        Assert.False(File.Exists(Path.Combine(shards, "0001.csv")), "shard 1 finished before the cancel");
        KillSilo(runDirectory, "score", 0);
        Run("scancel", $"{scoreJob}_1");
        WaitForSiloStart(runDirectory, "score", 2);
        Assert.False(File.Exists(Path.Combine(shards, "0002.csv")), "shard 2 finished before the requeue");
        Run("scontrol", "requeue", $"{scoreJob}_2");

        var status = WaitUntilSettled(runDirectory);
        Assert.False(status.IsFinished);
        var byTask = status.Tasks.ToDictionary(t => (t.Stage, t.Task), t => t.State.Phase);
        Assert.Equal(TaskPhase.Done, byTask[("score", 0)]);
        Assert.Equal(TaskPhase.Cancelled, byTask[("score", 1)]);
        Assert.Equal(TaskPhase.Done, byTask[("score", 2)]);
        Assert.Equal(TaskPhase.Blocked, byTask[("aggregate", 0)]); // afterok can no longer be satisfied
        var log0 = File.ReadAllText(Path.Combine(runDirectory, "logs", "score-0.log"));
        Assert.Contains("attempt 1 failed with exit status 137", log0);
        Assert.Contains("score task 0 attempt 2", log0);
        Assert.Contains("score task 2 attempt 1 (requeue 1)", File.ReadAllText(Path.Combine(runDirectory, "logs", "score-2.log")));

        Cli(TestPaths.RepoRoot, "resume", runDirectory);
        status = WaitUntilSettled(runDirectory);
        Assert.True(status.IsFinished, Describe(status));
        var resubmitted = RunManifest.Load(runDirectory).Jobs.Skip(2).ToList();
        Assert.Equal(new[] { ("score", "1"), ("aggregate", "0") }, resubmitted.Select(j => (j.Stage, string.Join(",", j.Tasks))));

        Assert.Equal(expected, File.ReadAllBytes(Path.Combine(resultsDir, "leaderboard.csv")));
        var rows = ImageRow.Read(Path.Combine(resultsDir, "images.csv"), new[] { "bbox_accuracy", "pointing_game", "energy_pointing_game" });
        Assert.Equal(24 * 4, rows.Count);
        Assert.Equal(rows.Count, rows.Select(r => (r.Method, r.ImageId)).Distinct().Count());
        Assert.Empty(Directory.GetFiles(resultsDir, "*.tmp", SearchOption.AllDirectories));
    }

    [SlurmFact]
    public void GrainNeedingAGpuTheSiloCannotUseFailsClearly()
    {
        // The fake GPUs are only unusable with a CPU-only libtorch.
        Skip.If(Harness.Torch.torch.cuda.device_count() > 0, "a CUDA device is present: the fake GPUs would be usable");
        using var experiment = new TempExperiment();
        var spec = experiment.WriteSpec("gpu", "methods: [gradient]\nmetrics: [bbox_accuracy]\nshard_size: 4\ndevices: [cuda]\n");
        Cli(TestPaths.RepoRoot, "submit", spec, "--set", "dataset.limit=4", "--engine", "slurm", "--gpus-per-silo", "1");
        var runDirectory = Path.Combine(experiment.Directory, "results", "gpu", "run");
        var status = WaitUntilSettled(runDirectory, TimeSpan.FromMinutes(3));
        var score = status.Tasks.Single(t => t.Stage == "score");
        Assert.Equal(TaskPhase.Failed, score.State.Phase);
        Assert.Contains("libtorch sees 0 CUDA device(s)", score.State.Detail);
        Assert.Contains(Path.Combine(runDirectory, "logs", "score-0.log"), score.State.Detail);
        Assert.Contains("after 1 attempt(s)", score.State.Detail); // exit 3: not retried
        Assert.Equal(TaskPhase.Blocked, status.Tasks.Single(t => t.Stage == "aggregate").State.Phase);
        Cli(TestPaths.RepoRoot, "cancel", runDirectory);
        Assert.Equal(TaskPhase.Cancelled, RunController.Status(runDirectory).Tasks.Single(t => t.Stage == "aggregate").State.Phase);
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

    private static string Describe(RunStatus status) =>
        string.Join("; ", status.Tasks.Select(t => $"{t.Stage}[{t.Task}]={t.State.Phase} {t.State.Detail}"));

    private static void WaitForSiloStart(string runDirectory, string stage, int task)
    {
        var log = Path.Combine(runDirectory, "logs", $"{stage}-{task}.log");
        var clock = Stopwatch.StartNew();
        while (!(File.Exists(log) && File.ReadAllText(log).Contains($"{stage} task {task}: ", StringComparison.Ordinal)))
        {
            if (clock.Elapsed > Patience) throw new TimeoutException($"{log}: the silo did not start");
            Thread.Sleep(100);
        }
    }

    /// <summary>SIGKILLs the silo process of one task (found by its command line).</summary>
    private static void KillSilo(string runDirectory, string stage, int task)
    {
        foreach (var process in Process.GetProcesses())
        {
            string commandLine;
            try { commandLine = File.ReadAllText($"/proc/{process.Id}/cmdline").Replace('\0', ' '); }
            catch (IOException) { continue; }
            if (commandLine.Contains("mipin-silo.dll task", StringComparison.Ordinal) &&
                commandLine.Contains($"{runDirectory} {stage} {task} ", StringComparison.Ordinal))
            {
                process.Kill(); // SIGKILL
                return;
            }
        }
        throw new InvalidOperationException($"no silo process for {stage} task {task}");
    }

    private static void Cli(string workingDirectory, params string[] args) => Cli(workingDirectory, null, args);

    private static void Cli(string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var r = TestProcess.Run("dotnet", new[] { Path.Combine(AppContext.BaseDirectory, "mipin.dll") }.Concat(args), workingDirectory, environment);
        Assert.True(r.Code == 0, $"mipin {string.Join(" ", args)} exited {r.Code}:\n{r.Output}");
    }

    private static void Run(string command, params string[] args)
    {
        var r = TestProcess.Run(command, args, TestPaths.RepoRoot);
        Assert.True(r.Code == 0, $"{command} exited {r.Code}: {r.Output}");
    }
}
