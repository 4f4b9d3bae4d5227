using System.Text.Json;
using Harness.Grains.Attribution;
using Harness.Grains.Attribution.MipIn;
using Harness.Grains.Data;

namespace Harness.Grains.Experiments.Grains;

/// <summary>
/// Plans the grain graph of an experiment: one train grain per model × MIP-IN variant, one score grain per
/// model × shard (depending on that model's train grains), one aggregate grain depending on all score grains.
/// </summary>
public sealed class ExperimentGrains
{
    private readonly Dictionary<string, string> _checkpointHashes = new(StringComparer.Ordinal);

    public ExperimentGrains(ExperimentSpec spec)
    {
        Spec = spec;
        Data = new ExperimentData(spec);
        var grains = new List<IGrain>();
        var scoreKeys = new List<string>();
        foreach (var model in spec.Models)
        {
            var trainKeys = new List<string>();
            foreach (var method in spec.Methods.Where(m => m.Name == "mipin"))
            {
                var grain = new TrainInverseGrain(this, model, method);
                grains.Add(grain);
                trainKeys.Add(grain.Key);
            }
            for (var s = 0; s < Data.Shards.Count; s++)
            {
                var grain = new ScoreShardGrain(this, model, s, trainKeys);
                grains.Add(grain);
                scoreKeys.Add(grain.Key);
            }
        }
        grains.Add(new AggregateGrain(this, scoreKeys));
        All = grains;
    }

    public ExperimentSpec Spec { get; }
    public ExperimentData Data { get; }
    public IReadOnlyList<IGrain> All { get; }

    /// <summary>Per-grain measurements (<see cref="GrainStats"/>), written by the silo that ran the grain.</summary>
    public string StatsDirectory => Path.Combine(Spec.ResultsDir, "grains");

    public string InverseDirectory => Path.Combine(Spec.ResultsDir, "inverses");
    public string ShardPath(ModelSpec model, int shard) => Path.Combine(Spec.ResultsDir, "shards", Safe(model.Id), $"{shard:D4}.csv");

    public string CheckpointHash(ModelSpec model)
    {
        lock (_checkpointHashes)
        {
            if (!_checkpointHashes.TryGetValue(model.Weights, out var hash))
                _checkpointHashes[model.Weights] = hash = ContentHash.OfFile(model.Weights);
            return hash;
        }
    }

    public InverseStore InverseStore(ModelSpec model, Torch.Device device, Action<string>? log) =>
        new(InverseDirectory, CheckpointHash(model), Data.Training.Count > 0 ? Data.Training : Data.Scored.Take(1).ToList(),
            model.Preprocess, device, Spec.BatchSize, log, TrainingSetHash);

    private string? _trainingSetHash;

    /// <summary>
    /// Content hash of the MIP-IN training images, computed once per plan: it keys the saved inverses and is part of
    /// every score grain's inputs. (Training uses the predicted class, so labels and boxes do not enter it.)
    /// </summary>
    public string TrainingSetHash => _trainingSetHash ??= Attribution.MipIn.InverseStore.TrainingSetHashOf(
        Data.Training.Count > 0 ? Data.Training : Data.Scored.Take(1));

    /// <summary>Per-image CSV columns for this experiment's metrics.</summary>
    public IReadOnlyList<string> Metrics => Spec.Metrics;

    internal static string Safe(string id) => id.Replace('/', '_').Replace('@', '_');

    internal static string Hash(object inputs) => ContentHash.OfText(JsonSerializer.Serialize(inputs));
}

/// <summary>Trains (or finds) the MIP-IN inverse of one model for one MIP-IN variant.</summary>
public sealed class TrainInverseGrain(ExperimentGrains plan, ModelSpec model, MethodSpec method) : IGrain
{
    public string Key => $"train/{model.Id}/{method.Label}";
    public IReadOnlyList<string> DependsOn => Array.Empty<string>();
    public int Images => plan.Data.Training.Count;

    public bool IsDone()
    {
        using var store = plan.InverseStore(model, Torch.Device.CPU, null);
        var settings = AttributionMethods.ParseMipIn(model.Architecture, method.Options);
        return File.Exists(store.PathFor(store.ProvenanceFor(model.Architecture, model.NumClasses, settings.Layer, settings.Training)));
    }

    public void Execute(GrainContext context)
    {
        using var store = plan.InverseStore(model, context.Device, context.Log);
        // Creating the method trains the inverse (or loads it if another process just did).
        AttributionMethods.Create("mipin", context.Model(model), method.Options, store);
    }
}

