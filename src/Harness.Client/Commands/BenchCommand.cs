using System.CommandLine;
using System.Globalization;
using Harness.Attribution;
using Harness.Bench;
using Harness.Data;
using Harness.Experiments;
using Harness.Grains;
using Harness.Models;
using Harness.Torch;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin bench`: images/s and peak memory of the attribution workloads (<see cref="BenchMethods"/>) on random-weight
/// models, side by side with PyTorch eager (tools/reference/bench.py) tuned per its CPU performance guide (the ratio) and
/// as users run it (ratio untuned), two child processes this command drives cell by cell. Writes DIR/bench.csv and DIR/bench.txt and prints the table; `--soak N` instead
/// runs N images through one workload and reports whether memory stays flat (DIR/soak.csv). See docs/bench.md.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var models = new Option<string>("--models") { Description = "Comma-separated models (random weights): " + string.Join(", ", BenchMethods.BaselineModels) + " have a PyTorch baseline; any zoo CNN runs on our side.", DefaultValueFactory = _ => string.Join(",", BenchMethods.BaselineModels) };
        var methods = new Option<string>("--methods") { Description = "Comma-separated workloads: " + string.Join(", ", BenchMethods.Names) + " (fused = gradient + Grad-CAM + gradient×input from one pass).", DefaultValueFactory = _ => string.Join(",", BenchMethods.Names) };
        var batchSizes = new Option<string>("--batch-sizes") { Description = "Comma-separated batch sizes.", DefaultValueFactory = _ => "1,8,32" };
        var devices = new Option<string>("--devices") { Description = "Comma-separated devices (cpu, cuda, cuda:N); CUDA devices that are not present are skipped with a note.", DefaultValueFactory = _ => "cpu,cuda" };
        var warmup = new Option<int>("--warmup") { Description = "Untimed iterations per cell (the first two iterations of a cell run slow on both sides: page faults, oneDNN kernel generation).", DefaultValueFactory = _ => 2 };
        var memoryFormat = new Option<string>("--memory-format") { Description = "Layout of our models: channels-last or contiguous (PyTorch's default, as in the baseline); default: channels-last on cpu, contiguous on cuda." };
        var iterations = new Option<int>("--iterations") { Description = "Timed iterations per cell (images/s from the median).", DefaultValueFactory = _ => 3 };
        var rounds = new Option<int>("--rounds") { Description = "Measure each cell's headline pair this many times, alternating (ours, tuned PyTorch, ours, ...), and report each side's median round, with the ratio of every round in the note: a slow stretch of a shared machine then moves neither figure. The untuned baseline runs once.", DefaultValueFactory = _ => 1 };
        var maxSeconds = new Option<double>("--max-seconds") { Description = "Time budget of a cell's timed iterations per side (and round, with --rounds); at least one iteration runs.", DefaultValueFactory = _ => 30.0 };
        var threads = new Option<int>("--threads") { Description = "libtorch intra-op threads, set in this process and in the PyTorch child.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var convolution = new Option<string?>("--convolution") { Description = "Algorithm of our 3×3 stride-1 CPU convolutions: winograd-gradients (forward passes as PyTorch's, input gradients through oneDNN's Winograd kernels), direct (PyTorch's kernels everywhere) or winograd (forward passes too; rounding differs by about 1e-6; docs/bench.md \"Convolution algorithms\"). Default: MIPIN_CONVOLUTION, else winograd-gradients. A run other than winograd-gradients writes its own sections with --update-doc (headline-direct, headline-winograd, ...). The PyTorch baseline always runs direct." };
        var imageSize = new Option<int>("--image-size") { Description = "Input height and width.", DefaultValueFactory = _ => 224 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random weights and inputs.", DefaultValueFactory = _ => 0UL };
        var waitIdle = new Option<double>("--wait-idle") { Description = "Before each side of each cell, wait up to this many seconds until 90% of the CPU time of --threads cores is idle (for shared machines; 0 = never wait).", DefaultValueFactory = _ => 0.0 };
        var noPyTorch = new Option<bool>("--no-pytorch") { Description = "Measure our side only (no baseline child process)." };
        var noUntuned = new Option<bool>("--no-untuned") { Description = "Run only the tuned PyTorch baseline (the headline), not the untuned one as users run it (contiguous, hooks, glibc defaults)." };
        var python = new Option<string>("--python") { Description = "Interpreter with torch and torchvision for the baseline.", DefaultValueFactory = _ => "/usr/bin/python3" };
        var output = new Option<DirectoryInfo>("--output") { Description = "Folder for bench.csv, bench.txt (and soak.csv).", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("results", "bench")) };
        var soak = new Option<long?>("--soak") { Description = "Instead of the table: run N images through the first model/method/device at the largest batch size and report RSS at the start and end of steady state." };
        var pipeline = new Option<FileInfo?>("--pipeline") { Description = "Instead of the table: score one shard of this experiment config as a score grain does, time it stage by stage (decode, resize, each method, each metric, CSV) and compare with the compute bound (pipeline.csv, pipeline.txt). Uses --warmup, --iterations, --threads, --wait-idle and the first available of --devices." };
        var pipelineModel = new Option<string?>("--model") { Description = "With --pipeline: the model id or architecture of the config to score (default: its first model)." };
        var pipelineSet = RunCommand.SetOption();
        var randomWeights = new Option<bool>("--random-weights") { Description = "With --pipeline: score with seeded random weights (--seed) of the model's architecture instead of its checkpoint, written to OUTPUT/random-weights; trained state then goes under OUTPUT too. For architectures whose checkpoint is not at hand: the timings do not depend on the weights' values." };
        var updateDoc = new Option<FileInfo?>("--update-doc") { Description = "Also write the results into this markdown file (docs/bench.md) between its '<!-- generated:NAME begin/end -->' markers, with date, commit and command: the table goes to 'headline' and, with the PyTorch child, its GFLOP/s against the CPU's peak to 'limit'; --pipeline goes to 'pipeline-ARCHITECTURE' (e.g. pipeline-mobilenet_v2). These are the sections of the default algorithm (winograd-gradients); under --convolution direct or winograd each name ends in '-direct' or '-winograd' (headline-direct, pipeline-resnet50-winograd, ...), so the default's sections stay as measured. On a CPU without AVX-512 (oneDNN's AVX2 kernels; mipin info) every name then ends in '-avx2' (headline-avx2, limit-avx2, pipeline-resnet50-avx2): those figures never replace the AVX-512 machine's." };
        var pipelineShard = new Option<int>("--shard") { Description = "With --pipeline: the shard to score.", DefaultValueFactory = _ => 0 };

        var command = new Command("bench", "Measure images/s and peak memory of the attribution workloads, side by side with PyTorch eager.")
        {
            models, methods, batchSizes, devices, warmup, iterations, rounds, maxSeconds, threads, convolution, imageSize, seed, memoryFormat, waitIdle, noPyTorch, noUntuned, python, output, soak,
            pipeline, pipelineModel, pipelineShard, pipelineSet, randomWeights, updateDoc,
        };
        command.SetAction(parse =>
        {
            var settings = new BenchSettings
            {
                Warmup = parse.GetValue(warmup),
                Iterations = parse.GetValue(iterations),
                Rounds = parse.GetValue(rounds),
                MaxSeconds = parse.GetValue(maxSeconds),
                Threads = parse.GetValue(threads),
                ImageSize = parse.GetValue(imageSize),
                Seed = parse.GetValue(seed),
                MemoryFormat = ParseMemoryFormat(parse.GetValue(memoryFormat)),
                WaitIdleSeconds = parse.GetValue(waitIdle),
            };
            try
            {
                settings.Validate();
            }
            catch (ArgumentException e)
            {
                throw new CommandLineException(e.Message);
            }
            var modelList = ParseModels(parse.GetValue(models)!);
            var methodList = ParseMethods(parse.GetValue(methods)!);
            var batchList = ParseBatchSizes(parse.GetValue(batchSizes)!);
            var (deviceList, skipped) = ParseDevices(parse.GetValue(devices)!);
            var outDir = parse.GetValue(output)!.FullName;
            var doc = parse.GetValue(updateDoc)?.FullName;
            if (doc is not null && !File.Exists(doc)) throw new CommandLineException($"--update-doc: no file {doc}");
            var docCommit = doc is null ? null : BenchDoc.CommitOf(doc); // the build this run measures
            if (parse.GetValue(pipeline) is null &&
                (parse.GetValue(pipelineModel) is not null || parse.GetValue(pipelineShard) != 0 || (parse.GetValue(pipelineSet) ?? Array.Empty<string>()).Length > 0 || parse.GetValue(randomWeights)))
                throw new CommandLineException("--model, --shard, --set and --random-weights go with --pipeline CONFIG (for the table, use --models)");
            if ((parse.GetValue(pipeline) is not null || parse.GetValue(soak) is not null) && settings.Rounds != 1)
                throw new CommandLineException("--rounds goes with the table (the side-by-side cells), not with --pipeline or --soak");
            torch.set_num_threads(settings.Threads);
            if (parse.GetValue(convolution) is { } algorithm)
            {
                try
                {
                    ConvolutionAlgorithm.Use(ConvolutionAlgorithm.Parse(algorithm, "--convolution"));
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    throw new CommandLineException(e.Message);
                }
            }
            foreach (var note in skipped) Console.Error.WriteLine($"bench: {note}");
            if (deviceList.Count == 0) throw new CommandLineException("--devices: none of the devices is available");

            if (parse.GetValue(pipeline) is { } config)
                return Pipeline(config, parse.GetValue(pipelineSet) ?? Array.Empty<string>(), parse.GetValue(pipelineModel), parse.GetValue(pipelineShard),
                    parse.GetValue(randomWeights), deviceList[0], settings, outDir, doc, docCommit);

            if (parse.GetValue(soak) is { } n)
                return Soak(new BenchCell(modelList[0], methodList[0], batchList.Max(), deviceList[0]), n, settings, outDir);

            PyTorchBaseline? tuned = null, untuned = null;
            var pytorchLines = new List<string>();
            if (parse.GetValue(noPyTorch)) pytorchLines.Add("pytorch      not run (--no-pytorch)");
            else
            {
                var script = PyTorchBaseline.FindScript();
                if (script is null) Console.Error.WriteLine("bench: tools/reference/bench.py not found; measuring our side only");
                PyTorchBaseline? Start(bool isTuned) => script is null ? null
                    : PyTorchBaseline.TryStart(parse.GetValue(python)!, script, out var why, isTuned) ?? WarnNull(why!);
                tuned = Start(true);
                untuned = tuned is null || parse.GetValue(noUntuned) ? null : Start(false);
                pytorchLines.Add(tuned is null ? "pytorch      not available (our side only)"
                    : $"pytorch      {tuned.TorchVersion} eager, child processes {tuned.Hello["pid"]}" + (untuned is null ? "" : $" and {untuned.Hello["pid"]}") +
                      ", tools/reference/bench.py");
                if (tuned is not null)
                    pytorchLines.Add("  tuned      channels_last, conv+BN folded with torch.fx, Grad-CAM from the layer without a graph below it, glibc keeps freed memory (the ratio)");
                if (untuned is not null)
                    pytorchLines.Add("  untuned    as users run it: contiguous, hooks as pytorch-grad-cam and captum register them, glibc malloc defaults (ratio untuned)");
            }
            using (tuned)
            using (untuned)
            {
                if (doc is not null) BenchDoc.Check(doc, tuned is null ? new[] { Section(BenchDoc.Headline) } : new[] { Section(BenchDoc.Headline), Section(BenchDoc.Limit) });
                var header = MachineLines(settings).Concat(pytorchLines).Concat(skipped.Select(s => "note         " + s)).ToList();
                foreach (var line in header) Console.Error.WriteLine(line);
                var cells = BenchSuite.Plan(modelList, methodList, batchList, deviceList);
                // The limit section's peak: measured before the first cell here and after the last in UpdateDoc.
                var peakBefore = doc is not null && tuned is not null ? MeasurePeak("before the first cell") : null;
                var rows = BenchSuite.Run(cells, settings, tuned, untuned, (i, row) => Console.Error.WriteLine(Progress(i, cells.Count, row)));
                Directory.CreateDirectory(outDir);
                var csv = Path.Combine(outDir, "bench.csv");
                BenchCsv.Write(csv, rows);
                var footer = methodList.Where(_ => tuned is not null)
                    .Select(m => $"pytorch {m}: {BenchMethods.BaselineDescription(m)}").ToList();
                var table = BenchTable.Format(rows, header.Append("")) + (footer.Count > 0 ? "\n" + string.Join("\n", footer) + "\n" : "");
                AtomicFile.WriteAllText(Path.Combine(outDir, "bench.txt"), table);
                if (doc is not null) UpdateDoc(doc, docCommit, header, rows, tuned, settings.ImageSize, peakBefore);
                Console.WriteLine(table);
                Console.WriteLine($"wrote {csv}");
            }
            return 0;
        });
        return command;
    }

    // The headline section always; the limit section when the PyTorch child can count the models' FLOPs.
    // Under --convolution direct or winograd both go to their "-direct" / "-winograd" twins (Section), so the default's
    // headline stays as measured.
    private static void UpdateDoc(string doc, string? commit, IReadOnlyList<string> header, IReadOnlyList<BenchRow> rows, PyTorchBaseline? tuned,
        int imageSize, CpuPeak.Peak? peakBefore)
    {
        string headline = Section(BenchDoc.Headline), limit = Section(BenchDoc.Limit);
        var provenance = BenchDoc.Provenance(header, doc, commit);
        BenchDoc.Replace(doc, headline, provenance + BenchDoc.HeadlineTable(rows));
        Console.Error.WriteLine($"bench: updated the {headline} section of {doc}");
        if (tuned is null)
        {
            Console.Error.WriteLine($"bench: the {limit} section needs the PyTorch child (it counts the FLOPs); left as it was");
            return;
        }
        Dictionary<string, (double, double)> flops;
        try
        {
            flops = rows.Select(r => r.Cell.Model).Distinct().Where(BenchMethods.BaselineModels.Contains)
                .ToDictionary(m => m, m => tuned.ForwardFlops(m, imageSize));
        }
        catch (BaselineException e)
        {
            Console.Error.WriteLine($"bench: the {limit} section was left as it was: the PyTorch child could not count the FLOPs ({e.Message})");
            return;
        }
        var peakAfter = MeasurePeak("after the last cell");
        var peak = peakBefore is null ? peakAfter : CpuPeak.Best(peakBefore, peakAfter);
        BenchDoc.Replace(doc, limit, provenance + BenchDoc.LimitTable(rows, flops, peak, CpuPeak.Nominal(torch.get_num_threads())));
        Console.Error.WriteLine($"bench: updated the {limit} section of {doc}");
    }

    private static CpuPeak.Peak MeasurePeak(string when)
    {
        var peak = CpuPeak.MeasureConvolution();
        Console.Error.WriteLine(FormattableString.Invariant($"bench: convolution peak {when}: {peak.GigaFlops:0} GFLOP/s (for the limit section)"));
        return peak;
    }

    // The default algorithm writes the plain sections; the others their own (headline-direct, headline-winograd, ...).
    // A CPU whose oneDNN kernels are not the AVX-512 ones writes sections ending in -avx2 (headline-avx2, ...): its
    // figures come from other kernels and never replace the AVX-512 machine's.
    private static string Section(string name)
    {
        var section = ConvolutionAlgorithm.Current == ConvolutionKind.WinogradGradients ? name : name + "-" + ConvolutionAlgorithm.NameOf(ConvolutionAlgorithm.Current);
        return OneDnnKernels.Brgemm == false ? section + "-avx2" : section;
    }

    private static PyTorchBaseline? WarnNull(string why)
    {
        Console.Error.WriteLine($"bench: no PyTorch baseline: {why}. Measuring our side only.");
        return null;
    }

    private static string Progress(int index, int total, BenchRow row)
    {
        var text = FormattableString.Invariant($"[{index + 1}/{total}] {row.Cell}: mipin ");
        text += row.MipIn is { } m ? FormattableString.Invariant($"{m.ImagesPerSecond:0.##} img/s") : "-";
        if (row.PyTorch is { } p) text += FormattableString.Invariant($", pytorch tuned {p.ImagesPerSecond:0.##} img/s");
        if (row.Ratio is { } r) text += FormattableString.Invariant($" (ratio {r:0.00})");
        if (row.PyTorchUntuned is { } u) text += FormattableString.Invariant($", untuned {u.ImagesPerSecond:0.##} img/s");
        if (row.RatioUntuned is { } ru) text += FormattableString.Invariant($" (ratio {ru:0.00})");
        if (row.Note.Length > 0) text += $"  [{row.Note}]";
        return text;
    }

    private static int Pipeline(FileInfo config, IReadOnlyList<string> overrides, string? modelName, int shard, bool randomWeights, Device device,
        BenchSettings settings, string outDir, string? doc, string? docCommit)
    {
        if (!config.Exists) throw new CommandLineException($"--pipeline: no experiment config at {config.FullName}");
        var spec = SpecLoader.Load(config.FullName, overrides);
        var matches = modelName is null ? spec.Models.Take(1).ToList() : spec.Models.Where(m => m.Id == modelName).ToList() is { Count: > 0 } byId ? byId
            : spec.Models.Where(m => m.Architecture == modelName).ToList();
        var ids = string.Join(", ", spec.Models.Select(m => m.Id));
        if (matches.Count == 0) throw new CommandLineException($"--model: {config.Name} has no model '{modelName}'. Its models: {ids}");
        if (matches.Count > 1) throw new CommandLineException($"--model: {config.Name} has {matches.Count} {modelName} models; give one of their ids: {string.Join(", ", matches.Select(m => m.Id))}");
        var model = matches[0];
        if (randomWeights)
        {
            var weights = Path.Combine(outDir, "random-weights", FormattableString.Invariant($"{model.Architecture}-{model.NumClasses}-seed{settings.Seed}.safetensors"));
            if (!File.Exists(weights))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(weights)!);
                using var random = ModelZoo.Create(model.Architecture, model.NumClasses, settings.Seed);
                using var state = random.state_dict();
                state.Save(weights);
            }
            model = model with { Weights = weights };
            spec = spec with { Models = new[] { model }, ResultsRoot = outDir };
        }
        var shards = new ExperimentPlan(spec).Data.Shards.Count;
        if (shards == 0) throw new CommandLineException($"--pipeline: {config.Name} selects no images to score (check dataset and training.images)");
        if (shard < 0 || shard >= shards) throw new CommandLineException($"--shard: {config.Name} has shards 0 to {shards - 1}, not {shard}");
        if (doc is not null) BenchDoc.Check(doc, new[] { Section($"{BenchDoc.Pipeline}-{model.Architecture}") });
        var header = MachineLines(settings).Take(2).ToList();
        foreach (var line in header) Console.Error.WriteLine(line);
        var result = PipelineBench.Run(spec, model, shard, device, settings, outDir, line => Console.Error.WriteLine(line));
        var table = PipelineReport.Format(result, header.Append(FormattableString.Invariant(
            $"settings     warmup {settings.Warmup}, iterations {settings.Iterations} (median), wait-idle {settings.WaitIdleSeconds:0.#} s, config {config.Name}")));
        var csv = Path.Combine(outDir, "pipeline.csv");
        PipelineReport.WriteCsv(csv, result);
        AtomicFile.WriteAllText(Path.Combine(outDir, "pipeline.txt"), table);
        if (doc is not null)
        {
            var section = Section($"{BenchDoc.Pipeline}-{model.Architecture}");
            BenchDoc.Replace(doc, section, BenchDoc.Provenance(Array.Empty<string>(), doc, docCommit) + "```\n" + table.TrimEnd() + "\n```\n");
            Console.Error.WriteLine($"bench: updated the {section} section of {doc}");
        }
        Console.WriteLine(table);
        Console.WriteLine($"wrote {csv}");
        return 0;
    }

    private static int Soak(BenchCell cell, long images, BenchSettings settings, string outDir)
    {
        Console.Error.WriteLine($"soak: {images} images of {cell} ({settings.Threads} threads)");
        var lastPrinted = DateTime.UtcNow;
        var result = BenchSoak.Run(cell, images, settings, s =>
        {
            if (DateTime.UtcNow - lastPrinted < TimeSpan.FromSeconds(10)) return;
            lastPrinted = DateTime.UtcNow;
            Console.Error.WriteLine(FormattableString.Invariant($"soak: {s.Images} images, {s.Seconds:0}s, RSS {Mb(s.RssBytes)} MB"));
        });
        Directory.CreateDirectory(outDir);
        var csv = Path.Combine(outDir, "soak.csv");
        CsvTable.Write(csv, new[] { "images", "seconds", "rss_mb" },
            result.Samples.Select(s => (IReadOnlyList<string>)new[]
            {
                s.Images.ToString(CultureInfo.InvariantCulture), s.Seconds.ToString("0.###", CultureInfo.InvariantCulture), Mb(s.RssBytes),
            }));
        Console.WriteLine(FormattableString.Invariant(
            $"soak {cell}: {result.End.Images} images at {result.ImagesPerSecond:0.##} images/s (steady state)"));
        Console.WriteLine($"RSS at start of steady state (after {result.SteadyStart.Images} images): {Mb(result.SteadyStart.RssBytes)} MB; " +
                          $"at the end: {Mb(result.End.RssBytes)} MB; change {Mb(result.GrowthBytes)} MB; " +
                          $"steady-state range {Mb(result.SteadyMinBytes)}–{Mb(result.SteadyMaxBytes)} MB");
        Console.WriteLine($"wrote {csv}");
        return 0;
    }

    private static MemoryFormat? ParseMemoryFormat(string? value) => value switch
    {
        null => null,
        "channels-last" or "channels_last" => MemoryFormat.ChannelsLast,
        "contiguous" => MemoryFormat.Contiguous,
        _ => throw new CommandLineException($"--memory-format: unknown layout '{value}'. Known layouts: channels-last, contiguous"),
    };

    private static string Mb(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("0.0", CultureInfo.InvariantCulture);

    private static IEnumerable<string> MachineLines(BenchSettings settings)
    {
        yield return $"machine      {CpuModel()}, {Environment.ProcessorCount} cores, {Environment.OSVersion}";
        yield return $"mipin        .NET {Environment.Version}, libtorch {torch.version}, {torch.get_num_threads()} threads (--threads {settings.Threads}), " +
                     (HostMemory.KeepsFreedMemory ? "glibc keeps freed memory" : "glibc malloc defaults") +
                     $", GC conserve memory {AppContext.GetData("System.GC.ConserveMemory") ?? 0}, BLAS {BlasLibrary.Describe()}" +
                     $", {ConvolutionAlgorithm.Describe()}";
        var layout = settings.MemoryFormat is { } f ? FormatName(f) : "channels-last on cpu, contiguous on cuda";
        if (BlockedActivation.Enabled && settings.MemoryFormat is null or MemoryFormat.ChannelsLast)
            layout += $" (cpu {BlockedActivation.DescribePasses()}: residual blocks in oneDNN's blocked {BlockedActivation.LayoutName} layout)";
        yield return FormattableString.Invariant(
            $"settings     warmup {settings.Warmup}, iterations {settings.Iterations} (median), {RoundsText(settings.Rounds)}max {settings.MaxSeconds:0.#} s per cell and side, wait-idle {settings.WaitIdleSeconds:0.#} s, input {settings.ImageSize}×{settings.ImageSize}, seed {settings.Seed}");
        yield return $"layout       ours {layout}; pytorch tuned channels-last (channels-last + cudnn.benchmark on cuda), untuned contiguous (torchvision's default)";
    }

    private static string RoundsText(int rounds) =>
        rounds > 1 ? $"{rounds} rounds per cell (our side and the tuned baseline alternate; each reports its median round), " : "";

    private static string FormatName(MemoryFormat format) => format == MemoryFormat.ChannelsLast ? "channels-last" : "contiguous";

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
        }
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static string[] Split(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    internal static IReadOnlyList<string> ParseModels(string text)
    {
        var names = Split(text);
        if (names.Length == 0) throw new CommandLineException("--models: give at least one model");
        var valid = ModelZoo.Names.Where(n => GradCamMethod.KnownArchitectures.Contains(n)).ToList();
        foreach (var n in names)
            if (!valid.Contains(n, StringComparer.Ordinal))
                throw new CommandLineException($"--models: unknown model '{n}'. Valid models: {string.Join(", ", valid)}");
        return names.Distinct().ToList();
    }

    internal static IReadOnlyList<string> ParseMethods(string text)
    {
        var names = Split(text);
        if (names.Length == 0) throw new CommandLineException("--methods: give at least one method");
        foreach (var n in names)
            if (!BenchMethods.Names.Contains(n, StringComparer.Ordinal))
                throw new CommandLineException($"--methods: unknown method '{n}'. Valid methods: {string.Join(", ", BenchMethods.Names)}");
        return names.Distinct().ToList();
    }

    internal static IReadOnlyList<int> ParseBatchSizes(string text)
    {
        var sizes = new List<int>();
        foreach (var part in Split(text))
            sizes.Add(int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var b) && b >= 1
                ? b
                : throw new CommandLineException($"--batch-sizes: '{part}' is not a positive integer"));
        return sizes.Count > 0 ? sizes.Distinct().ToList() : throw new CommandLineException("--batch-sizes: give at least one batch size");
    }

    internal static (List<Device> Devices, List<string> Skipped) ParseDevices(string text)
    {
        var devices = new List<Device>();
        var skipped = new List<string>();
        var cudaCount = torch.cuda.is_available() ? torch.cuda.device_count() : 0;
        foreach (var part in Split(text))
        {
            Device d;
            try
            {
                d = Device.Parse(part);
            }
            catch (FormatException e)
            {
                throw new CommandLineException($"--devices: {e.Message}");
            }
            if (d.IsCuda && cudaCount == 0) skipped.Add($"{d}: not available in this libtorch/machine, cuda rows skipped");
            else if (d.IsCuda && d.Index >= cudaCount) skipped.Add($"{d}: only {cudaCount} CUDA device(s), skipped");
            else if (!devices.Contains(d)) devices.Add(d);
        }
        return (devices, skipped);
    }
}
