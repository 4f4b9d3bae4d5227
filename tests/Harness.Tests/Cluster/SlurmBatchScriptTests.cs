using Harness.Client.Engines;
using Harness.Experiments;
using Harness.Silo;

namespace Harness.Tests.Cluster;

public sealed class SlurmBatchScriptTests
{
    [Theory]
    [InlineData(new[] { 0 }, "0")]
    [InlineData(new[] { 0, 1, 2, 3 }, "0-3")]
    [InlineData(new[] { 7, 0, 2, 1, 5, 8 }, "0-2,5,7-8")]
    [InlineData(new[] { 3, 3, 4 }, "3-4")]
    public void ArraySpecCompressesRuns(int[] tasks, string expected) => Assert.Equal(expected, SlurmBatchScript.ArraySpec(tasks));

    private static RunManifest Manifest(ClusterOptions options, string workingDirectory) => new()
    {
        Engine = "slurm", Experiment = "quickstart", Config = "/r/run/quickstart.yaml", SourceConfig = "/c/quickstart.yaml",
        Overrides = Array.Empty<string>(), WorkingDirectory = workingDirectory, CreatedUtc = new DateTime(2026, 11, 23, 12, 0, 0, DateTimeKind.Utc),
        Stages = new[]
        {
            new RunStage("train", new[] { new[] { "train/m/mipin" } }, Array.Empty<string>()),
            new RunStage("score", new[] { new[] { "score/m/0000" }, new[] { "score/m/0001" } }, new[] { "train" }),
        },
        Options = options,
    };

    [Fact]
    public void ScriptCarriesEveryOptionAsAnSbatchDirective()
    {
        var options = new ClusterOptions
        {
            Partition = "gpu", Account = "lab", Time = "2:00:00", GpusPerSilo = 2, CpusPerSilo = 8, Memory = "32G", Retries = 4,
            ExtraArgs = new[] { "--qos=long" }, Setup = new[] { "module load cuda/12" },
        };
        var manifest = Manifest(options, "/work/repo");
        var script = SlurmBatchScript.Render(manifest, "/r/run", manifest.Stages[1], "/usr/bin/dotnet", "/b/mipin-silo.dll", 2);
        var directives = script.Split('\n').Where(l => l.StartsWith("#SBATCH ", StringComparison.Ordinal)).Select(l => l[8..]).ToList();
        Assert.Equal(new[]
        {
            "--job-name=mipin-quickstart-score", "--output=/r/run/logs/score-%a.log", "--open-mode=append", "--requeue",
            "--cpus-per-task=8", "--gres=gpu:2", "--partition=gpu", "--account=lab", "--time=2:00:00", "--mem=32G", "--qos=long",
        }, directives);
        Assert.Contains("\nmodule load cuda/12\n", script);
        Assert.Contains("retries=4\n", script);
        Assert.Contains("'/usr/bin/dotnet' '/b/mipin-silo.dll' task \"$run\" \"$stage\" \"$task\"", script);
        Assert.Contains("by hand: sbatch --array=0-1 [--dependency=afterok:JOBID] stage-2-score.sbatch", script);
    }

    [Fact]
    public void CpuOnlyScriptRequestsNoGpu()
    {
        var manifest = Manifest(new ClusterOptions(), "/w");
        var script = SlurmBatchScript.Render(manifest, "/r/run", manifest.Stages[0], "dotnet", "/b/mipin-silo.dll", 1);
        Assert.DoesNotContain("--gres", script);
        Assert.DoesNotContain("--partition", script);
    }

    /// <summary>The script is valid bash, and paths with spaces and quotes survive quoting (bash -n parses it; echo shows the words).</summary>
    [Fact]
    public void ScriptIsValidBashWithAwkwardPaths()
    {
        var manifest = Manifest(new ClusterOptions(), "/tmp/it's a dir");
        var script = SlurmBatchScript.Render(manifest, "/tmp/run dir/it's", manifest.Stages[1], "dotnet", "/b/mipin silo.dll", 1);
        var path = Path.Combine(Path.GetTempPath(), $"mipin-script-{Guid.NewGuid():N}.sbatch");
        File.WriteAllText(path, script);
        try
        {
            var syntax = TestProcess.Run("bash", new[] { "-n", path });
            Assert.True(syntax.Code == 0, syntax.Stderr);
            var words = TestProcess.Run("bash", new[] { "-c", "printf '%s|' " + SlurmBatchScript.Quote("/tmp/run dir/it's") + " " + SlurmBatchScript.Quote("a\"b$c") });
            Assert.Equal("/tmp/run dir/it's|a\"b$c|", words.Stdout);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
