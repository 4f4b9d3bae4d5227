using System.Globalization;
using Harness.Attribution;
using Harness.Data.Imaging;
using Harness.Metrics;
using Harness.Models;
using Harness.Torch;
using YamlDotNet.RepresentationModel;

namespace Harness.Experiments;

/// <summary>
/// Reads configs/*.yaml into an <see cref="ExperimentSpec"/>: applies --set overrides, rejects unknown keys and bad
/// values with the file, line and valid choices, and expands sweeps (a list where one value is expected, under
/// method_options, becomes one method variant per value; several lists give their grid).
/// </summary>
public static class SpecLoader
{
    public static readonly string[] TopLevelKeys =
        { "name", "models", "dataset", "methods", "method_options", "metrics", "metric_options", "training", "mipin", "shard_size", "batch_size", "seed", "devices", "report", "results" };

    private static readonly string[] ModelKeys = { "architecture", "weights", "num_classes", "resize", "crop", "mean", "std", "memory_format" };
    private static readonly string[] MemoryFormatNames = { "channels_last", "contiguous" };
    private static readonly string[] DatasetKeys = { "root", "limit" };
    private static readonly string[] TrainingKeys = { "images" };
    // The key that named the training set size before trainable methods were generic (still read, documented as legacy).
    private const string LegacyTrainingSection = "mipin";
    private static readonly string[] LegacyTrainingKeys = { "train_images" };
    private static readonly string[] ReportKeys = { "images", "reference_method" };

    /// <summary>Every metric name a spec may list.</summary>
    public static IEnumerable<string> MetricNames => MetricRegistry.Names;

    public static ExperimentSpec Load(string path, IEnumerable<string>? overrides = null)
    {
        if (!File.Exists(path)) throw new SpecException($"{path}: experiment spec not found");
        var yaml = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            yaml.Load(reader);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new SpecException($"{path}:{e.Start.Line}: YAML syntax error: {e.Message}");
        }
        if (yaml.Documents.Count != 1 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw new SpecException($"{path}: expected one YAML mapping (name: ..., models: ..., methods: ...)");
        foreach (var o in overrides ?? Array.Empty<string>()) ApplyOverride(root, o);
        return new Parser(path, root).Parse();
    }

