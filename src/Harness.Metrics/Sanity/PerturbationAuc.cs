using Harness.Attribution;
using Harness.Torch;

namespace Harness.Metrics.Sanity;

/// <summary>
/// The shared body of <see cref="DeletionAuc"/> and <see cref="InsertionAuc"/>: the area under each map's
/// <see cref="PerturbationCurve"/> for the image's true class. Options: <c>baseline</c> (blur or mean) and
/// <c>step</c> (pixels switched per step; the default 1,568 = 224²/32 gives 32 steps, 33 forward passes per image and
/// method; RISE uses 224). A map holding NaN skips the image as <see cref="MetricResult.NonFiniteMap"/>.
/// </summary>
public abstract class PerturbationAuc : IModelMetric
{
    /// <summary>Pixels per step by default: 32 steps on a 224×224 input.</summary>
    public const int DefaultStep = 1568;

    protected PerturbationAuc(PerturbationBaseline baseline, int step)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        Baseline = baseline;
        Step = step;
    }

    public abstract string Name { get; }

    /// <summary>What deleted pixels become, or what insertion starts from.</summary>
    public PerturbationBaseline Baseline { get; }

    /// <summary>Pixels switched per step.</summary>
    public int Step { get; }

    /// <summary>True for insertion (start from the baseline, add pixels), false for deletion.</summary>
    protected abstract bool Insertion { get; }

    public MetricResult[]?[] Compute(ModelMetricBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var images = batch.Truth.Images;
        using var baselines = PerturbationBaselines.Create(images, Baseline);
        var results = new MetricResult[]?[batch.Methods.Count];
        for (var m = 0; m < results.Length; m++)
        {
            var maps = batch.TruthMaps[m];
            var finite = Enumerable.Range(0, batch.Count).Where(i => maps[i].All(float.IsFinite)).ToArray();
            using var scope = torch.NewDisposeScope();
            using var index = torch.tensor(finite.Select(i => (long)i).ToArray(), images.device);
            var curves = finite.Length == 0 ? [] : PerturbationCurve.Compute(batch.Model, images.index_select(0, index),
                baselines.index_select(0, index), finite.Select(i => batch.Truth.Targets[i]).ToArray(),
                finite.Select(i => maps[i]).ToArray(), Step, Insertion);
            var row = Enumerable.Repeat(MetricResult.Skip(MetricResult.NonFiniteMap), batch.Count).ToArray();
            for (var k = 0; k < finite.Length; k++) row[finite[k]] = MetricResult.Score(PerturbationCurve.Auc(curves[k]));
            results[m] = row;
        }
        return results;
    }
}
