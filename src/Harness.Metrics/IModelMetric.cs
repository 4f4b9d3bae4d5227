namespace Harness.Metrics;

/// <summary>
/// A metric that may query the model: it explains other classes (class sensitivity), pushes signals forward
/// (completeness, minimality), perturbs inputs or weights. It scores a whole batch at once, so work shared by every
/// method (one gradient pass for all of them) is done once. Build them by name with
/// <see cref="MetricRegistry.CreateModelMetric"/>.
/// </summary>
public interface IModelMetric : IMetric
{
    /// <summary>
    /// Whether the metric has a value for methods of class <paramref name="methodType"/> (completeness needs an
    /// <see cref="Attribution.ISourceSignalMethod"/>). Methods it does not apply to get no value and no leaderboard row.
    /// </summary>
    bool AppliesTo(Type methodType) => true;

    /// <summary>
    /// The score of every method on every image of <paramref name="batch"/>, as [method][image] in the order of
    /// <see cref="ModelMetricBatch.Methods"/> and <see cref="ModelMetricBatch.ImageIds"/>; null for a method the
    /// metric does not apply to.
    /// </summary>
    MetricResult[]?[] Compute(ModelMetricBatch batch);
}
