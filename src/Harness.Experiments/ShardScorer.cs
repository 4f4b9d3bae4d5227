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
/// rows with a reason.
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

    public List<ImageRow> Score(IReadOnlyList<ImageRecord> shard, CancellationToken cancellation = default)
    {
        var rows = new List<ImageRow>();
        for (var start = 0; start < shard.Count; start += spec.BatchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            var records = shard.Skip(start).Take(spec.BatchSize).ToList();
            using var scope = torch.NewDisposeScope();
            var issues = new List<DataIssue>();
            var batch = ImageBatchLoader.Load(records, modelSpec.Preprocess, model.parameters().First().device, issues);
            foreach (var issue in issues)
            {
                log?.Invoke($"skipped {issue.Id}: {issue.Reason}");
                var record = records.First(r => r.Id == issue.Id);
                foreach (var (m, _) in _methods)
                    rows.Add(ImageRow.Unscored(modelSpec.Id, m.Label, m.Layer, record.Id, record.ClassIndex, "image", issue.Reason));
            }
            if (batch.Records.Count > 0) rows.AddRange(ScoreBatch(batch));
        }
        // A stable order independent of batching: method order of the spec, then image id.
        var methodOrder = _methods.Select((m, i) => (m.Spec.Label, i)).ToDictionary(x => x.Label, x => x.i);
        return rows.OrderBy(r => methodOrder[r.Method]).ThenBy(r => r.ImageId, StringComparer.Ordinal).ToList();
    }

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
            truth = truthBatch.MapArrays(methods);
            var queries = new ModelMetricBatch(model, batch.Records.Select(r => r.Id).ToList(), methods, truthBatch, truth, spec.Seed);
            foreach (var metric in _modelMetrics) modelResults.Add(metric.Compute(queries));
        }

        for (var m = 0; m < _methods.Count; m++)
        {
            var spec0 = _methods[m].Spec;
            for (var i = 0; i < batch.Records.Count; i++)
            {
                var record = batch.Records[i];
                var values = new Dictionary<string, double?>(StringComparer.Ordinal);
                var skipped = new List<string>();
                var input = new LocalizationInput(truth[m][i], size, transforms[i], record.Boxes);
                foreach (var metric in _localization) Record(metric.Name, metric.Compute(input));
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
}
