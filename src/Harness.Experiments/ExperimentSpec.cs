using Harness.Data.Imaging;

namespace Harness.Experiments;

/// <summary>One classifier of an experiment: zoo architecture, checkpoint, preprocessing (from the model card unless overridden).</summary>
/// <param name="MemoryFormat">Layout the model runs in; null: <see cref="Models.ModelZoo.DefaultMemoryFormat"/> for the device.</param>
public sealed record ModelSpec(string Architecture, string Weights, int NumClasses, PreprocessConfig Preprocess,
    Harness.Torch.MemoryFormat? MemoryFormat = null)
{
    /// <summary>A short name for paths and CSV rows (architecture plus checkpoint file name).</summary>
    public string Id => $"{Architecture}@{Path.GetFileNameWithoutExtension(Weights)}";
}

/// <summary>A method with one combination of its options (sweeps expand lists into several of these).</summary>
public sealed record MethodSpec(string Name, IReadOnlyDictionary<string, string> Options)
{
    /// <summary>The layer the method reads, for the leaderboard's layer column ("-" when it has none).</summary>
    public string Layer => Options.TryGetValue("layer", out var layer) ? layer : "-";

    /// <summary>A stable label: name plus sorted options, e.g. "gradcam[layer=features.17]".</summary>
    public string Label => Options.Count == 0 ? Name
        : $"{Name}[{string.Join(",", Options.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}={o.Value}"))}]";
}

/// <summary>
/// A parsed, validated experiment (configs/*.yaml): models × methods (with swept options) scored by metrics on a
/// dataset split into shards. Paths are absolute.
/// </summary>
public sealed record ExperimentSpec(
    string Name,
    string SourceFile,
    IReadOnlyList<ModelSpec> Models,
    string DatasetRoot,
    int? DatasetLimit,
    IReadOnlyList<MethodSpec> Methods,
    IReadOnlyList<string> Metrics,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> MetricOptions,
    int TrainImages,
    int ShardSize,
    int BatchSize,
    ulong Seed,
    IReadOnlyList<string> Devices,
    int ReportImages,
    string ResultsRoot)
{
    public string ResultsDir => Path.Combine(ResultsRoot, Name);

    /// <summary>
    /// <c>report.reference_method</c>: the method every other is compared with in comparisons.csv (a method name, e.g.
    /// "gradcam", or a variant label). Reporting only: not part of any shard's input hash.
    /// </summary>
    public string ReferenceMethod { get; init; } = Statistics.PairedComparisons.DefaultReference;

    /// <summary>The options given for <paramref name="metric"/> under <c>metric_options</c> (none: its defaults).</summary>
    public IReadOnlyDictionary<string, string>? OptionsOf(string metric) => MetricOptions.GetValueOrDefault(metric);
}
