using System.Text.Json;
using Harness.Data;
using Harness.Experiments;

namespace Harness.Grains;

/// <summary>Scores one shard of images for one model with every method and metric; output: one CSV of per-image rows.</summary>
public sealed class ScoreShardGrain(ExperimentPlan plan, ModelSpec model, int shard, IReadOnlyList<string> dependsOn) : IWorkGrain
{
    public string Key => $"score/{model.Id}/{shard:D4}";
    public IReadOnlyList<string> DependsOn => dependsOn;
    public int Images => plan.Data.Shards[shard].Count;
    public string OutputPath => plan.ShardPath(model, shard);
    /// <summary>The marker written last: the key and the hash and stamp of the inputs the output was made from.</summary>
    public string MarkerPath => OutputPath + ".json";

    public string DoneFile => MarkerPath;

    private string? _inputHash;
    private string? _inputStamp;

    // Computed once per process: it reads every image of the shard. Without metric options the hashed description is
    // exactly the one runs before metric_options existed wrote, so their finished shards stay done.
    private string InputHash => _inputHash ??= Describe(Inputs(stamps: false));

    // The same description with file sizes and write times in place of content hashes: no image is read, so status
    // and resume stay fast at ImageNet scale; `mipin verify` compares InputHash.
    private string InputStamp => _inputStamp ??= Describe(Inputs(stamps: true));

    private string Describe(object inputs) => plan.Spec.MetricOptions.Count == 0 ? ExperimentPlan.Hash(inputs)
        : ExperimentPlan.Hash(new
        {
            inputs,
            metricOptions = plan.Spec.MetricOptions.OrderBy(m => m.Key, StringComparer.Ordinal)
                .Select(m => new { metric = m.Key, options = m.Value.OrderBy(o => o.Key, StringComparer.Ordinal) }),
        });

    private object Inputs(bool stamps) => new
    {
        checkpoint = stamps ? plan.CheckpointStamp(model) : plan.CheckpointHash(model), model.Architecture, model.NumClasses, model.Preprocess,
        methods = plan.Spec.Methods.Select(m => m.Label), plan.Spec.Metrics, seed = plan.Spec.Seed,
        // Contents, not just ids: a replaced image or corrected box/label must not be skipped as done.
        images = plan.Data.Shards[shard].Select(r => new
        {
            r.Id, r.ClassIndex, r.Boxes, content = stamps ? ContentHash.StampOfFile(r.ImagePath) : ContentHash.OfFile(r.ImagePath),
        }),
        training = plan.TrainingSetHash,
        mipinTrainImages = plan.Spec.TrainImages, // the name runs before training.images hashed
    };

    private sealed record Marker(string? input_hash, string? input_stamp);

    private Marker? ReadMarker()
    {
        if (!File.Exists(OutputPath) || !File.Exists(MarkerPath)) return null;
        try
        {
            return JsonSerializer.Deserialize<Marker>(File.ReadAllText(MarkerPath));
        }
        catch (JsonException)
        {
            return null; // a damaged marker: the shard is redone
        }
    }

    /// <summary>
    /// Done when the output and its marker exist and the marker's stamp of the inputs (file sizes and write times,
    /// nothing read) matches; a marker written before stamps existed is checked by content.
    /// </summary>
    public bool IsDone() => ReadMarker() is { } m && (m.input_stamp is { } stamp ? stamp == InputStamp : m.input_hash == InputHash);

    /// <summary>The full check of `mipin verify`: the marker's content hash of every input matches (reads every image).</summary>
    public bool IsVerified() => ReadMarker() is { } m && m.input_hash == InputHash;

    public void Execute(GrainContext context)
    {
        using var training = plan.TrainingFor(model, context.Device, context.Log);
        var scorer = new ShardScorer(plan.Spec, model, context.Model(model), training, context.Log);
        var rows = scorer.Score(plan.Data.Shards[shard], context.Cancellation);
        // Remove the old marker first: a crash between the two writes must leave the shard "not done".
        if (File.Exists(MarkerPath)) File.Delete(MarkerPath);
        ImageRow.Write(OutputPath, plan.Spec.Metrics, rows);
        AtomicFile.WriteAllText(MarkerPath, JsonSerializer.Serialize(new { key = Key, input_hash = InputHash, input_stamp = InputStamp, device = context.Device.ToString() }));
    }
}
