using System.Diagnostics;
using Harness.Attribution;
using Harness.Data;
using Harness.Experiments;
using Harness.Metrics;
using Harness.Models;
using Harness.Torch;

namespace Harness.Bench;

/// <summary>
/// <c>mipin bench --pipeline CONFIG</c>: scores one shard of an experiment exactly as a score grain does
/// (<see cref="ShardScorer"/>, then the shard CSV) and times it stage by stage, beside the <b>compute bound</b>: the
/// model passes the shard's methods and metrics need, each timed alone in the same process on the shard's own
/// preprocessed images, right after each timed run (so a drift of the machine's speed moves both alike). Efficiency =
/// bound / end-to-end: 100% would mean decoding, resizing, copying maps, the CPU side of the metrics and the CSV cost
/// nothing and no model pass is repeated.
/// </summary>
public static class PipelineBench
{
    /// <summary>One model pass of the bound: how many the shard needs and the median seconds of one (whole shard) over the timed runs.</summary>
    public sealed record Pass(string Name, int Count, double Seconds)
    {
        public double TotalSeconds => Count * Seconds;
    }

    /// <summary>
    /// What one pipeline measurement found: the stage seconds and end-to-end time of the median timed run (per shard),
    /// each run's own peak RSS (warm-ups included), in run order, of which the first <paramref name="GrainLikeRuns"/>
    /// ran as grains do, one after another (the later ones each followed a bound measurement), and each timed run's
    /// efficiency against the bound timed right after it.
    /// </summary>
    public sealed record Result(
        string Experiment, string Model, int Shard, int Images, int Batches, Device Device, int Threads, int Runs,
        IReadOnlyList<(string Stage, double Seconds, int Calls)> Stages, double EndToEndSeconds, IReadOnlyList<Pass> Bound,
        IReadOnlyList<long> RunPeakRssBytes, int GrainLikeRuns, bool PeakIsSinceStart, int Unscored, IReadOnlyList<double> RunEfficiencies)
    {
        /// <summary>
        /// The highest peak of the runs no bound measurement preceded (the warm-ups and the first timed run): a shard's
        /// peak RSS as a silo's grain has it. A bound measurement between runs leaves the heap as no grain does (its
        /// passes over whole batches; ResNet-50's runs after one peaked up to 250 MB higher). Null when unknown.
        /// </summary>
        public long? PeakRssBytes => RunPeakRssBytes.Count > 0 ? RunPeakRssBytes.Take(GrainLikeRuns).Max() : null;

        public double ImagesPerSecond => Images / EndToEndSeconds;
        public double BoundSeconds => Bound.Sum(p => p.TotalSeconds);
        public double BoundImagesPerSecond => Images / BoundSeconds;

        /// <summary>
        /// The share of the compute bound the pipeline reaches: the median over the timed runs of each run's bound
        /// seconds / end-to-end seconds, the bound timed right after the run (<see cref="RunEfficiencies"/>). Not
        /// <see cref="BoundSeconds"/> / <see cref="EndToEndSeconds"/>: those are medians of different runs.
        /// </summary>
        public double Efficiency => Median(RunEfficiencies);
    }

