namespace Harness.Metrics;

/// <summary>
/// What every metric has: its config and leaderboard name. A metric is one of two kinds —
/// <see cref="ILocalizationMetric"/> (reads only a map and its image's boxes) or <see cref="IModelMetric"/> (may query
/// the model and the methods again) — and is registered once in <see cref="MetricRegistry"/>.
/// </summary>
public interface IMetric
{
    /// <summary>The config and leaderboard name, e.g. "pointing_game".</summary>
    string Name { get; }
}
