using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Harness.Bench;

/// <summary>
/// A PyTorch eager baseline (tuned or untuned, see <see cref="TryStart"/>) as a child process of this one: <c>python3 tools/reference/bench.py --serve</c>, driven
/// one cell at a time over JSON lines (stdin → request, stdout → result), so each of our cells and the same cell in
/// PyTorch run back to back in one process tree and never at the same time. The child measures its own images/s
/// and its own peak RSS (see the script).
/// </summary>
public sealed class PyTorchBaseline : IDisposable
{
    /// <summary>How to install what the baseline needs on Debian.</summary>
    public const string InstallHint = "apt-get install python3-torch python3-torchvision";

    private readonly Process _process;
    private readonly Queue<string> _stderrTail;

    private PyTorchBaseline(Process process, JsonObject hello, Queue<string> stderrTail)
    {
        _process = process;
        Hello = hello;
        _stderrTail = stderrTail;
    }

    /// <summary>The last lines the child wrote to stderr (warnings, tracebacks).</summary>
    public string StderrTail
    {
        get
        {
            lock (_stderrTail) return string.Join(Environment.NewLine, _stderrTail);
        }
    }

    /// <summary>The child's greeting: torch and torchvision versions, whether it sees CUDA, its pid.</summary>
    public JsonObject Hello { get; }

    public string TorchVersion => Hello["torch"]?.GetValue<string>() ?? "?";

    /// <summary>Whether this child runs the tuned workloads (see <see cref="TryStart"/>).</summary>
    public bool Tuned { get; private init; }

    public bool CudaAvailable => Hello["cuda"]?.GetValue<bool>() ?? false;

    /// <summary>
    /// Starts the baseline, or returns null with the reason (interpreter or script missing, torch not importable,
    /// with the install command) so the caller can go on with our side only.
    /// </summary>
    /// <param name="tuned">
    /// The tuned baseline: bench.py's tuned workloads (channels_last, conv+BN folded with torch.fx, Grad-CAM from the
    /// layer with no graph below it) in a child whose glibc keeps freed memory (MALLOC_MMAP_MAX_=0,
    /// MALLOC_TRIM_THRESHOLD_), as <see cref="Harness.Torch.HostMemory.KeepFreedMemory"/> does for our process.
    /// Otherwise the untuned baseline, as users run it: contiguous layout, hooks, glibc's defaults.
    /// </param>
    public static PyTorchBaseline? TryStart(string python, string script, out string? whyNot, bool tuned)
    {
        whyNot = null;
        if (!File.Exists(script))
        {
            whyNot = $"the baseline script {script} is missing";
            return null;
        }
        var info = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-u");
        info.ArgumentList.Add(script);
        info.ArgumentList.Add("--serve");
        if (tuned)
        {
            info.Environment["MALLOC_MMAP_MAX_"] = "0";
            info.Environment["MALLOC_TRIM_THRESHOLD_"] = int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("no process");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            whyNot = $"cannot start {python} ({e.Message}); install Debian's PyTorch with: {InstallHint}";
            return null;
        }
        var tail = new Queue<string>();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (tail)
            {
                tail.Enqueue(e.Data);
                while (tail.Count > 20) tail.Dequeue();
            }
        };
        process.BeginErrorReadLine();
        var first = process.StandardOutput.ReadLine();
        JsonObject? hello = null;
        try
        {
            if (first is not null) hello = JsonNode.Parse(first) as JsonObject;
        }
        catch (JsonException)
        {
        }
        if (hello is null || hello["ready"]?.GetValue<bool>() != true)
        {
            process.WaitForExit(5000);
            string text;
            lock (tail) text = string.Join(" | ", tail);
            Stop(process);
            whyNot = text.Contains("No module named 'torch", StringComparison.Ordinal) || text.Contains("No module named torch", StringComparison.Ordinal)
                ? $"{python} has no torch/torchvision; install Debian's PyTorch with: {InstallHint}"
                : $"the baseline did not start ({(text.Length > 0 ? text : first ?? "no output")}); it needs {InstallHint}";
            return null;
        }
        return new PyTorchBaseline(process, hello, tail) { Tuned = tuned };
    }

    /// <summary>
    /// FLOPs of one image's forward pass of <paramref name="model"/> (2 × multiply-accumulates of its convolutions and
    /// linear layers, counted by the child with forward hooks) and of the stages above the workloads' layer k.
    /// </summary>
    public (double Forward, double AboveLayer) ForwardFlops(string model, int imageSize)
    {
        var reply = Ask(new JsonObject { ["flops"] = true, ["model"] = model, ["image_size"] = imageSize });
        return (reply["forward_flops"]!.GetValue<double>(), reply["above_layer_flops"]!.GetValue<double>());
    }

    private JsonObject Ask(JsonObject request)
    {
        string? line;
        try
        {
            _process.StandardInput.WriteLine(request.ToJsonString());
            _process.StandardInput.Flush();
            line = _process.StandardOutput.ReadLine();
        }
        catch (IOException e)
        {
            throw new BaselineException($"the PyTorch baseline exited ({e.Message})");
        }
        if (line is null) throw new BaselineException($"the PyTorch baseline exited without answering: {StderrTail}");
        var reply = JsonNode.Parse(line) as JsonObject ?? throw new BaselineException($"unexpected baseline reply: {line}");
        if (reply["error"]?.GetValue<string>() is { } error) throw new BaselineException(error);
        return reply;
    }

    /// <summary>Runs one cell in the child; the error message of a cell that failed there comes back as an exception.</summary>
    public BenchMeasurement Measure(BenchCell cell, BenchSettings settings)
    {
        var request = new JsonObject
        {
            ["model"] = cell.Model,
            ["method"] = cell.Method,
            ["batch"] = cell.BatchSize,
            ["device"] = cell.Device.ToString(),
            ["warmup"] = settings.Warmup,
            ["iterations"] = settings.Iterations,
            ["max_seconds"] = settings.MaxSeconds,
            ["threads"] = settings.Threads,
            ["seed"] = settings.Seed,
            ["image_size"] = settings.ImageSize,
            ["tuned"] = Tuned,
        };
        var reply = Ask(request);
        long? Bytes(string key) => reply[key] is { } v ? (long)v.GetValue<double>() : null;
        return new BenchMeasurement(reply["images_per_s"]!.GetValue<double>(), reply["median_s"]!.GetValue<double>(),
            reply["iterations"]!.GetValue<int>(), Bytes("peak_rss_bytes"), reply["peak_since_start"]?.GetValue<bool>() ?? false,
            Bytes("peak_cuda_bytes"));
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.WriteLine();
                _process.StandardInput.Close();
                if (!_process.WaitForExit(10_000)) Stop(_process);
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
        }
        _process.Dispose();
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill();
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Finds tools/reference/bench.py above the working directory or the program's folder.</summary>
    public static string? FindScript()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var path = Path.Combine(dir.FullName, "tools", "reference", "bench.py");
                if (File.Exists(path)) return path;
            }
        return null;
    }
}

/// <summary>A cell the PyTorch baseline could not run (its message), or the baseline process ended.</summary>
public sealed class BaselineException(string message) : Exception(message);