    /// <summary>
    /// Scores shard <paramref name="shard"/> of <paramref name="modelSpec"/> warm-up + timed times and measures the
    /// bound. Trained state (MIP-IN's inverses) comes from the experiment's results folder, or is trained first (not
    /// timed). The shard CSV goes to <paramref name="outputDir"/>, not to the run's results.
    /// </summary>
    public static Result Run(ExperimentSpec spec, ModelSpec modelSpec, int shard, Device device, BenchSettings settings, string outputDir,
        Action<string> progress)
    {
        settings.Validate();
        var plan = new ExperimentPlan(spec);
        if (shard < 0 || shard >= plan.Data.Shards.Count)
            throw new ArgumentOutOfRangeException(nameof(shard), shard, $"the experiment has shards 0 to {plan.Data.Shards.Count - 1}");
        var records = plan.Data.Shards[shard];
        using var model = ModelZoo.Load(modelSpec.Architecture, modelSpec.Weights, modelSpec.NumClasses, device, modelSpec.MemoryFormat);
        using var training = plan.TrainingFor(modelSpec, device, progress);
        Directory.CreateDirectory(outputDir);
        var csv = Path.Combine(outputDir, "pipeline-shard.csv");

        // Loading or training the inverses happens in the first run; the peak is measured from the warm-up on. Each run's
        // peak is its own, as a silo's grain's is (GrainRunner): the heap's freed memory is handed back before each run.
        // Measured across runs without that, the peak crept up run after run (ResNet-50: 1.35 GB in the first run, up to
        // 1.5-1.6 GB by the fifth), as freed blocks of one stage's sizes did not fit the next stage's requests.
        GC.Collect();
        var resettable = true;
        var peaks = new List<long>();
        var runs = new List<(double Seconds, IReadOnlyList<(string Stage, double Seconds, int Calls)> Stages)>();
        var boundRuns = new List<IReadOnlyList<Pass>>();
        var grainLikeRuns = 0;
        var unscored = 0;
        for (var i = 0; i < Math.Max(1, settings.Warmup) + settings.Iterations; i++)
        {
            var timed = i >= Math.Max(1, settings.Warmup);
            WaitIdle(settings, progress);
            resettable &= ProcessMemory.BeginOwnPeak();
            var scorer = new ShardScorer(spec, modelSpec, model, training);
            var watch = Stopwatch.StartNew();
            var rows = scorer.Score(records);
            scorer.Stages.Time(ShardScorer.StageNames.WriteCsv, () => ImageRow.Write(csv, spec.Metrics, rows));
            var seconds = watch.Elapsed.TotalSeconds;
            unscored = ImageRow.UnreadableImages(rows);
            peaks.Add(ProcessMemory.PeakResidentBytes());
            progress($"pipeline: {(timed ? "timed" : "warm-up")} run {i + 1}: {records.Count} images in {seconds:0.00} s");
            if (!timed) continue;
            runs.Add((seconds, scorer.Stages.Totals));
            if (boundRuns.Count == 0) grainLikeRuns = peaks.Count;  // the runs before the first bound measurement
            // The bound right after the run it is set against: timed apart (one after the other, minutes apart), the
            // two met different stretches of a shared VM's speed, and the efficiency of one shard swung from 59% to 96%.
            boundRuns.Add(TimeBoundOnce(spec, modelSpec, model, training, records, device));
            progress($"pipeline: bound after run {i + 1}: {boundRuns[^1].Sum(p => p.TotalSeconds):0.00} s");
            // The bound's garbage (its maps: managed arrays) is not the next run's (its peak is listed, not counted:
            // Result.PeakRssBytes).
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }

        var bound = boundRuns[0].Select((p, k) => p with { Seconds = Median(boundRuns.Select(r => r[k].Seconds)) }).ToList();
        var efficiencies = runs.Select((r, k) => boundRuns[k].Sum(p => p.TotalSeconds) / r.Seconds).ToList();
        // The stages of one run, the median one (the lower of the two middle runs for an even count): medians taken
        // stage by stage need not add up to the median end to end, and "between stages" went negative.
        var median = runs.OrderBy(r => r.Seconds).ElementAt((runs.Count - 1) / 2);
        var stages = median.Stages.Select(s => (s.Stage, s.Seconds, s.Calls)).ToList();
        var batches = (records.Count + spec.BatchSize - 1) / spec.BatchSize;
        return new Result(spec.Name, modelSpec.Id, shard, records.Count, batches, device, torch.get_num_threads(), runs.Count, stages,
            median.Seconds, bound, peaks, grainLikeRuns, !resettable, unscored, efficiencies);
    }