    /// <summary>Applies "a.b.c=value" (value in YAML syntax, e.g. [x,y]) to the document, creating mappings as needed.</summary>
    public static void ApplyOverride(YamlMappingNode root, string assignment)
    {
        var eq = assignment.IndexOf('=');
        if (eq <= 0) throw new SpecException($"--set '{assignment}': expected KEY.PATH=VALUE, e.g. dataset.root=/data/imagenet");
        var keys = assignment[..eq].Split('.');
        var valueText = assignment[(eq + 1)..];
        YamlNode value;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader("v: " + valueText));
            value = ((YamlMappingNode)stream.Documents[0].RootNode).Children[new YamlScalarNode("v")];
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new SpecException($"--set '{assignment}': the value is not valid YAML ({e.Message})");
        }
        // Walk the path: names index mappings (created when missing), numbers index existing sequence items.
        YamlNode node = root;
        for (var i = 0; i < keys.Length; i++)
        {
            var last = i == keys.Length - 1;
            switch (node)
            {
                case YamlSequenceNode sequence:
                    if (!int.TryParse(keys[i], NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index >= sequence.Children.Count)
                        throw new SpecException($"--set '{assignment}': '{keys[i]}' is not an item of the list at '{string.Join(".", keys[..i])}' (it has {sequence.Children.Count})");
                    if (last) sequence.Children[index] = value;
                    else node = sequence.Children[index];
                    break;
                case YamlMappingNode mapping:
                    var key = new YamlScalarNode(keys[i]);
                    if (last) mapping.Children[key] = value;
                    else
                    {
                        if (!mapping.Children.TryGetValue(key, out var child) || child is YamlScalarNode)
                            mapping.Children[key] = child = new YamlMappingNode();
                        node = child;
                    }
                    break;
                default:
                    throw new SpecException($"--set '{assignment}': '{string.Join(".", keys[..i])}' is a single value, not a mapping or list");
            }
        }
    }

    private sealed class Parser(string path, YamlMappingNode root)
    {
        public ExperimentSpec Parse()
        {
            CheckKeys(root, TopLevelKeys, "the top level");
            var name = Scalar(root, "name") ?? throw Error(root, "missing 'name' (the experiment's results folder name)");
            if (name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Contains('/')) throw Error(root["name"], $"name '{name}' must be usable as a folder name");
            var models = ParseModels();
            var datasetNode = Mapping(root, "dataset") ?? throw Error(root, "missing 'dataset' (dataset: {root: data/imagenet-val-sample})");
            CheckKeys(datasetNode, DatasetKeys, "dataset");
            var datasetRoot = ExistingPath(datasetNode, "root", directory: true);
            var limit = OptionalInt(datasetNode, "limit", 1);
            var methods = ParseMethods(models);
            var metrics = StringList(root, "metrics") ?? MetricRegistry.DefaultNames.ToList();
            foreach (var (metric, node) in metrics.Zip(ListNodes(root, "metrics")))
                if (!MetricNames.Contains(metric)) throw Error(node, $"unknown metric '{metric}'{Suggest(metric, MetricNames)}; valid: {string.Join(", ", MetricNames)}");
            foreach (var duplicate in metrics.GroupBy(m => m).Where(g => g.Count() > 1))
                throw Error(root["metrics"], $"metric '{duplicate.Key}' is listed twice");
            var metricOptions = ParseMetricOptions(metrics);
            var trainImages = TrainImages();
            var report = Mapping(root, "report");
            if (report is not null) CheckKeys(report, ReportKeys, "report");
            var devices = StringList(root, "devices") ?? new List<string> { "cpu" };
            foreach (var (d, node) in devices.Zip(ListNodes(root, "devices")))
                try { Torch.Device.Parse(d); }
                catch (FormatException e) { throw Error(node, e.Message); }
            var results = Scalar(root, "results") ?? "results";
            return new ExperimentSpec(name, Path.GetFullPath(path), models, datasetRoot, limit, methods, metrics, metricOptions,
                trainImages,
                OptionalInt(root, "shard_size", 1) ?? 25, OptionalInt(root, "batch_size", 1) ?? 25,
                Seed(), devices,
                report is null ? 6 : OptionalInt(report, "images", 0) ?? 6, Path.GetFullPath(results))
            {
                ReferenceMethod = ReferenceMethod(report, methods),
            };
        }

        // report.reference_method must name a listed method (or one of its variant labels); the default, gradcam, may be absent.
        private string ReferenceMethod(YamlMappingNode? report, IReadOnlyList<MethodSpec> methods)
        {
            if (report is null || Scalar(report, "reference_method") is not { } name) return Statistics.PairedComparisons.DefaultReference;
            var labels = methods.Select(m => m.Label).ToList();
            if (Statistics.PairedComparisons.ReferenceLabel(labels, name) is null)
                throw Error(report["reference_method"], $"report.reference_method '{name}' is not among the methods ({string.Join(", ", labels)})");
            return name;
        }

        private List<ModelSpec> ParseModels()
        {
            if (!root.Children.TryGetValue(new YamlScalarNode("models"), out var node))
                throw Error(root, "missing 'models' (models: [{architecture: mobilenet_v2, weights: data/models/mobilenet_v2_coral.pth}])");
            if (node is not YamlSequenceNode list || list.Children.Count == 0) throw Error(node, "'models' must be a non-empty list of {architecture, weights}");
            var result = new List<ModelSpec>();
            foreach (var item in list.Children)
            {
                if (item is not YamlMappingNode m) throw Error(item, "each model is a mapping {architecture: ..., weights: ...}");
                CheckKeys(m, ModelKeys, "a model");
                var weights = ExistingPath(m, "weights", directory: false);
                var card = ModelCard.TryLoadFor(weights);
                var architecture = Scalar(m, "architecture") ?? card?.Architecture ?? throw Error(m, $"model needs 'architecture' (no model card next to {weights})");
                if (!ModelZoo.Names.Contains(architecture))
                    throw Error(m["architecture"], $"unknown architecture '{architecture}'{Suggest(architecture, ModelZoo.Names)}; valid: {string.Join(", ", ModelZoo.Names)}");
                var baseConfig = card?.Preprocess ?? PreprocessConfig.ImageNet;
                PreprocessConfig preprocess;
                try
                {
                    preprocess = new PreprocessConfig(OptionalInt(m, "resize", 1) ?? baseConfig.ResizeSize, OptionalInt(m, "crop", 1) ?? baseConfig.CropSize,
                        FloatList(m, "mean") ?? baseConfig.Mean, FloatList(m, "std") ?? baseConfig.Std);
                }
                catch (ArgumentException e)
                {
                    throw Error(m, e.Message);
                }
                var layout = Scalar(m, "memory_format");
                if (layout is not null && !MemoryFormatNames.Contains(layout))
                    throw Error(m["memory_format"], $"unknown memory_format '{layout}'{Suggest(layout, MemoryFormatNames)}; valid: {string.Join(", ", MemoryFormatNames)}");
                var memoryFormat = layout switch
                {
                    "channels_last" => MemoryFormat.ChannelsLast,
                    "contiguous" => MemoryFormat.Contiguous,
                    _ => (MemoryFormat?)null,
                };
                var spec = new ModelSpec(architecture, weights, OptionalInt(m, "num_classes", 1) ?? card?.NumClasses ?? 1000, preprocess, memoryFormat);
                if (result.Any(r => r.Id == spec.Id))
                    throw Error(m, $"two models have the id {spec.Id} (architecture@checkpoint file name); give the checkpoints distinct file names");
                result.Add(spec);
            }
            return result;
        }

        private List<MethodSpec> ParseMethods(List<ModelSpec> models)
        {
            var names = StringList(root, "methods") ?? throw Error(root, "missing 'methods' (methods: [mipin, gradient, gradcam, center, random])");
            foreach (var (n, node) in names.Zip(ListNodes(root, "methods")))
                if (!AttributionMethods.Names.Contains(n))
                    throw Error(node, $"unknown method '{n}'{Suggest(n, AttributionMethods.Names)}; valid: {string.Join(", ", AttributionMethods.Names)}");
            var options = Mapping(root, "method_options");
            if (options is not null)
                foreach (var key in options.Children.Keys)
                    if (!names.Contains(((YamlScalarNode)key).Value!))
                        throw Error(key, $"method_options.{key}: '{key}' is not in 'methods' ({string.Join(", ", names)})");
            var result = new List<MethodSpec>();
            // One probe per model (construction is costly for large models) to validate every method variant against.
            var probes = models.Select(m => (Spec: m, Model: ModelZoo.Create(m.Architecture, m.NumClasses))).ToList();
            try
            {
                foreach (var duplicate in names.GroupBy(n => n).Where(g => g.Count() > 1))
                    throw Error(root["methods"], $"method '{duplicate.Key}' is listed twice; list it once and sweep its options under method_options");
                foreach (var name in names)
                {
                    // method_options.NAME is one mapping (its lists sweep as a grid) or a list of mappings (explicit
                    // variants, each swept the same way, in list order).
                    YamlNode? node = null;
                    if (options is not null && options.Children.TryGetValue(new YamlScalarNode(name), out var given)) node = given;
                    var variants = node switch
                    {
                        null => new List<YamlMappingNode> { new() },
                        YamlMappingNode single => new List<YamlMappingNode> { single },
                        YamlSequenceNode list when list.Children.Count > 0 && list.Children.All(c => c is YamlMappingNode) =>
                            list.Children.Cast<YamlMappingNode>().ToList(),
                        _ => throw Error(node, $"method_options.{name} must be a mapping of options, or a list of such mappings (one variant each)"),
                    };
                    var grid = new List<Dictionary<string, string>>();
                    foreach (var variant in variants)
                    {
                        var combinations = new List<Dictionary<string, string>> { new(StringComparer.Ordinal) };
                        foreach (var (k, v) in variant.Children)
                        {
                            var values = v is YamlSequenceNode seq ? seq.Children.Select(c => ScalarText(c)).ToList() : new List<string> { ScalarText(v) };
                            combinations = combinations.SelectMany(g => values.Select(value => new Dictionary<string, string>(g, StringComparer.Ordinal) { [((YamlScalarNode)k).Value!] = value })).ToList();
                        }
                        grid.AddRange(combinations);
                    }
                    foreach (var duplicate in grid.Select(g => new MethodSpec(name, g).Label).GroupBy(l => l).Where(g => g.Count() > 1))
                        throw Error(node!, $"method_options.{name}: the variant {duplicate.Key} is given twice");
                    foreach (var combination in grid)
                    {
                        // Validate options (names, values, layers) against every model now, before any work starts.
                        foreach (var (model, probe) in probes)
                        {
                            try
                            {
                                AttributionMethods.Validate(name, probe, combination);
                            }
                            catch (ArgumentException e)
                            {
                                throw Error(node ?? (YamlNode)root, $"method '{name}' for {model.Architecture}: {e.Message}");
                            }
                        }
                        result.Add(new MethodSpec(name, combination));
                    }
                }
                return result;
            }
            finally
            {
                foreach (var (_, probe) in probes) probe.Dispose();
            }
        }

        // metric_options: {METRIC: {OPTION: VALUE}}, for metrics listed under 'metrics'; each metric checks its own options.
        private Dictionary<string, IReadOnlyDictionary<string, string>> ParseMetricOptions(List<string> metrics)
        {
            var result = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
            var section = Mapping(root, "metric_options");
            if (section is null) return result;
            foreach (var (key, value) in section.Children)
            {
                var metric = ((YamlScalarNode)key).Value ?? "";
                if (!metrics.Contains(metric))
                {
                    var hint = MetricNames.Contains(metric) ? $"add it to 'metrics' ({string.Join(", ", metrics)})"
                        : $"unknown metric{Suggest(metric, MetricNames)}; valid: {string.Join(", ", MetricNames)}";
                    throw Error(key, $"metric_options.{metric}: '{metric}' is not in 'metrics': {hint}");
                }
                if (value is not YamlMappingNode options)
                    throw Error(value, $"metric_options.{metric} must be a mapping of options, e.g. {metric}: {{option: value}}");
                var parsed = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (k, v) in options.Children)
                {
                    if (v is not YamlScalarNode scalar)
                        throw Error(v, $"metric_options.{metric}.{k} must be one value (sweeps are for method options)");
                    parsed[((YamlScalarNode)k).Value ?? ""] = scalar.Value ?? "";
                }
                try { MetricRegistry.Create(metric, parsed); }
                catch (ArgumentException e) { throw Error(options, $"metric_options: {e.Message}"); }
                result[metric] = parsed;
            }
            return result;
        }

        // training: {images: N}; the legacy 'mipin: {train_images: N}' means the same. Default 100.
        private int TrainImages()
        {
            var training = Mapping(root, "training");
            if (training is not null) CheckKeys(training, TrainingKeys, "training");
            var legacy = Mapping(root, LegacyTrainingSection);
            if (legacy is not null) CheckKeys(legacy, LegacyTrainingKeys, LegacyTrainingSection);
            var images = training is null ? null : OptionalInt(training, "images", 1);
            var legacyImages = legacy is null ? null : OptionalInt(legacy, "train_images", 1);
            if (images is not null && legacyImages is not null && images != legacyImages)
                throw Error(legacy!, $"training.images ({images}) and the legacy {LegacyTrainingSection}.train_images ({legacyImages}) disagree; " +
                                     $"keep training.images only (on the command line: --set training.images={legacyImages})");
            return images ?? legacyImages ?? 100;
        }

        private ulong Seed()
        {
            var text = Scalar(root, "seed");
            if (text is null) return 0;
            return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seed) ? seed
                : throw Error(root["seed"], $"'seed' must be a non-negative integer, got '{text}'");
        }

        private void CheckKeys(YamlMappingNode node, string[] valid, string where)
        {
            foreach (var key in node.Children.Keys)
            {
                var k = ((YamlScalarNode)key).Value ?? "";
                if (!valid.Contains(k))
                    throw Error(key, $"unknown key '{k}' in {where}{Suggest(k, valid)}; valid keys: {string.Join(", ", valid)}");
            }
        }

        private static string Suggest(string word, IEnumerable<string> valid)
        {
            var best = valid.Select(v => (v, d: Distance(word, v))).OrderBy(x => x.d).FirstOrDefault();
            return best.v is not null && best.d <= Math.Max(2, word.Length / 3) ? $" (did you mean '{best.v}'?)" : "";
        }

        private static int Distance(string a, string b)
        {
            var d = new int[a.Length + 1, b.Length + 1];
            for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
            for (var j = 0; j <= b.Length; j++) d[0, j] = j;
            for (var i = 1; i <= a.Length; i++)
                for (var j = 1; j <= b.Length; j++)
                    d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            return d[a.Length, b.Length];
        }

        private SpecException Error(YamlNode node, string message) => new($"{path}:{node.Start.Line}: {message}");

        private static string ScalarText(YamlNode node) => node is YamlScalarNode s ? s.Value ?? "" : throw new SpecException($"line {node.Start.Line}: expected a single value");

        private string? Scalar(YamlMappingNode node, string key) =>
            node.Children.TryGetValue(new YamlScalarNode(key), out var v)
                ? v is YamlScalarNode s ? s.Value : throw Error(v, $"'{key}' must be a single value")
                : null;

        private YamlMappingNode? Mapping(YamlMappingNode node, string key) =>
            node.Children.TryGetValue(new YamlScalarNode(key), out var v)
                ? v as YamlMappingNode ?? throw Error(v, $"'{key}' must be a mapping (key: value lines)")
                : null;

        // The nodes of a list value (or the single node of a one-value shorthand), for line numbers in errors.
        private IEnumerable<YamlNode> ListNodes(YamlMappingNode node, string key) =>
            !node.Children.TryGetValue(new YamlScalarNode(key), out var v) ? Array.Empty<YamlNode>()
            : v is YamlSequenceNode s ? s.Children : new[] { v };

        private List<string>? StringList(YamlMappingNode node, string key)
        {
            if (!node.Children.TryGetValue(new YamlScalarNode(key), out var v)) return null;
            if (v is YamlScalarNode single) return new List<string> { single.Value ?? "" };
            if (v is not YamlSequenceNode seq || seq.Children.Count == 0) throw Error(v, $"'{key}' must be a non-empty list");
            return seq.Children.Select(c => c is YamlScalarNode s ? s.Value ?? "" : throw Error(c, $"'{key}' items must be single values")).ToList();
        }

        private float[]? FloatList(YamlMappingNode node, string key)
        {
            var items = StringList(node, key);
            return items?.Select(t => float.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) ? f
                : throw Error(node[key], $"'{key}': '{t}' is not a number")).ToArray();
        }

        private int? OptionalInt(YamlMappingNode node, string key, int min)
        {
            var text = Scalar(node, key);
            if (text is null || text == "null") return null;
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min)
                throw Error(node[key], $"'{key}' must be an integer ≥ {min}, got '{text}'");
            return value;
        }

        private string ExistingPath(YamlMappingNode node, string key, bool directory)
        {
            var text = Scalar(node, key) ?? throw Error(node, $"missing '{key}'");
            var full = Path.GetFullPath(text);
            if (directory ? !Directory.Exists(full) : !File.Exists(full))
                throw Error(node[key], $"{key} '{text}' does not exist (resolved to {full}; relative paths are relative to the working directory)");
            return full;
        }
    }
}
