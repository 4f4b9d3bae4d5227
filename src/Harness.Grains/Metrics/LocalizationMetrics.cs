using Harness.Grains.Attribution;

namespace Harness.Grains.Metrics;

/// <summary>
/// The registry of localization metrics by config name (docs/metrics-spec.md §1–4). <see cref="Create"/> builds a
/// metric from string options; unknown names and options fail with the valid choices listed. Options (defaults):
/// <list type="bullet">
/// <item>bbox_accuracy: max_box_fraction (0.33)</item>
/// <item>pointing_game: tolerance (15, original-image pixels)</item>
/// <item>energy_pointing_game: none</item>
/// <item>localization_accuracy: threshold (0.15), iou (0.5)</item>
/// </list>
/// Adding a metric: one <see cref="ILocalizationMetric"/> file and one line here.
/// </summary>
public static class LocalizationMetrics
{
    private static readonly Dictionary<string, Func<MethodOptions, ILocalizationMetric>> Factories = new(StringComparer.Ordinal)
    {
        [BoundingBoxAccuracy.MetricName] = o => new BoundingBoxAccuracy(
            o.GetDouble("max_box_fraction", 0.33, 0, 1, minExclusive: true)),
        [PointingGame.MetricName] = o => new PointingGame(o.GetDouble("tolerance", 15, 0, 1e9)),
        [EnergyPointingGame.MetricName] = _ => new EnergyPointingGame(),
        [LocalizationAccuracy.MetricName] = o => new LocalizationAccuracy(
            threshold: o.GetDouble("threshold", 0.15, 0, 1),
            iou: o.GetDouble("iou", 0.5, 0, 1, minExclusive: true)),
    };

    private static readonly ILocalizationMetric[] DefaultMetrics = Factories.Keys.Select(n => Create(n)).ToArray();

    /// <summary>Every metric name <see cref="Create"/> accepts, in registration order.</summary>
    public static IReadOnlyCollection<string> Names => Factories.Keys;

    /// <summary>All four localization metrics with their default options, in the order of <see cref="Names"/>.</summary>
    public static IReadOnlyList<ILocalizationMetric> Defaults => Array.AsReadOnly(DefaultMetrics);

    /// <summary>
    /// The metric called <paramref name="name"/>, configured by <paramref name="options"/> (option name → value as
    /// written in the config; invariant-culture numbers).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name, unknown option or invalid value; the message lists the valid ones.</exception>
    public static ILocalizationMetric Create(string name, IReadOnlyDictionary<string, string>? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Factories.TryGetValue(name, out var factory))
            throw new ArgumentException($"unknown localization metric '{name}'. Known metrics: {string.Join(", ", Names)}", nameof(name));
        var parsed = new MethodOptions(name, options);
        var metric = factory(parsed);
        parsed.ThrowIfUnknown();
        return metric;
    }
}
