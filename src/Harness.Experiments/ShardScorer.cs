using Harness.Attribution;
using Harness.Data;
using Harness.Data.Imaging;
using Harness.Metrics;
using Harness.Models;
using Harness.Torch;

namespace Harness.Experiments;

/// <summary>
/// Scores one shard of images for one model: every method's map for the true class (one shared gradient pass serves
/// gradient, Grad-CAM and gradient×input), the localization metrics on each map, and the model-querying metrics
/// (<see cref="IModelMetric"/>: class sensitivity, completeness, minimality) on each batch. Trainable methods get
/// their trained state from <paramref name="training"/> (null when no method is trainable). Unreadable images become
/// rows with a reason. Each stage's wall time adds up in <see cref="Stages"/> (read by <c>mipin bench --pipeline</c>).
/// </summary>
public sealed class ShardScorer(ExperimentSpec spec, ModelSpec modelSpec, ClassifierModel model, MethodTraining? training, Action<string>? log = null)
{
    private readonly List<(MethodSpec Spec, IAttributionMethod Method)> _methods =
        spec.Methods.Select(m => (m, AttributionMethods.Create(m.Name, model, m.Options, training))).ToList();

    // Localization metrics first, then model-querying ones, each in spec order (the order of skip reasons in a row).
    private readonly List<ILocalizationMetric> _localization =
        spec.Metrics.Where(n => !MetricRegistry.IsModelMetric(n)).Select(n => MetricRegistry.CreateLocalization(n, spec.OptionsOf(n))).ToList();

    private readonly List<IModelMetric> _modelMetrics =
        spec.Metrics.Where(MetricRegistry.IsModelMetric).Select(n => MetricRegistry.CreateModelMetric(n, spec.OptionsOf(n))).ToList();

    /// <summary>Wall time per stage of everything scored so far: decoding, resizing, each method's maps, each metric.</summary>
    public StageTimer Stages { get; } = new();

    public List<ImageRow> Score(IReadOnlyList<ImageRecord> shard, CancellationToken cancellation = default)
    {
        var rows = new List<ImageRow>();
        var batches = shard.Chunk(spec.BatchSize).ToList();
        // Bounded prefetch: the next batch's JPEGs are read and decoded on the thread pool while this one is scored,
        // never more than one batch ahead (so at most two batches of decoded images are held).
        Task<(ImageBatchLoader.DecodedBatch Decoded, List<DataIssue> Issues)>? next = batches.Count > 0 ? DecodeAhead(batches[0]) : null;
        try
        {
            for (var b = 0; b < batches.Count; b++)
            {
                cancellation.ThrowIfCancellationRequested();
                var records = batches[b];
                var (decoded, issues) = Stages.Time(StageNames.DecodeWait, () => next!.GetAwaiter().GetResult());
                next = b + 1 < batches.Count ? DecodeAhead(batches[b + 1]) : null;
                using var scope = torch.NewDisposeScope();
                var batch = Stages.Time(StageNames.Transform, () => ImageBatchLoader.ToBatch(decoded, modelSpec.Preprocess, model.parameters().First().device));
                foreach (var issue in issues)
                {
                    log?.Invoke($"skipped {issue.Id}: {issue.Reason}");
                    var record = records.First(r => r.Id == issue.Id);
                    foreach (var (m, _) in _methods)
                        rows.Add(ImageRow.Unscored(modelSpec.Id, m.Label, m.Layer, record.Id, record.ClassIndex, "image", issue.Reason));
                }
                if (batch.Records.Count > 0) rows.AddRange(ScoreBatch(batch));
            }
        }
        finally
        {
            // A batch decoded ahead of a failure is dropped; waiting for it keeps its exception observed.
            try { next?.Wait(); } catch (AggregateException) { }
        }
        // A stable order independent of batching: method order of the spec, then image id.
        var methodOrder = _methods.Select((m, i) => (m.Spec.Label, i)).ToDictionary(x => x.Label, x => x.i);
        return rows.OrderBy(r => methodOrder[r.Method]).ThenBy(r => r.ImageId, StringComparer.Ordinal).ToList();
    }

