using Harness.Models;
using Harness.Torch;

namespace Harness.Attribution;

/// <summary>
/// One batch to explain: model, images (B×3×H×W on the model's device), one target class per image, and the
/// work several methods share. <see cref="Gradients"/> runs ONE forward and ONE backward pass of
/// Σ_b logits[b, target_b] that yields the input gradient and the activations and gradients at every layer any
/// method asked for, so gradient, gradient×input and Grad-CAM together cost one pass.
/// Dispose the batch to free what it cached.
/// </summary>
public sealed class AttributionBatch : IDisposable
{
    private readonly HashSet<string> _gradientLayers = new(StringComparer.Ordinal);
    private bool _inputGradientRequested;
    private GradientPass? _gradients;
    private Tensor? _logits;
    private bool _ownsLogits; // true when the logits come from our own no-grad pass (else the GradientPass owns them)

    public AttributionBatch(ClassifierModel model, Tensor images, long[] targets, IEnumerable<IAttributionMethod>? methods = null)
    {
        if (images.ndim != 4) throw new ArgumentException($"images must be B×C×H×W, got [{string.Join(", ", images.shape)}]", nameof(images));
        if (images.size(0) != targets.Length)
            throw new ArgumentException($"{targets.Length} targets for a batch of {images.size(0)} images", nameof(targets));
        foreach (var t in targets)
            if (t < 0 || t >= model.NumClasses)
                throw new ArgumentOutOfRangeException(nameof(targets), t, $"target class must be in [0, {model.NumClasses})");
        Model = model;
        Images = images;
        Targets = targets;
        // The batch owns its cached tensors explicitly (freed in Dispose), independent of the caller's scopes.
        TargetIndex = torch.tensor(targets, device: images.device).DetachFromDisposeScope();
        foreach (var m in methods ?? Array.Empty<IAttributionMethod>()) Register(m);
    }

    public ClassifierModel Model { get; }
    public Tensor Images { get; }
    public long[] Targets { get; }

    /// <summary>The targets as an int64 tensor on the images' device.</summary>
    public Tensor TargetIndex { get; }

    public int Size => Targets.Length;
    public long Height => Images.size(2);
    public long Width => Images.size(3);

    /// <summary>Declares what a method will read, so the shared pass computes it in one go.</summary>
    public void Register(IAttributionMethod method)
    {
        if (_gradients is not null) throw new InvalidOperationException("register every method before the first Explain call");
        foreach (var layer in method.GradientLayers)
        {
            Model.IndexOf(layer); // fail early on unknown layers
            _gradientLayers.Add(layer);
        }
        _inputGradientRequested |= method.NeedsInputGradient;
    }

    /// <summary>Logits of the (no-grad) forward pass, B×classes.</summary>
    public Tensor Logits
    {
        get
        {
            if (_logits is not null) return _logits;
            if (_gradients is not null) return _logits = _gradients.Logits;
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            _ownsLogits = true;
            return _logits = Model.forward(Images).DetachFromDisposeScope();
        }
    }

    /// <summary>The target logit y_c of each image (B).</summary>
    public Tensor TargetLogits()
    {
        using var scope = torch.NewDisposeScope();
        return Logits.gather(1, TargetIndex.unsqueeze(1)).squeeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>The shared forward + backward pass (computed on first use).</summary>
    public GradientPass Gradients => _gradients ??= GradientPass.Run(Model, Images, TargetIndex, _gradientLayers, _inputGradientRequested);

    /// <summary>
    /// Each method's maps of this batch as [method][image] float arrays (input frame, row-major), every method
    /// explained from this batch's shared pass; the methods must have been registered.
    /// </summary>
    public float[][][] MapArrays(IReadOnlyList<IAttributionMethod> methods)
    {
        var result = new float[methods.Count][][];
        for (var m = 0; m < methods.Count; m++)
        {
            using var scope = torch.NewDisposeScope();
            var maps = methods[m].Explain(this).cpu();
            result[m] = Enumerable.Range(0, Size).Select(i => maps[i].contiguous().ToArray<float>()).ToArray();
        }
        return result;
    }

    public void Dispose()
    {
        _gradients?.Dispose();
        if (_ownsLogits) _logits?.Dispose();
        TargetIndex.Dispose();
    }
}
