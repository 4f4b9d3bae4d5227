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
    private string MarkerPath => OutputPath + ".json";

    private string? _inputHash;

    // Computed once per process: it reads every image of the shard. Without metric options the hashed description is
    // exactly the one runs before metric_options existed wrote, so their finished shards stay done.
    private string InputHash => _inputHash ??= plan.Spec.MetricOptions.Count == 0 ? ExperimentPlan.Hash(Inputs)
        : ExperimentPlan.Hash(new
        {
            inputs = Inputs,
            metricOptions = plan.Spec.MetricOptions.OrderBy(m => m.Key, StringComparer.Ordinal)
                .Select(m => new { metric = m.Key, options = m.Value.OrderBy(o => o.Key, StringComparer.Ordinal) }),
        });

    private object Inputs => new
    {
        checkpoint = plan.CheckpointHash(model), model.Architecture, model.NumClasses, model.Preprocess,
        methods = plan.Spec.Methods.Select(m => m.Label), plan.Spec.Metrics, seed = plan.Spec.Seed,
        // Contents, not just ids: a replaced image or corrected box/label must not be skipped as done.
        images = plan.Data.Shards[shard].Select(r => new { r.Id, r.ClassIndex, r.Boxes, content = ContentHash.OfFile(r.ImagePath) }),
        training = plan.TrainingSetHash,
        mipinTrainImages = plan.Spec.TrainImages, // the name runs before training.images hashed
    };

    public bool IsDone() => File.Exists(OutputPath) && File.Exists(MarkerPath) && File.ReadAllText(MarkerPath).Contains(InputHash, StringComparison.Ordinal);

    public void Execute(GrainContext context)
    {
        using var training = plan.TrainingFor(model, context.Device, context.Log);
        var scorer = new ShardScorer(plan.Spec, model, context.Model(model), training, context.Log);
        var rows = scorer.Score(plan.Data.Shards[shard], context.Cancellation);
        // Remove the old marker first: a crash between the two writes must leave the shard "not done".
        if (File.Exists(MarkerPath)) File.Delete(MarkerPath);
        ImageRow.Write(OutputPath, plan.Spec.Metrics, rows);
        AtomicFile.WriteAllText(MarkerPath, JsonSerializer.Serialize(new { key = Key, input_hash = InputHash, device = context.Device.ToString() }));
    }
}
