using System.Diagnostics;
using Harness.Models;
using Harness.Torch;

namespace Harness.Bench;

/// <summary>
/// The memory soak: N images through one workload, batch after batch, sampling this process's RSS after every
/// batch. Steady state starts after the first 10% of the images (at least 3 batches): allocator pools and kernel
/// caches have filled by then. Memory is flat when the RSS at the end of steady state is within a small margin of
/// the RSS at its start.
/// </summary>
public static class BenchSoak
{
    public sealed record Sample(long Images, double Seconds, long RssBytes);

    public sealed record Result(BenchCell Cell, IReadOnlyList<Sample> Samples, int SteadyStartIndex)
    {
        public Sample SteadyStart => Samples[SteadyStartIndex];
        public Sample End => Samples[^1];
        public long SteadyMaxBytes => Samples.Skip(SteadyStartIndex).Max(s => s.RssBytes);
        public long SteadyMinBytes => Samples.Skip(SteadyStartIndex).Min(s => s.RssBytes);
        public long GrowthBytes => End.RssBytes - SteadyStart.RssBytes;
        public double ImagesPerSecond => (End.Images - SteadyStart.Images) / Math.Max(End.Seconds - SteadyStart.Seconds, 1e-9);
    }

    public static Result Run(BenchCell cell, long images, BenchSettings settings, Action<Sample>? progress = null)
    {
        if (images < cell.BatchSize) throw new ArgumentException($"a soak needs at least one batch ({cell.BatchSize} images), got {images}");
        using var runner = new BenchRunner(settings);
        ClassifierModel model = runner.ModelFor(cell.Model, cell.Device);
        using var workload = new BenchWorkload(model, cell.Method, cell.BatchSize, cell.Device, settings.Seed, settings.ImageSize);
        var batches = (int)(images / cell.BatchSize);
        var steadyStart = Math.Min(batches - 1, Math.Max(3, batches / 10));
        var samples = new List<Sample>();
        var watch = Stopwatch.StartNew();
        for (var b = 0; b < batches; b++)
        {
            workload.RunOnce();
            var sample = new Sample((long)(b + 1) * cell.BatchSize, watch.Elapsed.TotalSeconds, ProcessMemory.ResidentBytes());
            samples.Add(sample);
            progress?.Invoke(sample);
        }
        return new Result(cell, samples, Math.Max(0, steadyStart - 1));
    }
}
