using System.Globalization;
using Harness.Data;

namespace Harness.Bench;

/// <summary>
/// bench.csv: one row per cell. Numbers are invariant-culture; a side that did not run leaves its fields empty.
/// Columns (docs/bench.md): model, method, batch, device, threads, mipin_images_per_s, pytorch_images_per_s (tuned),
/// ratio (against tuned), pytorch_untuned_images_per_s, ratio_untuned, mipin_peak_rss_mb, pytorch_peak_rss_mb,
/// pytorch_untuned_peak_rss_mb, mipin_median_s, pytorch_median_s, mipin_iterations, pytorch_iterations,
/// pytorch_peak_cuda_mb, mipin_cpu_idle_before, pytorch_cpu_idle_before, note.
/// </summary>
public static class BenchCsv
{
    public static IReadOnlyList<string> Header { get; } = new[]
    {
        "model", "method", "batch", "device", "threads", "mipin_images_per_s", "pytorch_images_per_s", "ratio",
        "pytorch_untuned_images_per_s", "ratio_untuned", "mipin_peak_rss_mb", "pytorch_peak_rss_mb", "pytorch_untuned_peak_rss_mb", "mipin_median_s", "pytorch_median_s", "mipin_iterations",
        "pytorch_iterations", "pytorch_peak_cuda_mb", "mipin_cpu_idle_before", "pytorch_cpu_idle_before", "note",
    };

    public static void Write(string path, IEnumerable<BenchRow> rows) => CsvTable.Write(path, Header, rows.Select(Fields));

    private static IReadOnlyList<string> Fields(BenchRow r) => new[]
    {
        r.Cell.Model, r.Cell.Method, Int(r.Cell.BatchSize), r.Cell.Device.ToString(), Int(r.Threads),
        Num(r.MipIn?.ImagesPerSecond), Num(r.PyTorch?.ImagesPerSecond), Num(r.Ratio),
        Num(r.PyTorchUntuned?.ImagesPerSecond), Num(r.RatioUntuned),
        Mb(r.MipIn?.PeakRssBytes), Mb(r.PyTorch?.PeakRssBytes), Mb(r.PyTorchUntuned?.PeakRssBytes), Num(r.MipIn?.MedianSeconds), Num(r.PyTorch?.MedianSeconds),
        r.MipIn is { } m ? Int(m.Iterations) : "", r.PyTorch is { } p ? Int(p.Iterations) : "", Mb(r.PyTorch?.PeakCudaBytes),
        Num(r.IdleBefore.MipIn), Num(r.IdleBefore.PyTorch), r.Note,
    };

    private static string Int(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Num(double? v) => v is { } d ? d.ToString("0.####", CultureInfo.InvariantCulture) : "";

    internal static string Mb(long? bytes) => bytes is { } b ? (b / (1024.0 * 1024.0)).ToString("0.#", CultureInfo.InvariantCulture) : "";
}