/// <summary>Scores one shard of images for one model with every method and metric; output: one CSV of per-image rows.</summary>
public sealed class ScoreShardGrain(ExperimentGrains plan, ModelSpec model, int shard, IReadOnlyList<string> dependsOn) : IGrain
{
    public string Key => $"score/{model.Id}/{shard:D4}";
    public IReadOnlyList<string> DependsOn => dependsOn;
    public int Images => plan.Data.Shards[shard].Count;
    public string OutputPath => plan.ShardPath(model, shard);
    private string MarkerPath => OutputPath + ".json";

    private string? _inputHash;

    // Computed once per process: it reads every image of the shard.
    private string InputHash => _inputHash ??= ExperimentGrains.Hash(new
    {
        checkpoint = plan.CheckpointHash(model), model.Architecture, model.NumClasses, model.Preprocess,
        methods = plan.Spec.Methods.Select(m => m.Label), plan.Spec.Metrics, seed = plan.Spec.Seed,
        // Contents, not just ids: a replaced image or corrected box/label must not be skipped as done.
        images = plan.Data.Shards[shard].Select(r => new { r.Id, r.ClassIndex, r.Boxes, content = ContentHash.OfFile(r.ImagePath) }),
        training = plan.TrainingSetHash,
        mipinTrainImages = plan.Spec.MipInTrainImages,
    });

    public bool IsDone() => File.Exists(OutputPath) && File.Exists(MarkerPath) && File.ReadAllText(MarkerPath).Contains(InputHash, StringComparison.Ordinal);

    public void Execute(GrainContext context)
    {
        using var store = plan.InverseStore(model, context.Device, context.Log);
        var scorer = new ShardScorer(plan.Spec, model, context.Model(model), store, context.Log);
        var rows = scorer.Score(plan.Data.Shards[shard], context.Cancellation);
        // Remove the old marker first: a crash between the two writes must leave the shard "not done".
        if (File.Exists(MarkerPath)) File.Delete(MarkerPath);
        ImageRow.Write(OutputPath, plan.Metrics, rows);
        AtomicFile.WriteAllText(MarkerPath, JsonSerializer.Serialize(new { key = Key, input_hash = InputHash, device = context.Device.ToString() }));
    }
}

/// <summary>
/// Reads every shard's rows and writes leaderboard.csv, images.csv (all rows), report.html, and throughput.csv (one
/// row per executed grain: device, images/s, peak memory, from the silos' stats files).
/// </summary>
public sealed class AggregateGrain(ExperimentGrains plan, IReadOnlyList<string> dependsOn) : IGrain
{
    public string Key => $"aggregate/{plan.Spec.Name}";
    public IReadOnlyList<string> DependsOn => dependsOn;
    public int Images => 0;
    public string LeaderboardPath => Path.Combine(plan.Spec.ResultsDir, "leaderboard.csv");
    public string ReportPath => Path.Combine(plan.Spec.ResultsDir, "report.html");
    public string ThroughputPath => Path.Combine(plan.Spec.ResultsDir, "throughput.csv");

    // Always re-run: it is cheap and its inputs are the shard files.
    public bool IsDone() => false;

    /// <summary>For status reports: the leaderboard exists and is at least as new as every shard it summarises.</summary>
    public bool IsUpToDate()
    {
        if (!File.Exists(LeaderboardPath)) return false;
        var written = File.GetLastWriteTimeUtc(LeaderboardPath);
        return plan.Spec.Models.All(m => Enumerable.Range(0, plan.Data.Shards.Count)
            .All(s => File.Exists(plan.ShardPath(m, s)) && File.GetLastWriteTimeUtc(plan.ShardPath(m, s)) <= written));
    }

    public void Execute(GrainContext context)
    {
        var rows = new List<ImageRow>();
        foreach (var model in plan.Spec.Models)
            for (var s = 0; s < plan.Data.Shards.Count; s++)
                rows.AddRange(ImageRow.Read(plan.ShardPath(model, s), plan.Metrics));
        var board = Leaderboard.Compute(rows, plan.Metrics);
        ImageRow.Write(Path.Combine(plan.Spec.ResultsDir, "images.csv"), plan.Metrics, rows);
        ReportWriter.Write(ReportPath, plan, board, rows, context);
        var stats = GrainStats.ReadAll(plan.StatsDirectory).Where(s => s.Stage != "aggregate");
        AtomicFile.WriteAllText(ThroughputPath, CsvTable.ToText(GrainStats.CsvHeader, stats.Select(s => s.ToCsvRow())));
        // Last: a leaderboard newer than every shard means the whole aggregate finished (see IsUpToDate).
        AtomicFile.WriteAllText(LeaderboardPath, Leaderboard.ToCsv(board));
    }
}
