using Harness.Attribution;
using Harness.Models;
using Harness.Torch;

namespace Harness.Metrics;

/// <summary>
/// One batch of images as a model-querying metric (<see cref="IModelMetric"/>) sees it: the model, the methods being
/// scored, the batch explained for the true classes (<see cref="Truth"/>, its maps in <see cref="TruthMaps"/>), the
/// run's seed, and <see cref="Explain"/> for maps of other classes. Work that several metrics need is computed once
/// through <see cref="Shared{T}"/>. Owned by the caller, which disposes <see cref="Truth"/>.
/// </summary>
public sealed class ModelMetricBatch(
    ClassifierModel model,
    IReadOnlyList<string> imageIds,
    IReadOnlyList<IAttributionMethod> methods,
    AttributionBatch truth,
    float[][][] truthMaps,
    ulong seed)
{
    private readonly Dictionary<string, object> _shared = new(StringComparer.Ordinal);

    public ClassifierModel Model { get; } = model;

    /// <summary>The images' ids (a metric's per-image randomness is seeded from them, so it does not depend on batching).</summary>
    public IReadOnlyList<string> ImageIds { get; } = imageIds;

    /// <summary>The methods being scored, in result order.</summary>
    public IReadOnlyList<IAttributionMethod> Methods { get; } = methods;

    /// <summary>The images explained for their true classes; its images, targets and logits are the batch's.</summary>
    public AttributionBatch Truth { get; } = truth;

    /// <summary>Each method's map of each image for its true class: [method][image], input frame, row-major.</summary>
    public float[][][] TruthMaps { get; } = truthMaps;

    /// <summary>The experiment's seed.</summary>
    public ulong Seed { get; } = seed;

    /// <summary>Number of images.</summary>
    public int Count => ImageIds.Count;

    /// <summary>Every method's maps of the batch's images for <paramref name="targets"/> (one per image), in one shared pass.</summary>
    public float[][][] Explain(long[] targets) => Explain(new[] { targets })[0];

    /// <summary>
    /// Every method's maps for several target sets at once, [set][method][image]: the batch's images repeated once
    /// per set go through ONE <see cref="AttributionBatch"/>, so the extra explanations a metric needs share their
    /// passes (the gradient pass still splits into <see cref="GradientPass.MaxImagesPerPass"/>-image passes).
    /// </summary>
    public float[][][][] Explain(IReadOnlyList<long[]> targetSets)
    {
        ArgumentNullException.ThrowIfNull(targetSets);
        foreach (var t in targetSets)
            if (t.Length != Count) throw new ArgumentException($"{t.Length} targets for a batch of {Count} images", nameof(targetSets));
        using var scope = torch.NewDisposeScope();
        var images = targetSets.Count == 1 ? Truth.Images : torch.cat(Enumerable.Repeat(Truth.Images, targetSets.Count).ToArray());
        using var work = new AttributionBatch(Model, images, targetSets.SelectMany(t => t).ToArray(), Methods);
        var maps = work.MapArrays(Methods);
        return Enumerable.Range(0, targetSets.Count)
            .Select(s => maps.Select(perMethod => perMethod.Skip(s * Count).Take(Count).ToArray()).ToArray())
            .ToArray();
    }

    /// <summary>The value stored under <paramref name="key"/>, computed by <paramref name="compute"/> on first use in this batch.</summary>
    public T Shared<T>(string key, Func<T> compute) where T : class
    {
        if (_shared.TryGetValue(key, out var value)) return (T)value;
        var made = compute();
        _shared[key] = made;
        return made;
    }
}
