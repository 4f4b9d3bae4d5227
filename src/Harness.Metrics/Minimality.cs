using Harness.Attribution;

namespace Harness.Metrics;

/// <summary>
/// <c>minimality</c> (the MIP-IN paper's property; docs/metrics-spec.md): the target logit when only the distractor
/// X_k − S_k is pushed forward from the method's layer, as a fraction of the original,
/// <code>y_c(X_k − S_k) / y_c</code>   (y_c replaced by 1e-12 when |y_c| ≤ 1e-12)
/// 0 = the distractor alone carries nothing of the class. Closer to 0 is better. Applies to methods that split an
/// activation into source and distractor (<see cref="ISourceSignalMethod"/>, e.g. MIP-IN).
/// </summary>
public sealed class Minimality : IModelMetric
{
    public const string MetricName = "minimality";

    public string Name => MetricName;

    public bool AppliesTo(Type methodType) => typeof(ISourceSignalMethod).IsAssignableFrom(methodType);

    public MetricResult[]?[] Compute(ModelMetricBatch batch) =>
        SourceSignalScores.PerMethod(batch, d => Enumerable.Range(0, d.Original.Length)
            .Select(i => MetricResult.Score(d.FromDistractor[i] / (Math.Abs(d.Original[i]) > 1e-12 ? d.Original[i] : 1e-12))).ToArray());
}
