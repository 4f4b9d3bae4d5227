using Harness.Grains.Data;

namespace Harness.Grains.Experiments;

/// <summary>
/// The experiment's images: the dataset (sorted by id), the MIP-IN training images (the first N) and the scored
/// images (the rest), cut into fixed-size shards. Deterministic, so every machine plans the same shards.
/// </summary>
public sealed class ExperimentData
{
    public ExperimentData(ExperimentSpec spec)
    {
        Dataset = ImageNetValDataset.LoadFolder(spec.DatasetRoot);
        IReadOnlyList<ImageRecord> records = Dataset.Records;
        if (spec.DatasetLimit is { } limit) records = records.Take(limit).ToList();
        var usesMipIn = spec.Methods.Any(m => m.Name == "mipin");
        var trainCount = usesMipIn ? Math.Min(spec.MipInTrainImages, records.Count - 1) : 0;
        if (usesMipIn && trainCount < 1) throw new SpecException($"{spec.SourceFile}: MIP-IN needs training images and at least one image to score; the dataset has {records.Count}");
        Training = records.Take(trainCount).ToList();
        Scored = records.Skip(trainCount).ToList();
        Shards = Sharding.BySize(Scored, spec.ShardSize);
    }

    public ImageNetValDataset Dataset { get; }
    public IReadOnlyList<ImageRecord> Training { get; }
    public IReadOnlyList<ImageRecord> Scored { get; }
    public IReadOnlyList<IReadOnlyList<ImageRecord>> Shards { get; }
}
