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
    private readonly HashSet<string> _forwardLayers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IDisposable> _cache = new(StringComparer.Ordinal);
    private ForwardPass? _forward;
    private bool _inputGradientRequested;
    private GradientPass? _gradients;

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
        if (_gradients is not null || _forward is not null) throw new InvalidOperationException("register every method before the first Explain call");
        foreach (var layer in method.GradientLayers)
        {
            Model.IndexOf(layer); // fail early on unknown layers
            _gradientLayers.Add(layer);
        }
        foreach (var layer in method.ForwardLayers)
        {
            Model.IndexOf(layer);
            _forwardLayers.Add(layer);
        }
        _inputGradientRequested |= method.NeedsInputGradient;
    }

    /// <summary>
    /// The batch's forward pass: the logits and the activation of every layer a registered method declared in
    /// <see cref="IAttributionMethod.ForwardLayers"/> (detached; do not change them in place). Read off the shared
    /// gradient pass when a method needs one, else one no-grad forward; either way computed once per batch.
    /// </summary>
    public (Tensor Logits, IReadOnlyDictionary<string, Tensor> Activations) Forward
    {
        get
        {
            if (NeedsGradientPass) return (Gradients.Logits, Gradients.Activations);
            _forward ??= ForwardPass.Run(Model, Images, _forwardLayers);
            return (_forward.Logits, _forward.Activations);
        }
    }

    /// <summary>
    /// <see cref="Forward"/> when it holds every layer in <paramref name="layers"/>, else null: a layer no registered
    /// method declared, or one below the lowest layer of a pass that takes only layer gradients. Never runs a pass
    /// for layers nobody declared.
    /// </summary>
    public (Tensor Logits, IReadOnlyDictionary<string, Tensor> Activations)? SharedForward(IReadOnlyCollection<string> layers)
    {
        if (!layers.All(_forwardLayers.Contains)) return null;
        var forward = Forward;
        return layers.All(forward.Activations.ContainsKey) ? forward : null;
    }

    /// <summary>
    /// A value a method derives from this batch, made by <paramref name="create"/> on first use and disposed with the
    /// batch (e.g. MIP-IN's source signal, read by its map and by the completeness and minimality metrics).
    /// </summary>
    public T Cached<T>(string key, Func<T> create) where T : class, IDisposable
    {
        if (_cache.TryGetValue(key, out var value)) return (T)value;
        var made = create();
        _cache[key] = made;
        return made;
    }

    /// <summary>Logits of the batch's forward pass (<see cref="Forward"/>), B×classes.</summary>
    public Tensor Logits => Forward.Logits;

    /// <summary>The target logit y_c of each image (B).</summary>
    public Tensor TargetLogits()
    {
        using var scope = torch.NewDisposeScope();
        return Logits.gather(1, TargetIndex.unsqueeze(1)).squeeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>True when a registered method reads the shared pass (<see cref="Gradients"/>).</summary>
    public bool NeedsGradientPass => _gradientLayers.Count > 0 || _inputGradientRequested;

    /// <summary>The shared forward + backward pass (computed on first use).</summary>
    public GradientPass Gradients => _gradients ??= GradientPass.Run(Model, Images, TargetIndex, _gradientLayers, _inputGradientRequested, _forwardLayers);

    /// <summary>
    /// Each method's maps of this batch as [method][image] float arrays (input frame, row-major), every method
    /// explained from this batch's shared pass; the methods must have been registered.
    /// </summary>
    public float[][][] MapArrays(IReadOnlyList<IAttributionMethod> methods)
    {
        var result = new float[methods.Count][][];
        for (var m = 0; m < methods.Count; m++) result[m] = MapArray(methods[m]);
        return result;
    }

    /// <summary>One registered method's maps of this batch as [image] float arrays (input frame, row-major).</summary>
    public float[][] MapArray(IAttributionMethod method)
    {
        using var scope = torch.NewDisposeScope();
        var maps = method.Explain(this).cpu();
        return Enumerable.Range(0, Size).Select(i => maps[i].contiguous().ToArray<float>()).ToArray();
    }

    public void Dispose()
    {
        foreach (var value in _cache.Values) value.Dispose();
        _cache.Clear();
        _gradients?.Dispose();
        _forward?.Dispose();
        TargetIndex.Dispose();
    }

    // The no-grad forward of a batch no method takes gradients of: logits and the declared activations, owned here.
    private sealed class ForwardPass(Tensor logits, IReadOnlyDictionary<string, Tensor> activations) : IDisposable
    {
        public Tensor Logits { get; } = logits;
        public IReadOnlyDictionary<string, Tensor> Activations { get; } = activations;

        public static ForwardPass Run(ClassifierModel model, Tensor images, IReadOnlyCollection<string> layers)
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var (logits, captured) = model.Capture(images, layers);
            return new ForwardPass(logits.DetachFromDisposeScope(),
                layers.ToDictionary(n => n, n => captured[n].alias().DetachFromDisposeScope(), StringComparer.Ordinal));
        }

        public void Dispose()
        {
            Logits.Dispose();
            foreach (var a in Activations.Values) a.Dispose();
        }
    }
}
