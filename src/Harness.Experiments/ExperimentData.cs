using Harness.Attribution;
using Harness.Data;

namespace Harness.Experiments;

/// <summary>
/// The experiment's images: the dataset (sorted by id), the training images of trainable methods such as MIP-IN (the first N) and the scored
/// images (the rest), cut into fixed-size shards. Deterministic, so every machine plans the same shards.
/// </summary>
public sealed class ExperimentData
{
    public ExperimentData(ExperimentSpec spec)
    {
        Dataset = ImageNetValDataset.LoadFolder(spec.DatasetRoot);
        IReadOnlyList<ImageRecord> records = Dataset.Records;
        if (spec.DatasetLimit is { } limit) records = records.Take(limit).ToList();
        var trained = spec.Methods.Where(m => AttributionMethods.IsTrainable(m.Name)).Select(m => m.Name).Distinct().ToList();
        var trainCount = trained.Count > 0 ? Math.Min(spec.TrainImages, records.Count - 1) : 0;
        if (trained.Count > 0 && trainCount < 1)
            throw new SpecException($"{spec.SourceFile}: {string.Join(", ", trained)} must be trained: it needs training images and at least one image to score; the dataset has {records.Count}");
        Training = records.Take(trainCount).ToList();
        Scored = records.Skip(trainCount).ToList();
        Shards = Sharding.BySize(Scored, spec.ShardSize);
        // Issues of images the limit would have cut anyway (ids after the last kept one) are not this run's.
        var last = records.Count > 0 && records.Count < Dataset.Records.Count ? records[^1].Id : null;
        Unreadable = Dataset.Issues.Where(i => last is null || string.CompareOrdinal(i.Id, last) <= 0).ToList();
    }

    /// <summary>
    /// Images the dataset could not use (broken or missing annotation, unknown synset, empty file, …): never planned,
    /// but counted as skipped for every method variant by the aggregate, so the leaderboard's <c>skipped</c> column
    /// and images.csv show them.
    /// </summary>
    public IReadOnlyList<DataIssue> Unreadable { get; }

    public ImageNetValDataset Dataset { get; }
    public IReadOnlyList<ImageRecord> Training { get; }
    public IReadOnlyList<ImageRecord> Scored { get; }
    public IReadOnlyList<IReadOnlyList<ImageRecord>> Shards { get; }
}
