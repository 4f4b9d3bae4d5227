using System.Diagnostics;
using System.Globalization;
using Harness.Bench;
using Harness.Data;
using Harness.Experiments;

namespace Harness.Tests.Bench;

/// <summary>
/// `mipin bench` end to end on tiny configurations (64×64 inputs, batch 1, one timed iteration), as a child process
/// like a user runs it: the CSV has the documented columns and positive, finite figures; the PyTorch baseline runs
/// side by side when /usr/bin/python3 has torch; bad options fail with the valid choices listed. Never asserts timings.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class BenchCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mipin-bench-" + Guid.NewGuid().ToString("N"));

    private static readonly string[] Tiny = { "--batch-sizes", "1", "--iterations", "1", "--warmup", "0", "--image-size", "64", "--devices", "cpu", "--threads", "1" };

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void OurSideOnlyWritesEveryColumnWithPositiveFigures()
    {
        var (code, stdout, stderr) = Bench(Tiny.Concat(new[] { "--models", "mobilenet_v2", "--no-pytorch", "--output", _dir }));
        Assert.True(code == 0, stderr);
        var (header, rows) = CsvTable.Read(Path.Combine(_dir, "bench.csv"));
        Assert.Equal(BenchCsv.Header, header);
        Assert.Equal(BenchMethods.Names, rows.Select(r => r[Col(header, "method")]));
        foreach (var row in rows)
        {
            Assert.Equal("mobilenet_v2", row[Col(header, "model")]);
            Assert.Equal("1", row[Col(header, "batch")]);
            Assert.Equal("cpu", row[Col(header, "device")]);
            Assert.Equal("1", row[Col(header, "threads")]);
            AssertPositive(row[Col(header, "mipin_images_per_s")]);
            AssertPositive(row[Col(header, "mipin_peak_rss_mb")]);
            AssertPositive(row[Col(header, "mipin_median_s")]);
            Assert.Equal("1", row[Col(header, "mipin_iterations")]);
            Assert.Equal("", row[Col(header, "pytorch_images_per_s")]);
            Assert.Equal("", row[Col(header, "ratio")]);
        }
        Assert.Contains("mipin img/s", stdout);
        Assert.Contains("not run (--no-pytorch)", stdout);
        Assert.True(File.Exists(Path.Combine(_dir, "bench.txt")));
        Assert.Contains("[5/5] mobilenet_v2 mipin-train batch 1 cpu", stderr); // progress per cell
    }

    [Fact]
    public void RoundsMeasureOurSideOncePerRound()
    {
        var (code, stdout, stderr) = Bench(Tiny.Concat(new[] { "--models", "mobilenet_v2", "--methods", "gradcam", "--rounds", "2", "--no-pytorch", "--output", _dir }));
        Assert.True(code == 0, stderr);
        var (header, rows) = CsvTable.Read(Path.Combine(_dir, "bench.csv"));
        var row = Assert.Single(rows);
        Assert.Equal("2", row[Col(header, "mipin_iterations")]); // one timed iteration in each of two rounds
        AssertPositive(row[Col(header, "mipin_images_per_s")]);
        Assert.Equal("", row[Col(header, "note")]); // no baseline, so no ratio per round
        Assert.Contains("2 rounds per cell (our side and the tuned baseline alternate; each reports its median round)", stdout);
    }

    [Fact]
    public void RoundsAreRefusedOutsideTheTable()
    {
        foreach (var mode in new[] { new[] { "--pipeline", TestPaths.Repo("configs", "quickstart.yaml") }, new[] { "--soak", "64" } })
        {
            var (code, _, stderr) = Bench(mode.Concat(new[] { "--rounds", "2", "--no-pytorch", "--output", _dir }));
            Assert.True(code == 1, $"{mode[0]}: exit {code}");
            Assert.Contains("--rounds goes with the table (the side-by-side cells), not with --pipeline or --soak", stderr);
        }
    }

    [SkippableFact]
    public void RoundsAlternateWithTheTunedBaselineAndReportEveryRoundsRatio()
    {
        Skip.If(!PythonHasTorch(), "needs Debian's python3-torch and python3-torchvision for the PyTorch baseline (apt-get install python3-torch python3-torchvision)");
        var (code, _, stderr) = Bench(Tiny.Concat(new[] { "--models", "mobilenet_v2", "--methods", "gradcam", "--rounds", "3", "--output", _dir }));
        Assert.True(code == 0, stderr);
        var (header, rows) = CsvTable.Read(Path.Combine(_dir, "bench.csv"));
        var row = Assert.Single(rows);
        Assert.Equal("3", row[Col(header, "mipin_iterations")]);
        Assert.Equal("3", row[Col(header, "pytorch_iterations")]);
        AssertBaseline(header, row, "pytorch_images_per_s", "pytorch_peak_rss_mb", "ratio");
        AssertBaseline(header, row, "pytorch_untuned_images_per_s", "pytorch_untuned_peak_rss_mb", "ratio_untuned");
        var note = row[Col(header, "note")];
        Assert.Matches(@"^ratio per round \d+\.\d\d / \d+\.\d\d / \d+\.\d\d$", note);
    }

    [SkippableFact]
    public void PyTorchBaselineRunsSideBySide()
    {
        // The baseline is optional; without python3-torch the command says how to install it (tested below).
        Skip.If(!PythonHasTorch(), "needs Debian's python3-torch and python3-torchvision for the PyTorch baseline (apt-get install python3-torch python3-torchvision)");
        var (code, stdout, stderr) = Bench(Tiny.Concat(new[] { "--models", "mobilenet_v2", "--methods", "fused,mipin-explain", "--output", _dir }));
        Assert.True(code == 0, stderr);
        var (header, rows) = CsvTable.Read(Path.Combine(_dir, "bench.csv"));
        Assert.Equal(2, rows.Count);
        foreach (var row in rows)
        {
            AssertPositive(row[Col(header, "mipin_images_per_s")]);
            // The headline column (tuned PyTorch), then PyTorch as users run it.
            AssertBaseline(header, row, "pytorch_images_per_s", "pytorch_peak_rss_mb", "ratio");
            AssertBaseline(header, row, "pytorch_untuned_images_per_s", "pytorch_untuned_peak_rss_mb", "ratio_untuned");
            Assert.Equal("", row[Col(header, "note")]);
        }
        Assert.Contains("eager, child processes", stdout);
        Assert.Contains("tuned      channels_last, conv+BN folded with torch.fx", stdout);
        Assert.Contains("untuned    as users run it", stdout);
        Assert.Contains("pytorch fused: the three methods run separately", stdout);
    }

    /// <summary>
    /// The tuned baseline (channels_last, conv+BN folded by torch.fx, Grad-CAM from the layer) computes the maps of the
    /// untuned one: relative L2 difference under 1e-2 per workload (float32 rounding of another summation order; a
    /// ReLU gate at an exactly-zero pre-activation may flip), checked by bench.py against itself untuned.
    /// </summary>
    [SkippableFact]
    public void TunedBaselineComputesTheUntunedMaps()
    {
        Skip.If(!PythonHasTorch(), "needs Debian's python3-torch and python3-torchvision (apt-get install python3-torch python3-torchvision)");
        var r = TestProcess.Run("/usr/bin/python3", [TestPaths.Repo("tools", "reference", "bench.py"), "--check-tuned", "--models", "mobilenet_v2,resnet50"],
            TestPaths.RepoRoot, timeout: TimeSpan.FromMinutes(5));
        Assert.True(r.Code == 0, r.Output);
        var checks = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(8, checks.Count); // 2 models × gradient, gradcam, input_x_gradient, mipin-explain
        Assert.All(checks, c => Assert.True(c.GetProperty("ok").GetBoolean(), c.ToString()));
        Assert.All(checks.Where(c => c.GetProperty("method").GetString() is "gradcam" or "mipin-explain"),
            c => Assert.True(c.GetProperty("relative_l2").GetDouble() < 1e-4, c.ToString())); // no input-gradient gates involved
    }

    [Fact]
    public void MissingInterpreterFallsBackToOurSideWithTheInstallCommand()
    {
        var (code, _, stderr) = Bench(Tiny.Concat(new[] { "--models", "mobilenet_v2", "--methods", "gradcam", "--python", "/nonexistent/python3", "--output", _dir }));
        Assert.True(code == 0, stderr);
        Assert.Contains("apt-get install python3-torch python3-torchvision", stderr);
        var (header, rows) = CsvTable.Read(Path.Combine(_dir, "bench.csv"));
        AssertPositive(Assert.Single(rows)[Col(header, "mipin_images_per_s")]);
    }

    [Fact]
    public void SoakReportsRssAtStartAndEndOfSteadyState()
    {
        var (code, stdout, stderr) = Bench(new[]
        {
            "--models", "mobilenet_v2", "--methods", "gradient", "--batch-sizes", "2", "--image-size", "64", "--devices", "cpu",
            "--threads", "1", "--soak", "10", "--output", _dir,
        });
        Assert.True(code == 0, stderr);
        Assert.Contains("RSS at start of steady state", stdout);
        var (header, rows) = CsvTable.Read(Path.Combine(_dir, "soak.csv"));
        Assert.Equal(new[] { "images", "seconds", "rss_mb" }, header);
        Assert.Equal(new[] { "2", "4", "6", "8", "10" }, rows.Select(r => r[0]));
        foreach (var row in rows) AssertPositive(row[2]);
    }

    [Fact]
    public void PipelineTimesEveryStageOfAShardBesideItsComputeBound()
    {
        // Shard 0 of the quickstart cut to 5 images in batches of 2 (three batches: the prefetch decodes ahead), three
        // methods, a localization metric and class_sensitivity, which needs two more explanations per batch.
        var (code, stdout, stderr) = Bench(new[]
        {
            "--pipeline", "configs/quickstart.yaml", "--set", "methods=[gradient,gradcam,center]",
            "--set", "method_options={gradcam: {layer: features.18}}", "--set", "metrics=[bbox_accuracy,class_sensitivity]",
            "--set", "shard_size=5", "--set", "batch_size=2", "--warmup", "0", "--iterations", "2", "--threads", "1", "--devices", "cpu",
            "--output", _dir,
        });
        Assert.True(code == 0, stderr);
        var (header, rows) = CsvTable.Read(Path.Combine(_dir, "pipeline.csv"));
        Assert.Equal(PipelineReport.Header, header);
        string[] Row(string kind, string name) => rows.Single(r => r[0] == kind && r[1] == name);
        foreach (var stage in new[]
                 {
                     "read+decode (prefetch thread)", "wait for decoded batch", "resize+normalize", "gradient pass (shared)", "maps: gradient",
                     "maps: gradcam[layer=features.18]", "maps: center", "metric: class_sensitivity", "metric: bbox_accuracy", "write csv",
                 })
            AssertPositive(Row("stage", stage)[2]);
        Assert.Equal("3", Row("stage", "read+decode (prefetch thread)")[3]); // one decode per batch
        Assert.Equal("3", Row("stage", "maps: gradient")[3]);
        // The bound: the true classes' explanation plus class_sensitivity's two (docs/bench.md).
        var explain = rows.Single(r => r[0] == "bound_pass");
        Assert.StartsWith("explain", explain[1]);
        Assert.Equal("3", explain[3]);
        var seconds = AssertPositive(Row("total", "end_to_end")[2]);
        Assert.Equal(5 / seconds, AssertPositive(Row("total", "end_to_end")[5]), 3);
        AssertPositive(Row("total", "compute_bound")[2]);
        var share = AssertPositive(Row("total", "compute_bound")[4]);
        var peak = AssertPositive(Row("total", "peak_rss_mb")[2]);
        // Each run's own peak (the heap's freed memory handed back before each run, as before a grain): the warm-up
        // (--warmup 0 still runs one) and the first timed run count, the highest is reported; the second timed run
        // followed a bound measurement, which leaves the heap as no grain does: listed, not counted.
        var perRun = System.Text.RegularExpressions.Regex.Match(stdout,
            @"per run ([0-9.]+) / ([0-9.]+) MB \(warm-ups first\); after a bound measurement, not counted: ([0-9.]+) MB");
        Assert.True(perRun.Success, stdout);
        Assert.Equal(peak, Enumerable.Range(1, 2).Max(g => double.Parse(perRun.Groups[g].Value, CultureInfo.InvariantCulture)));
        Assert.Contains("efficiency", stdout);
        // The bound is timed right after each timed run (runs 2 and 3), not once after all of them, and each timed run's
        // efficiency is reported against its own.
        Assert.Contains("bound after run 2", stderr);
        Assert.Contains("bound after run 3", stderr);
        Assert.DoesNotContain("bound after run 1", stderr);
        // The efficiency is the median (of two: their mean) of the runs' own, each against the bound timed after it.
        var efficiencies = System.Text.RegularExpressions.Regex.Match(stdout, @"per run ([0-9.]+) / ([0-9.]+)%\n");
        Assert.True(efficiencies.Success, stdout);
        var mean = (double.Parse(efficiencies.Groups[1].Value, CultureInfo.InvariantCulture) +
                    double.Parse(efficiencies.Groups[2].Value, CultureInfo.InvariantCulture)) / 2 / 100;
        Assert.True(Math.Abs(share - mean) <= 0.001, $"efficiency {share} against the runs' mean {mean}");
        // The shard as a score grain writes it: 3 methods × 5 images.
        var (shardHeader, shardRows) = CsvTable.Read(Path.Combine(_dir, "pipeline-shard.csv"));
        Assert.Equal(ImageRow.Header(new[] { "bbox_accuracy", "class_sensitivity" }), shardHeader);
        Assert.Equal(15, shardRows.Count);
    }

    [Fact]
    public void PipelineNamesAnUnknownModelAndShard()
    {
        var (code, _, stderr) = Bench(new[] { "--pipeline", "configs/quickstart.yaml", "--model", "resnet51", "--output", _dir });
        Assert.Equal(1, code);
        Assert.Contains("--model: quickstart.yaml has no model 'resnet51'. Its models: mobilenet_v2@mobilenet_v2_coral", stderr);
        (code, _, stderr) = Bench(new[] { "--pipeline", "configs/quickstart.yaml", "--shard", "99", "--output", _dir });
        Assert.Equal(1, code);
        Assert.Contains("--shard: quickstart.yaml has shards 0 to 3, not 99", stderr);
        // A doc without the section's markers fails before anything is measured.
        var doc = Path.Combine(_dir, "no-markers.md");
        Directory.CreateDirectory(_dir);
        File.WriteAllText(doc, "# bench\n");
        (code, _, stderr) = Bench(new[] { "--pipeline", "configs/quickstart.yaml", "--update-doc", doc, "--output", _dir });
        Assert.Equal(1, code);
        var section = Harness.Torch.OneDnnKernels.Brgemm == false ? "pipeline-mobilenet_v2-avx2" : "pipeline-mobilenet_v2";  // a CPU without AVX-512: its own sections
        Assert.Contains($"has no '<!-- generated:{section} begin -->' ... '<!-- generated:{section} end -->' pair", stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "pipeline.csv")));
    }

    [SkippableFact]
    public void WinogradRunsGoToTheirOwnDocSectionsAndSayWhichAlgorithmRan()
    {
        Torch.WinogradConvolutionTests.RequireWinograd();
        Directory.CreateDirectory(_dir);
        var doc = Path.Combine(_dir, "bench.md");
        const string direct = "<!-- generated:headline begin -->\nDIRECT\n<!-- generated:headline end -->\n";
        File.WriteAllText(doc, direct + "<!-- generated:headline-winograd begin -->\n<!-- generated:headline-winograd end -->\n");
        var (code, stdout, stderr) = Bench(Tiny.Concat(new[] { "--models", "resnet18", "--methods", "gradient", "--no-pytorch",
            "--convolution", "winograd", "--update-doc", doc, "--output", _dir }));
        Assert.True(code == 0, stderr);
        Assert.Contains("winograd 3×3 convolutions (forward and input gradient)", stdout);
        var text = File.ReadAllText(doc);
        Assert.StartsWith(direct, text); // the direct headline is left as measured
        Assert.Contains("| resnet18 | gradient | 1 | cpu |", text[direct.Length..]);
        Assert.Contains("bench: updated the headline-winograd section", stderr);
    }

    [SkippableFact]
    public void RunsOnACpuWithoutAvx512GoToTheirOwnDocSections()
    {
        // oneDNN's AVX2 kernels give other figures than the AVX-512 ones the plain sections hold: headline-avx2.
        Skip.IfNot(Harness.Torch.OneDnnKernels.Brgemm == false, "this CPU runs oneDNN's AVX-512 (brgemm) kernels: its runs write the plain sections, as WinogradRunsGoToTheirOwnDocSectionsAndSayWhichAlgorithmRan checks");
        Directory.CreateDirectory(_dir);
        var doc = Path.Combine(_dir, "bench.md");
        const string avx512 = "<!-- generated:headline begin -->\nAVX-512\n<!-- generated:headline end -->\n";
        File.WriteAllText(doc, avx512 + "<!-- generated:headline-avx2 begin -->\n<!-- generated:headline-avx2 end -->\n");
        var (code, _, stderr) = Bench(Tiny.Concat(new[] { "--models", "resnet18", "--methods", "gradient", "--no-pytorch",
            "--update-doc", doc, "--output", _dir }));
        Assert.True(code == 0, stderr);
        var text = File.ReadAllText(doc);
        Assert.StartsWith(avx512, text); // the AVX-512 headline is left as measured
        Assert.Contains("| resnet18 | gradient | 1 | cpu |", text[avx512.Length..]);
        Assert.Contains("bench: updated the headline-avx2 section", stderr);
    }

    [Theory]
    [InlineData("--methods", "gradient,smoothgrad", "unknown method 'smoothgrad'. Valid methods: gradient, gradcam, fused, mipin-explain, mipin-train")]
    [InlineData("--models", "resnet51", "unknown model 'resnet51'. Valid models:")]
    [InlineData("--models", "mnist_mlp", "unknown model 'mnist_mlp'. Valid models:")]
    [InlineData("--batch-sizes", "8,0", "--batch-sizes: '0' is not a positive integer")]
    [InlineData("--devices", "tpu", "--devices: 'tpu' is not a device")]
    [InlineData("--iterations", "0", "iterations must be ≥ 1")]
    [InlineData("--threads", "0", "threads must be ≥ 1")]
    [InlineData("--rounds", "0", "rounds must be ≥ 1")]
    [InlineData("--model", "resnet50", "--model, --shard, --set and --random-weights go with --pipeline CONFIG (for the table, use --models)")]
    [InlineData("--convolution", "fft", "--convolution must be 'direct', 'winograd-gradients' or 'winograd', got 'fft'")]
    public void BadOptionsFailWithTheValidChoices(string option, string value, string message)
    {
        var (code, _, stderr) = Bench(new[] { option, value, "--no-pytorch", "--output", _dir });
        Assert.Equal(1, code);
        Assert.Contains(message, stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "bench.csv")));
    }

    // A baseline's figures are positive and its ratio is ours divided by its images/s.
    private static void AssertBaseline(string[] header, string[] row, string imagesPerSecond, string peak, string ratio)
    {
        AssertPositive(row[Col(header, peak)]);
        var expected = AssertPositive(row[Col(header, "mipin_images_per_s")]) / AssertPositive(row[Col(header, imagesPerSecond)]);
        Assert.Equal(expected, AssertPositive(row[Col(header, ratio)]), expected * 1e-3);
    }

    private static int Col(string[] header, string name)
    {
        var i = Array.IndexOf(header, name);
        Assert.True(i >= 0, $"no column {name}");
        return i;
    }

    private static double AssertPositive(string field)
    {
        Assert.True(double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var v), $"'{field}' is not a number");
        Assert.True(double.IsFinite(v) && v > 0, $"{v} is not a positive finite number");
        return v;
    }

    internal static bool PythonHasTorch()
    {
        if (!File.Exists("/usr/bin/python3")) return false;
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("import torch, torchvision");
        using var p = Process.Start(info)!;
        p.WaitForExit();
        return p.ExitCode == 0;
    }

    private static (int Code, string Stdout, string Stderr) Bench(IEnumerable<string> args)
    {
        var cli = TestPaths.Cli;
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = TestPaths.RepoRoot, RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(cli);
        start.ArgumentList.Add("bench");
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3))) process.Kill(entireProcessTree: true);
        return (process.ExitCode, stdout, stderr.Result);
    }
}
