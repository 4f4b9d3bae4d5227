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
    public float[][][] Explain(long[] targets)
    {
        using var work = new AttributionBatch(Model, Truth.Images, targets, Methods);
        return work.MapArrays(Methods);
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
