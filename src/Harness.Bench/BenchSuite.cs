using Harness.Torch;

namespace Harness.Bench;

/// <summary>
/// Runs the cells of a benchmark table in a fixed order (model, device, method, batch size) so each model is built
/// once per side, and interleaves the sides per cell: our measurement, then the same cell in the tuned PyTorch child
/// (that pair <see cref="BenchSettings.Rounds"/> times, each side's median round reported), then in the untuned one.
/// A cell that fails on one side (e.g. out of memory) is reported in its note and the run goes on.
/// </summary>
public static class BenchSuite
{
    /// <summary>The cells for the given lists, in run order; devices that are not available are left out.</summary>
    public static IReadOnlyList<BenchCell> Plan(IEnumerable<string> models, IEnumerable<string> methods, IEnumerable<int> batchSizes,
        IEnumerable<Device> devices) =>
        (from model in models
         from device in devices
         from method in methods
         from batch in batchSizes
         select new BenchCell(model, method, batch, device)).ToList();

    /// <summary>
    /// How idle the machine must be before a side runs with --wait-idle: 90% of the cores the cell's threads use
    /// (all of them at the default thread count, half of a 2-core machine with --threads 1).
    /// </summary>
    public static double IdleThreshold(BenchSettings settings) =>
        0.9 * Math.Min(1.0, (double)settings.Threads / Environment.ProcessorCount);

    /// <summary>
    /// With --wait-idle, waits until the cores are <see cref="IdleThreshold"/> idle (at most the configured seconds) and
    /// returns the idleness seen last; null without --wait-idle or where /proc/stat is unreadable.
    /// </summary>
    public static double? WaitIdle(BenchSettings settings) =>
        settings.WaitIdleSeconds > 0 ? CpuIdle.WaitUntilIdle(IdleThreshold(settings), TimeSpan.FromSeconds(settings.WaitIdleSeconds)) : null;

    // The lower of two idleness readings (the worst moment before a side ran), either possibly missing.
    private static double? Lowest(double? a, double? b) => a is { } x && b is { } y ? Math.Min(x, y) : a ?? b;

    /// <param name="tuned">The headline baseline (null: none).</param>
    /// <param name="untuned">The as-users-run-it baseline (null: none).</param>
    public static IReadOnlyList<BenchRow> Run(IReadOnlyList<BenchCell> cells, BenchSettings settings, PyTorchBaseline? tuned,
        PyTorchBaseline? untuned = null, Action<int, BenchRow>? progress = null)
    {
        var rows = new List<BenchRow>();
        using var runner = new BenchRunner(settings);
        for (var i = 0; i < cells.Count; i++)
        {
            var cell = cells[i];
            var notes = new List<string>();
            double? idleOurs = null, idleTheirs = null;
            BenchMeasurement? Ours()
            {
                try
                {
                    idleOurs = Lowest(idleOurs, WaitIdle(settings));
                    return runner.Measure(cell);
                }
                catch (TorchException e)
                {
                    notes.Add($"mipin failed: {e.Message}");
                    return null;
                }
            }
            BenchMeasurement? Baseline(PyTorchBaseline? baseline, string which)
            {
                if (baseline is null) return null;
                if (!BenchMethods.BaselineModels.Contains(cell.Model, StringComparer.Ordinal))
                {
                    notes.Add($"no PyTorch baseline for {cell.Model} (bench.py mirrors {string.Join(", ", BenchMethods.BaselineModels)})");
                    return null;
                }
                if (cell.Device.IsCuda && !baseline.CudaAvailable)
                {
                    notes.Add("PyTorch sees no CUDA device");
                    return null;
                }
                try
                {
                    idleTheirs = Lowest(idleTheirs, WaitIdle(settings));
                    return baseline.Measure(cell, settings);
                }
                catch (BaselineException e)
                {
                    notes.Add($"pytorch ({which}) failed: {e.Message}");
                    return null;
                }
            }
            // Rounds alternate the two headline sides; a side that failed once is not asked again.
            var oursRounds = new List<BenchMeasurement>();
            var theirsRounds = new List<BenchMeasurement>();
            bool oursFailed = false, theirsFailed = false;
            for (var round = 0; round < settings.Rounds && !(oursFailed && theirsFailed); round++)
            {
                if (!oursFailed)
                {
                    if (Ours() is { } m) oursRounds.Add(m);
                    else oursFailed = true;
                }
                if (!theirsFailed)
                {
                    if (Baseline(tuned, "tuned") is { } t) theirsRounds.Add(t);
                    else theirsFailed = true;
                }
            }
            var ours = BenchMeasurement.MedianOf(oursRounds);
            var theirs = BenchMeasurement.MedianOf(theirsRounds);
            if (settings.Rounds > 1 && oursRounds.Count == settings.Rounds && theirsRounds.Count == settings.Rounds)
                notes.Add("ratio per round " + string.Join(" / ", oursRounds.Zip(theirsRounds,
                    (m, t) => (m.ImagesPerSecond / t.ImagesPerSecond).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture))));
            var theirsUntuned = cell.Device.IsCuda ? null : Baseline(untuned, "untuned"); // on CUDA bench.py has one (tuned) setting
            if (ours?.PeakIsSinceStart == true || theirs?.PeakIsSinceStart == true) notes.Add("peak memory since process start");
            if (idleOurs < IdleThreshold(settings) || idleTheirs < IdleThreshold(settings))
                notes.Add("machine was busy before this cell (see the cpu_idle columns)");
            var row = new BenchRow(cell, settings.Threads, ours, theirs, string.Join("; ", notes.Distinct()))
                { IdleBefore = (idleOurs, idleTheirs), PyTorchUntuned = theirsUntuned };
            rows.Add(row);
            progress?.Invoke(i, row);
        }
        return rows;
    }
}
