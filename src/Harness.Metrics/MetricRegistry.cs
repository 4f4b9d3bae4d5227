using Harness.Attribution;
using Harness.Metrics.Sanity;

namespace Harness.Metrics;

/// <summary>
/// The registry of metrics by config name, both kinds in one table: localization metrics (map + boxes,
/// <see cref="ILocalizationMetric"/>; docs/metrics-spec.md §1–4) and model-querying metrics
/// (<see cref="IModelMetric"/>). Metrics are built from string options (a spec's <c>metric_options</c>); unknown names
/// and options fail with the valid choices listed. Options (defaults):
/// <list type="bullet">
/// <item>bbox_accuracy: max_box_fraction (0.33)</item>
/// <item>pointing_game: tolerance (15, original-image pixels)</item>
/// <item>energy_pointing_game: none</item>
/// <item>localization_accuracy: threshold (0.15), iou (0.5)</item>
/// <item>class_sensitivity: none (the experiment's seed draws the classes)</item>
/// <item>completeness, minimality: none (only methods with a source signal, e.g. mipin)</item>
/// <item>deletion_auc: baseline (mean | blur), step (1568 pixels); insertion_auc: baseline (blur | mean), step (1568)</item>
/// <item>mprt_ssim, mprt_spearman: layers (0 = every stage with parameters, from the top)</item>
/// </list>
/// Adding a metric: one file implementing one of the two interfaces and one line here, as in Quantus.
/// </summary>
public static class MetricRegistry
{
    // InDefaultSet: scored when a spec lists no metrics. CountsZeroMaps: the leaderboard's zero_maps column reports
    // the MetricResult.ZeroMaps this metric found (the other metrics' rows show 0).
    private sealed record Registration(Func<ConfigOptions, IMetric> Create, bool IsModelMetric, bool InDefaultSet,
        BetterDirection Better, bool CountsZeroMaps = false);

    private static Registration Localization(Func<ConfigOptions, ILocalizationMetric> create) => new(create, false, true, BetterDirection.Higher);
    private static Registration Model(Func<ConfigOptions, IModelMetric> create, bool inDefaultSet, BetterDirection better, bool countsZeroMaps = false) =>
        new(create, true, inDefaultSet, better, countsZeroMaps);

    private static readonly Dictionary<string, Registration> Registry = new(StringComparer.Ordinal)
    {
        [BoundingBoxAccuracy.MetricName] = Localization(o => new BoundingBoxAccuracy(o.GetDouble("max_box_fraction", 0.33, 0, 1, minExclusive: true))),
        [PointingGame.MetricName] = Localization(o => new PointingGame(o.GetDouble("tolerance", 15, 0, 1e9))),
        [EnergyPointingGame.MetricName] = Localization(_ => new EnergyPointingGame()),
        [LocalizationAccuracy.MetricName] = Localization(o => new LocalizationAccuracy(
            threshold: o.GetDouble("threshold", 0.15, 0, 1),
            iou: o.GetDouble("iou", 0.5, 0, 1, minExclusive: true))),
        [ClassSensitivity.MetricName] = Model(_ => new ClassSensitivity(), inDefaultSet: true, BetterDirection.Higher, countsZeroMaps: true),
        [Completeness.MetricName] = Model(_ => new Completeness(), inDefaultSet: false, BetterDirection.Lower),
        [Minimality.MetricName] = Model(_ => new Minimality(), inDefaultSet: false, BetterDirection.TowardZero),
        [DeletionAuc.MetricName] = Model(o => new DeletionAuc(
            o.GetChoice("baseline", PerturbationBaseline.Mean, PerturbationBaselines.Choices),
            o.GetInt("step", PerturbationAuc.DefaultStep, 1)), inDefaultSet: false, BetterDirection.Lower),
        [InsertionAuc.MetricName] = Model(o => new InsertionAuc(
            o.GetChoice("baseline", PerturbationBaseline.Blur, PerturbationBaselines.Choices),
            o.GetInt("step", PerturbationAuc.DefaultStep, 1)), inDefaultSet: false, BetterDirection.Higher),
        [MprtSsim.MetricName] = Model(o => new MprtSsim(o.GetInt("layers", 0, 0)), inDefaultSet: false, BetterDirection.Lower),
        [MprtSpearman.MetricName] = Model(o => new MprtSpearman(o.GetInt("layers", 0, 0)), inDefaultSet: false, BetterDirection.Lower),
    };

