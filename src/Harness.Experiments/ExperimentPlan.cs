using System.Text.Json;
using Harness.Attribution;
using Harness.Data;
using Harness.Torch;

namespace Harness.Experiments;

/// <summary>
/// An experiment planned for execution: its spec, its images cut into shards, and where every piece of work reads
/// and writes (trained state, shard CSVs, per-grain stats). Pure data and paths, computed the same on every machine;
/// <c>Harness.Grains</c> turns it into grains. Tensors never appear here: work is identified by paths and hashes.
/// </summary>
public sealed class ExperimentPlan
{
    private readonly Dictionary<string, string> _checkpointHashes = new(StringComparer.Ordinal);
    private string? _trainingSetHash;

    public ExperimentPlan(ExperimentSpec spec)
    {
        Spec = spec;
        Data = new ExperimentData(spec);
    }

    public ExperimentSpec Spec { get; }
    public ExperimentData Data { get; }

    /// <summary>The method variants that must be trained before scoring (one train grain each per model).</summary>
    public IEnumerable<MethodSpec> TrainableMethods => Spec.Methods.Where(m => AttributionMethods.IsTrainable(m.Name));

    /// <summary>The names of the trainable methods, each once, for progress lines and the report ("mipin").</summary>
    public string TrainableMethodNames => string.Join(", ", TrainableMethods.Select(m => m.Name).Distinct());

    /// <summary>Per-grain measurements, written by the silo that ran the grain.</summary>
    public string StatsDirectory => Path.Combine(Spec.ResultsDir, "grains");

    /// <summary>Saved trained state of trainable methods (MIP-IN's inverse networks).</summary>
    public string TrainedStateDirectory => Path.Combine(Spec.ResultsDir, "inverses");

    public string ShardPath(ModelSpec model, int shard) => Path.Combine(Spec.ResultsDir, "shards", Safe(model.Id), $"{shard:D4}.csv");

    public string LeaderboardPath => Path.Combine(Spec.ResultsDir, "leaderboard.csv");
    public string ImagesPath => Path.Combine(Spec.ResultsDir, "images.csv");
    public string ReportPath => Path.Combine(Spec.ResultsDir, "report.html");
    public string ThroughputPath => Path.Combine(Spec.ResultsDir, "throughput.csv");
    public string ComparisonsPath => Path.Combine(Spec.ResultsDir, "comparisons.csv");
    public string TableMarkdownPath => Path.Combine(Spec.ResultsDir, "table.md");
    public string TableLatexPath => Path.Combine(Spec.ResultsDir, "table.tex");
    public string PlotsDirectory => Path.Combine(Spec.ResultsDir, "plots");

    /// <summary>The checkpoint's size and write time (<see cref="ContentHash.StampOfFile"/>): what quick done-checks compare.</summary>
    public string CheckpointStamp(ModelSpec model) => ContentHash.StampOfFile(model.Weights);

    /// <summary>Content hash of a model's checkpoint, read once per plan.</summary>
    public string CheckpointHash(ModelSpec model)
    {
        lock (_checkpointHashes)
        {
            if (!_checkpointHashes.TryGetValue(model.Weights, out var hash))
                _checkpointHashes[model.Weights] = hash = ContentHash.OfFile(model.Weights);
            return hash;
        }
    }

    // With no trainable method there are no training images; the one-image set keeps the type total (never trained on).
    private IReadOnlyList<ImageRecord> TrainingImages => Data.Training.Count > 0 ? Data.Training : Data.Scored.Take(1).ToList();

    /// <summary>
    /// Content hash of the training images, computed once per plan: it keys saved trained state and is part of every
    /// score grain's inputs. (Training uses the predicted class, so labels and boxes do not enter it.)
    /// </summary>
    public string TrainingSetHash => _trainingSetHash ??= TrainingSet.HashOf(TrainingImages);

    /// <summary>What trainable methods of <paramref name="model"/> train on, on <paramref name="device"/>.</summary>
    public TrainingSet TrainingSetFor(ModelSpec model, Device device, Action<string>? log) =>
        new(TrainedStateDirectory, CheckpointHash(model), TrainingImages, model.Preprocess, device, Spec.BatchSize, log, TrainingSetHash);

    /// <summary>A training session for <paramref name="model"/>; dispose it to free the trained state it loaded.</summary>
    public MethodTraining TrainingFor(ModelSpec model, Device device, Action<string>? log) => new(TrainingSetFor(model, device, log));

    /// <summary>Which metric applies to which method variant (for the leaderboard and the report).</summary>
    public MetricApplicability Applicability => new(Spec.Methods);

    /// <summary>A model or grain id made safe for a file name ('/' and '@' replaced).</summary>
    public static string Safe(string id) => id.Replace('/', '_').Replace('@', '_');

    /// <summary>The content hash of a JSON-serialisable description of a grain's inputs.</summary>
    public static string Hash(object inputs) => ContentHash.OfText(JsonSerializer.Serialize(inputs));
}
