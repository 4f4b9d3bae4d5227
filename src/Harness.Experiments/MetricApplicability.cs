using Harness.Attribution;
using Harness.Metrics;

namespace Harness.Experiments;

/// <summary>
/// Which metric has values for which method variant of an experiment, answered from the registries without building a
/// model: a model-querying metric may apply only to some method classes (completeness and minimality need a source
/// signal), and one metric owns the zero_maps count. The leaderboard and the report read results through it.
/// </summary>
public sealed class MetricApplicability
{
    private readonly Dictionary<string, Type> _methodTypes = new(StringComparer.Ordinal);
    private readonly Dictionary<(Type, string), bool> _applies = new();

    /// <param name="methods">The experiment's method variants; rows are matched to them by label.</param>
    public MetricApplicability(IEnumerable<MethodSpec> methods)
    {
        foreach (var m in methods) _methodTypes[m.Label] = AttributionMethods.MethodType(m.Name);
    }

    /// <summary>Whether <paramref name="metric"/> has values for the method variant labelled <paramref name="methodLabel"/>.</summary>
    public bool Applies(string methodLabel, string metric)
    {
        // A row of a method this build does not know (an old shard) is treated as a plain method.
        var type = _methodTypes.TryGetValue(methodLabel, out var t) ? t
            : AttributionMethods.Names.Contains(NameOf(methodLabel)) ? AttributionMethods.MethodType(NameOf(methodLabel))
            : typeof(IAttributionMethod);
        if (!_applies.TryGetValue((type, metric), out var applies))
            _applies[(type, metric)] = applies = MetricRegistry.AppliesTo(metric, type);
        return applies;
    }

    /// <summary>Whether the zero_maps column counts <paramref name="metric"/>'s all-zero maps.</summary>
    public bool CountsZeroMaps(string metric) => MetricRegistry.CountsZeroMaps(metric);

    // "gradcam[layer=features.17]" → "gradcam" (a label from rows of an earlier spec version).
    private static string NameOf(string label) => label.IndexOf('[') is var i and >= 0 ? label[..i] : label;
}