    /// <summary>Every metric name, in registration order (localization metrics first).</summary>
    public static IReadOnlyCollection<string> Names => Registry.Keys;

    /// <summary>The metrics an experiment scores when its spec lists none: the localization metrics and class sensitivity.</summary>
    public static IReadOnlyList<string> DefaultNames { get; } = Registry.Where(r => r.Value.InDefaultSet).Select(r => r.Key).ToArray();

    /// <summary>The localization metrics' names, in registration order.</summary>
    public static IReadOnlyList<string> LocalizationNames { get; } = Registry.Where(r => !r.Value.IsModelMetric).Select(r => r.Key).ToArray();

    /// <summary>Every localization metric with its default options, in the order of <see cref="LocalizationNames"/>.</summary>
    public static IReadOnlyList<ILocalizationMetric> LocalizationDefaults { get; } = LocalizationNames.Select(n => CreateLocalization(n)).ToArray();

    /// <summary>Whether the leaderboard's zero_maps column counts this metric's all-zero maps.</summary>
    public static bool CountsZeroMaps(string name) => Get(name).CountsZeroMaps;

    /// <summary>Which way metric <paramref name="name"/> improves (docs/metrics.md's "better" column).</summary>
    public static BetterDirection Better(string name) => Get(name).Better;

    /// <summary>True for a model-querying metric, false for a localization metric.</summary>
    public static bool IsModelMetric(string name) => Get(name).IsModelMetric;

    /// <summary>
    /// The metric called <paramref name="name"/>, of either kind, configured by <paramref name="options"/> (option name →
    /// value as written in the config; invariant-culture numbers).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name, unknown option or invalid value; the message lists the valid ones.</exception>
    public static IMetric Create(string name, IReadOnlyDictionary<string, string>? options = null)
    {
        var registration = Get(name);
        var parsed = new ConfigOptions(name, options);
        var metric = registration.Create(parsed);
        parsed.ThrowIfUnknown();
        return metric;
    }

    /// <summary>The localization metric called <paramref name="name"/> (see <see cref="Create"/>).</summary>
    public static ILocalizationMetric CreateLocalization(string name, IReadOnlyDictionary<string, string>? options = null) =>
        Create(name, options) as ILocalizationMetric
        ?? throw new ArgumentException($"'{name}' queries the model; it is not a localization metric. Localization metrics: {string.Join(", ", LocalizationNames)}", nameof(name));

    /// <summary>The model-querying metric called <paramref name="name"/> (see <see cref="Create"/>).</summary>
    public static IModelMetric CreateModelMetric(string name, IReadOnlyDictionary<string, string>? options = null) =>
        Create(name, options) as IModelMetric
        ?? throw new ArgumentException($"'{name}' is a localization metric, not a model-querying one", nameof(name));

    /// <summary>
    /// Whether metric <paramref name="name"/> has values for methods of class <paramref name="methodType"/>
    /// (localization metrics apply to every method).
    /// </summary>
    public static bool AppliesTo(string name, Type methodType) =>
        Create(name) is not IModelMetric model || model.AppliesTo(methodType);

    private static Registration Get(string name) =>
        Registry.TryGetValue(name ?? throw new ArgumentNullException(nameof(name)), out var registration) ? registration
            : throw new ArgumentException($"unknown metric '{name}'. Known metrics: {string.Join(", ", Names)}", nameof(name));
}
