using Harness.Attribution;

namespace Harness.Metrics;

/// <summary>
/// <c>completeness</c> (the MIP-IN paper's property; docs/metrics-spec.md): the relative error of the target logit
/// when only the method's source signal S_k is pushed forward from its layer,
/// <code>|y_c(S_k) − y_c| / max(|y_c|, 1e-12)</code>
/// 0 = the source signal alone reproduces the output. Lower is better. Applies to methods that split an activation
/// into source and distractor (<see cref="ISourceSignalMethod"/>, e.g. MIP-IN).
/// </summary>
public sealed class Completeness : IModelMetric
{
    public const string MetricName = "completeness";

    public string Name => MetricName;

    public bool AppliesTo(Type methodType) => typeof(ISourceSignalMethod).IsAssignableFrom(methodType);

    public MetricResult[]?[] Compute(ModelMetricBatch batch) =>
        SourceSignalScores.PerMethod(batch, d => Enumerable.Range(0, d.Original.Length)
            .Select(i => MetricResult.Score(Math.Abs(d.FromSource[i] - d.Original[i]) / Math.Max(Math.Abs(d.Original[i]), 1e-12))).ToArray());
}
