namespace Harness.Metrics;

/// <summary>
/// A metric that scores one saliency map against the ground-truth boxes of its image (docs/metrics-spec.md §1–4).
/// Implementations are immutable, thread-safe and exactly reproducible: they work on the map's float values in C#
/// doubles, in a fixed order, without libtorch. Build them by name with <see cref="MetricRegistry.CreateLocalization"/>.
/// </summary>
public interface ILocalizationMetric : IMetric
{
    /// <summary>The score of <paramref name="input"/>'s map, or a skip with its reason.</summary>
    MetricResult Compute(LocalizationInput input);
}
