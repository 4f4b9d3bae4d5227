using System.Diagnostics;
using Harness.Models;
using Harness.Torch;

namespace Harness.Bench;

/// <summary>
/// Measures cells on our side: builds each model once (random weights from <see cref="ModelZoo.Create"/>, frozen,
/// moved to the cell's device) and keeps only the current one alive, then runs warm-up and timed iterations of the
/// cell's <see cref="BenchWorkload"/> and reads the peak resident memory of the process during the cell.
/// </summary>
public sealed class BenchRunner : IDisposable
{
    private readonly BenchSettings _settings;
    private (string Model, Device Device)? _key;
    private ClassifierModel? _model;

    public BenchRunner(BenchSettings settings)
    {
        settings.Validate();
        _settings = settings;
    }

    /// <summary>The model for a cell (built on first use; building another frees the previous one).</summary>
    public ClassifierModel ModelFor(string name, Device device)
    {
        if (_model is not null && _key == (name, device)) return _model;
        _model?.Dispose();
        _model = null;
        var model = ModelZoo.Create(name, 1000, _settings.Seed);
        model.requires_grad_(false);
        if (device != Device.CPU) model.to(device);
        model.UseMemoryFormat(_settings.MemoryFormat ?? ModelZoo.DefaultMemoryFormat(device));
        _key = (name, device);
        return _model = model;
    }

    public BenchMeasurement Measure(BenchCell cell)
    {
        var model = ModelFor(cell.Model, cell.Device);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        // Give back what earlier cells left in the C heap, so the peak below is this cell's own (the warm-up
        // iteration then grows the heap again before timing starts).
        var resettable = ProcessMemory.BeginOwnPeak();
        using var workload = new BenchWorkload(model, cell.Method, cell.BatchSize, cell.Device, _settings.Seed, _settings.ImageSize);
        for (var i = 0; i < _settings.Warmup; i++) workload.RunOnce();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        for (var i = 0; i < _settings.Iterations; i++)
        {
            var watch = Stopwatch.StartNew();
            workload.RunOnce();
            times.Add(watch.Elapsed.TotalSeconds);
            if (total.Elapsed.TotalSeconds > _settings.MaxSeconds) break;
        }
        var median = Median(times);
        return new BenchMeasurement(cell.BatchSize / median, median, times.Count, ProcessMemory.PeakResidentBytes(), !resettable);
    }

    internal static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        var n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    public void Dispose()
    {
        _model?.Dispose();
        _model = null;
    }
}