    private Task<(ImageBatchLoader.DecodedBatch, List<DataIssue>)> DecodeAhead(ImageRecord[] records) => Task.Run(() =>
    {
        var issues = new List<DataIssue>();
        return (Stages.Time(StageNames.Decode, () => ImageBatchLoader.Decode(records, issues)), issues);
    });

    private IEnumerable<ImageRow> ScoreBatch(ImageBatchLoader.Batch batch)
    {
        var size = modelSpec.Preprocess.CropSize;
        var labels = batch.Records.Select(r => (long)r.ClassIndex).ToArray();
        var transforms = batch.Decoded.Select(d => new ImageTransform(modelSpec.Preprocess, d.Width, d.Height)).ToArray();
        var methods = _methods.Select(m => m.Method).ToList();
        float[][][] truth;
        var modelResults = new List<MetricResult[]?[]>();
        using (var truthBatch = new AttributionBatch(model, batch.Images, labels, methods))
        {
            if (truthBatch.NeedsGradientPass) Stages.Time(StageNames.GradientPass, () => truthBatch.Gradients);
            truth = _methods.Select(m => Stages.Time(StageNames.Maps(m.Spec.Label), () => truthBatch.MapArray(m.Method))).ToArray();
            var queries = new ModelMetricBatch(model, batch.Records.Select(r => r.Id).ToList(), methods, truthBatch, truth, spec.Seed);
            foreach (var metric in _modelMetrics) modelResults.Add(Stages.Time(StageNames.Metric(metric.Name), () => metric.Compute(queries)));
        }

        // Localization metrics: every (method, image) map of the batch at once, spread over the cores (each map is
        // scored on its own, so the values do not depend on the order).
        var n = batch.Records.Count;
        var inputs = new LocalizationInput[_methods.Count * n];
        for (var m = 0; m < _methods.Count; m++)
            for (var i = 0; i < n; i++) inputs[m * n + i] = new LocalizationInput(truth[m][i], size, transforms[i], batch.Records[i].Boxes);
        var localization = _localization.Select(metric => Stages.Time(StageNames.Metric(metric.Name), () =>
        {
            var results = new MetricResult[inputs.Length];
            Parallel.For(0, inputs.Length, j => results[j] = metric.Compute(inputs[j]));
            return results;
        })).ToList();

        for (var m = 0; m < _methods.Count; m++)
        {
            var spec0 = _methods[m].Spec;
            for (var i = 0; i < n; i++)
            {
                var record = batch.Records[i];
                var values = new Dictionary<string, double?>(StringComparer.Ordinal);
                var skipped = new List<string>();
                for (var k = 0; k < _localization.Count; k++) Record(_localization[k].Name, localization[k][m * n + i]);
                var zeroMaps = 0;
                for (var k = 0; k < _modelMetrics.Count; k++)
                    if (modelResults[k][m] is { } perImage)
                    {
                        Record(_modelMetrics[k].Name, perImage[i]);
                        zeroMaps += perImage[i].ZeroMaps;
                    }
                yield return new ImageRow(modelSpec.Id, spec0.Label, spec0.Layer, record.Id, record.ClassIndex, values, string.Join("|", skipped), zeroMaps);

                void Record(string name, MetricResult result)
                {
                    values[name] = result.Value;
                    if (result.SkipReason is { } reason) skipped.Add($"{name}:{reason}");
                }
            }
        }
    }

    /// <summary>The names of <see cref="Stages"/>.</summary>
    public static class StageNames
    {
        /// <summary>Reading and decoding JPEGs, on a prefetch thread (overlaps the other stages from the second batch on).</summary>
        public const string Decode = "read+decode (prefetch thread)";
        /// <summary>Time the scoring thread waited for the decoded batch.</summary>
        public const string DecodeWait = "wait for decoded batch";
        public const string Transform = "resize+normalize";
        public const string GradientPass = "gradient pass (shared)";
        public const string WriteCsv = "write csv";
        public static string Maps(string method) => $"maps: {method}";
        public static string Metric(string metric) => $"metric: {metric}";
    }
}
