using Harness.Grains.Attribution;
using Harness.Grains.Attribution.MipIn;
using Harness.Grains.Data;
using Harness.Grains.Evaluation;
using Harness.Grains.Imaging;
using Harness.Grains.Metrics;
using Harness.Grains.Models;
using Harness.Torch;

namespace Harness.Grains.Experiments;

/// <summary>
/// Scores one shard of images for one model: every method's map for the true class (one shared gradient pass serves
/// gradient, Grad-CAM and gradient×input), the localization metrics on it, class sensitivity from maps for two
/// seeded random classes, and MIP-IN's completeness and minimality. Unreadable images become rows with a reason.
/// </summary>
public sealed class ShardScorer(ExperimentSpec spec, ModelSpec modelSpec, ClassifierModel model, IInverseProvider inverses, Action<string>? log = null)
{
    private readonly List<(MethodSpec Spec, IAttributionMethod Method)> _methods =
        spec.Methods.Select(m => (m, AttributionMethods.Create(m.Name, model, m.Options, inverses))).ToList();

    private readonly List<ILocalizationMetric> _localization =
        spec.Metrics.Where(LocalizationMetrics.Names.Contains).Select(n => LocalizationMetrics.Create(n, null)).ToList();

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
                    rows.Add(new ImageRow(modelSpec.Id, m.Label, m.Layer, record.Id, record.ClassIndex,
                        new Dictionary<string, double?>(), $"image:{Sanitize(issue.Reason)}", 0));
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
        var truth = Explain(batch.Images, labels, methods, out var truthBatch);
        float[][][]? first = null, second = null;
        if (spec.Metrics.Contains("class_sensitivity"))
        {
            var pairs = batch.Records.Select(r => ClassSensitivity.DrawClasses(spec.Seed, r.Id, model.NumClasses)).ToArray();
            first = Explain(batch.Images, pairs.Select(p => (long)p.Item1).ToArray(), methods, out var b1);
            b1.Dispose();
            second = Explain(batch.Images, pairs.Select(p => (long)p.Item2).ToArray(), methods, out var b2);
            b2.Dispose();
        }
        var diagnostics = new Dictionary<int, MipInDiagnostics.Result>();
        if (spec.Metrics.Contains("completeness") || spec.Metrics.Contains("minimality"))
            for (var m = 0; m < _methods.Count; m++)
                if (_methods[m].Method is MipInMethod mip)
                    diagnostics[m] = MipInDiagnostics.Compute(mip, truthBatch);
        truthBatch.Dispose();

        for (var m = 0; m < _methods.Count; m++)
        {
            var spec0 = _methods[m].Spec;
            for (var i = 0; i < batch.Records.Count; i++)
            {
                var record = batch.Records[i];
                var values = new Dictionary<string, double?>(StringComparer.Ordinal);
                var skipped = new List<string>();
                var input = new LocalizationInput(truth[m][i], size, transforms[i], record.Boxes);
                foreach (var metric in _localization)
                {
                    var result = metric.Compute(input);
                    values[metric.Name] = result.Value;
                    if (result.SkipReason is { } reason) skipped.Add($"{metric.Name}:{reason}");
                }
                var zeroMaps = 0;
                if (first is not null && second is not null)
                {
                    var distance = ClassSensitivity.Distance(first[m][i], second[m][i]);
                    values["class_sensitivity"] = double.IsFinite(distance) ? distance : null;
                    if (!double.IsFinite(distance)) skipped.Add("class_sensitivity:non_finite_map");
                    zeroMaps = (ClassSensitivity.IsZero(first[m][i]) ? 1 : 0) + (ClassSensitivity.IsZero(second[m][i]) ? 1 : 0);
                }
                if (diagnostics.TryGetValue(m, out var d))
                {
                    values["completeness"] = Math.Abs(d.FromSource[i] - d.Original[i]) / Math.Max(Math.Abs(d.Original[i]), 1e-12);
                    values["minimality"] = d.FromDistractor[i] / (Math.Abs(d.Original[i]) > 1e-12 ? d.Original[i] : 1e-12);
                }
                yield return new ImageRow(modelSpec.Id, spec0.Label, spec0.Layer, record.Id, record.ClassIndex, values, string.Join("|", skipped), zeroMaps);
            }
        }
    }

    // Maps of every method for the given targets, as [method][image] float arrays (input frame, row-major).
    private float[][][] Explain(Tensor images, long[] targets, List<IAttributionMethod> methods, out AttributionBatch work)
    {
        work = new AttributionBatch(model, images, targets, methods);
        var result = new float[methods.Count][][];
        for (var m = 0; m < methods.Count; m++)
        {
            using var scope = torch.NewDisposeScope();
            var maps = methods[m].Explain(work).cpu();
            result[m] = Enumerable.Range(0, targets.Length).Select(i => maps[i].contiguous().ToArray<float>()).ToArray();
        }
        return result;
    }

    private static string Sanitize(string reason) => reason.Replace('|', '/').Replace('\n', ' ');
}
