using Harness.Client;
using Harness.Client.Engines;
using Harness.Experiments;
using Harness.Silo;
using Harness.Tests.Experiments;

namespace Harness.Tests.Cluster;

/// <summary>
/// The planning half of cluster runs without a cluster: `mipin submit --engine slurm --dry-run` writes the run folder
/// (manifest, config snapshot, one script per stage), and the standalone silo run on it fails fast and clearly when
/// its grain needs a GPU it was not given.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class SiloTaskTests
{
    private const string Body = """
        methods: [mipin, gradient]
        method_options:
          mipin: { layer: features.18 }
        metrics: [bbox_accuracy]
        training:
          images: 4
        shard_size: 3
        batch_size: 3
        """;

    [Fact]
    public void DryRunWritesManifestScriptsAndSnapshot()
    {
        using var experiment = new TempExperiment();
        var spec = experiment.WriteSpec("plan", Body);
        var run = RunController.Submit(spec, new[] { "dataset.limit=12" }, new SlurmEngine(new SlurmCli()),
            new ClusterOptions { GpusPerSilo = 0 }, dryRun: true);

        // 4 training images, 8 scored in shards of 3: one train grain, 3 score grains, one aggregate.
        var m = RunManifest.Load(run.Directory);
        Assert.Equal(new[] { "train", "score", "aggregate" }, m.Stages.Select(s => s.Name));
        Assert.Equal(new[] { "train/mobilenet_v2@mobilenet_v2_coral/mipin[layer=features.18]" }, m.Stages[0].Tasks.Single());
        Assert.Equal(3, m.Stages[1].Tasks.Count);
        Assert.Equal(new[] { "train" }, m.Stages[1].DependsOn);
        Assert.Equal(new[] { "score" }, m.Stages[2].DependsOn);
        Assert.Empty(m.Jobs); // dry run: nothing submitted
        Assert.Equal(File.ReadAllText(spec), File.ReadAllText(m.Config));
        Assert.NotEqual(spec, m.Config);
        foreach (var (stage, i) in m.Stages.Select((s, i) => (s.Name, i)))
            Assert.True(File.Exists(Path.Combine(run.Directory, $"stage-{i + 1}-{stage}.sbatch")));
        var log = File.ReadAllText(Path.Combine(run.Directory, "submit.log"));
        Assert.Contains("'--dependency=afterok:DRYRUN1' '--array=0-2'", log);
        Assert.Contains("'--dependency=afterok:DRYRUN2' '--array=0'", log);

        // A run folder is found from itself, from the results folder, or from the config.
        Assert.Equal(run.Directory, RunManifest.Resolve(run.Directory));
        Assert.Equal(run.Directory, RunManifest.Resolve(Path.GetDirectoryName(run.Directory)!));
        Assert.Equal(run.Directory, RunManifest.Resolve(spec));
    }

    [Fact]
    public void CudaExperimentWithoutGpusIsRefusedAtSubmit()
    {
        using var experiment = new TempExperiment();
        var spec = experiment.WriteSpec("refuse", Body + "\ndevices: [cuda]\n");
        var e = Assert.Throws<CommandLineException>(() => RunController.Submit(spec, new[] { "dataset.limit=12" },
            new SlurmEngine(new SlurmCli()), new ClusterOptions { GpusPerSilo = 0 }, dryRun: true));
        Assert.Contains("--gpus-per-silo", e.Message);
    }

    [SkippableFact]
    public void SiloWithoutTheGpuItsGrainNeedsFailsFastWithTheFix()
    {
        // On a CUDA machine the silo would run; the point is the CPU-only case.
        Skip.If(Harness.Torch.torch.cuda.device_count() > 0, "a CUDA device is present: the CPU-only failure cannot occur");
        using var experiment = new TempExperiment();
        var spec = experiment.WriteSpec("nogpu", Body + "\ndevices: [cuda]\n");
        var run = RunController.Submit(spec, new[] { "dataset.limit=12" }, new SlurmEngine(new SlurmCli()),
            new ClusterOptions { GpusPerSilo = 1 }, dryRun: true);

        var (code, stderr, elapsed) = Silo(run.Directory, "train", 0, cudaVisibleDevices: null);
        Assert.Equal(Harness.Silo.Program.CannotRun, code);
        Assert.Contains("assigned no GPU (CUDA_VISIBLE_DEVICES is unset)", stderr);
        Assert.InRange(elapsed.TotalSeconds, 0, 60); // fails, does not hang

        (code, stderr, _) = Silo(run.Directory, "train", 0, cudaVisibleDevices: "0");
        Assert.Equal(Harness.Silo.Program.CannotRun, code);
        Assert.Contains("libtorch sees 0 CUDA device(s)", stderr);
        Assert.False(File.Exists(Path.Combine(experiment.Directory, "results", "nogpu", "grains")), "no grain ran");

        (code, stderr, _) = Silo(run.Directory, "score", 7, cudaVisibleDevices: "0");
        Assert.Equal(Harness.Silo.Program.CannotRun, code);
        Assert.Contains("stage score has tasks 0-2, not 7", stderr);
    }

    private static (int Code, string Stderr, TimeSpan Elapsed) Silo(string runDirectory, string stage, int task, string? cudaVisibleDevices)
    {
        var r = TestProcess.Run("dotnet", new[] { Path.Combine(AppContext.BaseDirectory, "mipin-silo.dll"), "task", runDirectory, stage, task.ToString() },
            environment: new Dictionary<string, string?> { ["CUDA_VISIBLE_DEVICES"] = cudaVisibleDevices }, timeout: TimeSpan.FromMinutes(2));
        return (r.Code, r.Stderr, r.Elapsed);
    }
}
