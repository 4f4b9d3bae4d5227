using Harness.Models;
using Harness.Torch;

namespace Harness.Attribution;

/// <summary>
/// The result of one forward and one backward pass of Σ_b logits[b, target_b]: logits, d/d(input), and for each
/// requested layer its activation A and gradient dA. Computed with torch.autograd.grad, so no parameter's .grad is
/// touched and the frozen model needs no requires_grad. When the pass takes the input gradient (so records the whole
/// model), a batch larger than <see cref="MaxImagesPerPass"/> runs as several passes of near-equal size whose results
/// are concatenated: what autograd saves for the backward grows with the images of one pass, while images/s stops
/// growing long before (see the constant).
/// </summary>
public sealed class GradientPass : IDisposable
{
    private readonly List<Tensor> _owned = new();

    private GradientPass(Tensor logits, Tensor? inputGradient, Dictionary<string, (Tensor A, Tensor Grad)> layers, Dictionary<string, Tensor> activations)
    {
        Logits = logits;
        InputGradient = inputGradient;
        Layers = layers;
        Activations = activations;
        _owned.Add(logits);
        if (inputGradient is not null) _owned.Add(inputGradient);
        foreach (var (a, g) in layers.Values)
        {
            _owned.Add(a);
            _owned.Add(g);
        }
        _owned.AddRange(activations.Values);
    }

    public Tensor Logits { get; }

    /// <summary>d Σ y_target / d input (B×C×H×W), or null if no method asked for it.</summary>
    public Tensor? InputGradient { get; }

    /// <summary>Activation and gradient per requested layer.</summary>
    public IReadOnlyDictionary<string, (Tensor A, Tensor Grad)> Layers { get; }

    /// <summary>
    /// The forward activation of each layer asked for without a gradient (detached), read off the same forward. When
    /// only layer gradients are taken, layers below the lowest gradient layer are left out (no graph runs there).
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> Activations { get; }

    /// <summary>
    /// The most images one forward+backward pass takes. Measured with <c>mipin bench</c> at 2 threads, channels-last:
    /// the input gradient runs at the same images/s at batch 8 as at 32 (MobileNetV2 88 and 87, ResNet-50 15.6 and
    /// 16.1, VGG-19 2.81 and 2.83), but its peak memory triples (MobileNetV2 739 → 2367 MB). Per-image results do not
    /// depend on the split but for float rounding in a few kernels (largest difference seen: 4e-18 in an input
    /// gradient of MobileNetV2; ResNet-50 bit-identical).
    /// </summary>
    public const int MaxImagesPerPass = 8;