    /// <summary>
    /// The model passes the shard needs, each timed once alone on the shard's preprocessed batches (the pipeline run
    /// before has warmed every kernel): one explanation of every method for the true classes (the shared
    /// forward+backward and each method's own passes), two more for class_sensitivity's two drawn classes, and for
    /// completeness/minimality two forwards from the signal layer per source-signal method (source and distractor; the
    /// source itself comes with the explanation). Loading the batches is not timed.
    /// </summary>
    private static List<Pass> TimeBoundOnce(ExperimentSpec spec, ModelSpec modelSpec, ClassifierModel model, MethodTraining training,
        IReadOnlyList<ImageRecord> records, Device device)
    {
        var methods = spec.Methods.Select(m => AttributionMethods.Create(m.Name, model, m.Options, training)).ToList();
        var batches = new List<(Tensor Images, long[] Labels)>();
        try
        {
            foreach (var chunk in records.Chunk(spec.BatchSize))
            {
                var loaded = ImageBatchLoader.Load(chunk, modelSpec.Preprocess, device, new List<DataIssue>());
                if (loaded.Records.Count > 0)
                    batches.Add((loaded.Images.DetachFromDisposeScope(), loaded.Records.Select(r => (long)r.ClassIndex).ToArray()));
                else loaded.Images.Dispose();
            }
            var passes = new List<Pass>();
            var explanations = 1 + (spec.Metrics.Contains(ClassSensitivity.MetricName) ? 2 : 0);
            passes.Add(new Pass("explain: every method, one target per image", explanations, Time(() =>
            {
                foreach (var (images, labels) in batches)
                {
                    using var scope = torch.NewDisposeScope();
                    using var batch = new AttributionBatch(model, images, labels, methods);
                    foreach (var method in methods) method.Explain(batch);
                }
            })));
            var sourceMethods = methods.OfType<ISourceSignalMethod>().ToList();
            if (sourceMethods.Count > 0 && (spec.Metrics.Contains(Completeness.MetricName) || spec.Metrics.Contains(Minimality.MetricName)))
            {
                foreach (var method in sourceMethods.DistinctBy(m => m.SignalStage))
                {
                    var activations = new List<Tensor>();
                    try
                    {
                        foreach (var b in batches)
                        {
                            using var noGrad = torch.no_grad();
                            activations.Add(model.ForwardTo(b.Images, method.SignalStage).DetachFromDisposeScope());
                        }
                        passes.Add(new Pass($"forward from {method.SignalStage}", 2 * sourceMethods.Count(m => m.SignalStage == method.SignalStage), Time(() =>
                        {
                            using var scope = torch.NewDisposeScope();
                            using var noGrad = torch.no_grad();
                            foreach (var a in activations) model.ForwardFrom(a, method.SignalStage);
                        })));
                    }
                    finally
                    {
                        foreach (var a in activations) a.Dispose();
                    }
                }
            }
            return passes;
        }
        finally
        {
            foreach (var (images, _) in batches) images.Dispose();
        }

        double Time(Action pass)
        {
            // Each pass is timed once: the batches' uploads still queued on a GPU are not its time.
            if (device.IsCuda) torch.cuda.synchronize(device.Index < 0 ? 0 : device.Index);
            var watch = Stopwatch.StartNew();
            pass();
            if (device.IsCuda) torch.cuda.synchronize(device.Index < 0 ? 0 : device.Index);
            return watch.Elapsed.TotalSeconds;
        }
    }

    private static void WaitIdle(BenchSettings settings, Action<string> progress)
    {
        if (BenchSuite.WaitIdle(settings) is { } idle && idle < BenchSuite.IdleThreshold(settings))
            progress($"pipeline: the machine stayed busy ({(1 - idle) * 100:0}% used); timing anyway");
    }

    private static double Median(IEnumerable<double> values) => BenchRunner.Median(values.ToList());
}