    internal static GradientPass Run(ClassifierModel model, Tensor images, Tensor targets, IReadOnlyCollection<string> layers, bool inputGradient,
        IReadOnlyCollection<string> forwardLayers)
    {
        // Only a pass that records the whole model (the input gradient) is split: with layer gradients alone the graph
        // covers the stages above the lowest layer, and the no-grad forward below it runs faster on the whole batch.
        var chunks = inputGradient || layers.Count == 0 ? Chunks(images.size(0)) : new[] { (0L, images.size(0)) };
        if (chunks.Count == 1) return RunOne(model, images, targets, layers, inputGradient, forwardLayers);
        var parts = new List<GradientPass>();
        try
        {
            using var scope = torch.NewDisposeScope(); // the narrowed views and, if a step fails, the partial merge
            foreach (var (start, length) in chunks)
                parts.Add(RunOne(model, images.narrow(0, start, length), targets.narrow(0, start, length), layers, inputGradient, forwardLayers));
            Tensor Cat(Func<GradientPass, Tensor> part) => torch.cat(parts.Select(part).ToArray());
            var merged = layers.ToDictionary(n => n, n => (A: Cat(p => p.Layers[n].A), Grad: Cat(p => p.Layers[n].Grad)), StringComparer.Ordinal);
            // A layer that is also a gradient layer shares the merged activation instead of a second copy.
            var activations = parts[0].Activations.Keys.ToDictionary(n => n,
                n => merged.TryGetValue(n, out var both) ? both.A.alias() : Cat(p => p.Activations[n]), StringComparer.Ordinal);
            var logits = Cat(p => p.Logits);
            var inputGrad = inputGradient ? Cat(p => p.InputGradient!) : null;
            Tensor Own(Tensor t) => t.DetachFromDisposeScope();
            return new GradientPass(Own(logits), inputGrad is null ? null : Own(inputGrad),
                merged.ToDictionary(kv => kv.Key, kv => (Own(kv.Value.A), Own(kv.Value.Grad)), StringComparer.Ordinal),
                activations.ToDictionary(kv => kv.Key, kv => Own(kv.Value), StringComparer.Ordinal));
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    /// <summary>(start, length) of each pass over a batch of <paramref name="size"/> images: as few as
    /// <see cref="MaxImagesPerPass"/> allows, sizes differing by at most one.</summary>
    public static IReadOnlyList<(long Start, long Length)> Chunks(long size)
    {
        var count = Math.Max(1, (size + MaxImagesPerPass - 1) / MaxImagesPerPass);
        var chunks = new List<(long, long)>();
        for (long c = 0, start = 0; c < count; c++)
        {
            var length = size / count + (c < size % count ? 1 : 0);
            chunks.Add((start, length));
            start += length;
        }
        return chunks;
    }

    private static GradientPass RunOne(ClassifierModel model, Tensor images, Tensor targets, IReadOnlyCollection<string> layers, bool inputGradient,
        IReadOnlyCollection<string> forwardLayers)
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        var names = layers.ToList();
        var input = images.detach();
        Tensor logits;
        IReadOnlyDictionary<string, Tensor> captured;
        if (inputGradient || names.Count == 0)
        {
            // Track the input: with a frozen model it is the only leaf that makes autograd record the graph.
            input.requires_grad = true;
            (logits, captured) = model.Capture(input, names.Concat(forwardLayers));
        }
        else
        {
            // Only layer gradients: the stages below the lowest requested layer run without recording a graph
            // (as pytorch-grad-cam's hook does with a frozen model), and its output becomes the leaf. Same values,
            // less time and memory: no autograd bookkeeping or saved tensors below that layer.
            // Forward-only layers below that layer are not captured here (recording a graph from them would cost what
            // skipping the graph saves); a method reading them runs its own forward (see AttributionBatch.Forward).
            var lowest = names.OrderBy(model.IndexOf).First();
            forwardLayers = forwardLayers.Where(l => model.IndexOf(l) >= model.IndexOf(lowest)).ToList();
            Tensor start;
            using (torch.no_grad()) start = model.ForwardTo(images, lowest);
            var leaf = start.detach();
            leaf.requires_grad = true;
            (logits, captured) = model.CaptureFrom(leaf, lowest, names.Concat(forwardLayers));
        }
        var wrt = new List<Tensor>();
        if (inputGradient) wrt.Add(input);
        wrt.AddRange(names.Select(n => captured[n]));
        var selected = logits.gather(1, targets.unsqueeze(1)).sum();
        var grads = wrt.Count == 0 ? Array.Empty<Tensor?>() : torch.autograd.grad(new[] { selected }, wrt.ToArray(), allow_unused: true);
        Tensor Keep(Tensor t) => t.detach().DetachFromDisposeScope();
        Tensor GradOrZeros(Tensor? g, Tensor like) => g is null ? torch.zeros_like(like) : g;
        var offset = inputGradient ? 1 : 0;
        var result = new Dictionary<string, (Tensor, Tensor)>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
            result[names[i]] = (Keep(captured[names[i]]), Keep(GradOrZeros(grads[offset + i], captured[names[i]])));
        var activations = forwardLayers.ToDictionary(n => n, n => Keep(captured[n]), StringComparer.Ordinal);
        return new GradientPass(Keep(logits), inputGradient ? Keep(GradOrZeros(grads[0], input)) : null, result, activations);
    }

    /// <summary>
    /// d Σ_b logits[b, targetIndex_b] / d images (same shape as <paramref name="images"/>, detached), for methods
    /// that need gradients at inputs other than the batch's (SmoothGrad's noisy copies, Integrated Gradients' path
    /// points). One forward and one backward pass; the result is in the caller's dispose scope.
    /// </summary>
    internal static Tensor InputGradientAt(ClassifierModel model, Tensor images, Tensor targetIndex)
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        var input = images.detach();
        input.requires_grad = true;
        var selected = model.forward(input).gather(1, targetIndex.unsqueeze(1)).sum();
        var g = torch.autograd.grad(new[] { selected }, new[] { input }, allow_unused: true)[0];
        return (g ?? torch.zeros_like(input)).detach().MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var t in _owned) t.Dispose();
    }
}
