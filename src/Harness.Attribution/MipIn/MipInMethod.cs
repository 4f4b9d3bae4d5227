using Harness.Models;
using Harness.Torch;

namespace Harness.Attribution.MipIn;

/// <summary>What the MIP-IN map sums over channels: the source signal, or source ⊙ activation.</summary>
public enum MipInMapMode
{
    Source,
    SourceTimesActivation,
}

/// <summary>How MIP-IN turns the target logit into the output signal it inverts, and what it does with the result.</summary>
/// <param name="Mode">What the map sums over channels.</param>
/// <param name="BiasInDistractor">Invert y_c − b_c (the output layer's bias is class-independent and left to the
/// distractor) instead of y_c.</param>
/// <param name="SubtractInverseBias">Use g(y_c·e_c) − g(0): the inverse layers' own biases (a class-independent
/// signal the same for every class) are removed from the source.</param>
/// <param name="Complete">Adapt the source to the sample so that pushed forward from layer k it reproduces the target
/// logit exactly (<see cref="SourceCompletion"/>).</param>
/// <param name="Superpose">The map is the superposition of the per-layer maps at k and at every rectified or block
/// output above it with a spatial layout (<see cref="InverseNetwork.UpperSignals"/>), each scaled to maximum 1.</param>
public sealed record MipInExplainOptions(
    MipInMapMode Mode = MipInMapMode.Source,
    bool BiasInDistractor = false,
    bool SubtractInverseBias = false,
    bool Complete = false,
    bool Superpose = false);

/// <summary>
/// MIP-IN saliency ("mipin"). For image x and class c: S_L = y_c·e_c (option: (y_c − b_c)·e_c), inverted down to layer
/// k with x's own forward masks (<see cref="InverseNetwork.SourceSignal"/>; option: minus the inversion of 0), then
/// optionally completed (<see cref="SourceCompletion"/>); map = Σ_channels S_k (option: S_k ⊙ X_k), positive part,
/// bilinear upsampling to the input size (like Grad-CAM for upper layers). A layer with no spatial layout works only if
/// it has one value per input element (e.g. an MLP's flattened input).
/// </summary>
public sealed class MipInMethod : ISourceSignalMethod
{
    public MipInMethod(InverseNetwork network, MipInMapMode mode = MipInMapMode.Source)
        : this(network, new MipInExplainOptions(mode))
    {
    }

    public MipInMethod(InverseNetwork network, MipInExplainOptions options)
    {
        Network = network;
        Options = options;
    }

    public string Name => "mipin";
    public InverseNetwork Network { get; }
    public MipInExplainOptions Options { get; }
    public MipInMapMode Mode => Options.Mode;
    public ClassifierModel Model => Network.Model;
    public string SignalStage => Network.Model.Stages[Network.LayerIndex].Name;

    public Tensor Explain(AttributionBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        // The batch's one forward pass serves the source signal and, with superposition, the per-layer maps above k.
        var (source, activation) = Signals(batch);
        var map = ToInputMap(Weighted(source, activation), batch);
        if (!Options.Superpose) return map.MoveToOuterDisposeScope();
        var (logits, acts) = ForwardOf(batch);
        // The per-layer maps above k, from the same output signal, each scaled to maximum 1 (a zero map stays zero).
        var total = UnitMax(map);
        foreach (var (stage, signal) in Network.UpperSignals(OutputSignal(logits, batch), acts))
            total = total + UnitMax(ToInputMap(Weighted(signal, acts[stage]), batch));
        return total.MoveToOuterDisposeScope();
    }

    // What the map sums over channels: the signal, or signal ⊙ activation (option map).
    private Tensor Weighted(Tensor signal, Tensor activation) =>
        Mode == MipInMapMode.SourceTimesActivation ? signal * activation : signal;

    private static Tensor UnitMax(Tensor maps)
    {
        var max = maps.amax(new long[] { 1, 2 }, keepdim: true);
        return maps / torch.where(max.gt(0), max, torch.ones_like(max));
    }

    // S_L: the target logit (without the output bias when it goes to the distractor) at the target class.
    private Tensor OutputSignal(Tensor logits, AttributionBatch batch)
    {
        var onehot = torch.nn.functional.one_hot(batch.TargetIndex, logits.size(1)).to(logits.dtype);
        return Options.BiasInDistractor ? (logits - MipInTrainer.OutputBias(Network.Model, logits)) * onehot : logits * onehot;
    }

    /// <summary>
    /// S_k for each image's target class, and the forward activation X_k: new handles in the caller's scope on tensors
    /// the batch keeps (computed once per batch, shared with <see cref="Explain"/>), so do not change them in place.
    /// </summary>
    public (Tensor Source, Tensor Activation) SourceSignals(AttributionBatch batch)
    {
        var (source, activation) = Signals(batch);
        return (source.alias(), activation.alias());
    }

    /// <summary>Layers of the batch's forward pass the inversion reads: layer k and every stage above it.</summary>
    public IReadOnlyList<string> ForwardLayers => Network.RequiredStages;

    // S_k and X_k of this batch, computed once per batch and method (the map and the completeness and minimality
    // metrics all read them), owned by the batch.
    private (Tensor Source, Tensor Activation) Signals(AttributionBatch batch)
    {
        var cached = batch.Cached(_signalsKey, () =>
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var (logits, acts) = ForwardOf(batch);
            var (source, activation) = SourceSignals(batch, logits, acts);
            return new SignalPair(source.DetachFromDisposeScope(), activation.DetachFromDisposeScope());
        });
        return (cached.Source, cached.Activation);
    }

    private static long s_instances;
    private readonly string _signalsKey = $"mipin.signals/{Interlocked.Increment(ref s_instances)}";

    // The batch's shared forward when it holds layer k and above (this method was registered on the batch, and the
    // shared pass reached those layers), else a forward of its own in the caller's scope: an unregistered call works.
    private (Tensor Logits, IReadOnlyDictionary<string, Tensor> Activations) ForwardOf(AttributionBatch batch) =>
        batch.SharedForward(Network.RequiredStages) ?? Network.Model.Capture(batch.Images, Network.RequiredStages);

    private sealed record SignalPair(Tensor Source, Tensor Activation) : IDisposable
    {
        public void Dispose()
        {
            Source.Dispose();
            Activation.Dispose();
        }
    }

    // S_k and X_k from a forward pass already captured (both in the caller's scope).
    private (Tensor Source, Tensor Activation) SourceSignals(AttributionBatch batch, Tensor logits, IReadOnlyDictionary<string, Tensor> acts)
    {
        var top = OutputSignal(logits, batch);
        var source = Network.SourceSignal(top, acts);
        if (Options.SubtractInverseBias) source = source - Network.SourceSignal(torch.zeros_like(top), acts);
        var activation = acts[SignalStage];
        if (Options.Complete)
            source = SourceCompletion.Complete(Network.Model, SignalStage, source, activation, batch.TargetIndex,
                logits.gather(1, batch.TargetIndex.unsqueeze(1)).squeeze(1));
        return (source, activation.alias());
    }

    private Tensor ToInputMap(Tensor signal, AttributionBatch batch)
    {
        var b = batch.Size;
        Tensor spatial;
        if (signal.ndim == 4) spatial = signal.sum(1);
        else if (signal.numel() == batch.Images.numel()) spatial = signal.reshape(batch.Images.shape).sum(1);
        else
            throw new InvalidOperationException(
                $"MIP-IN layer {Network.Layer} has shape [{string.Join(", ", signal.shape)}], which has no spatial layout; " +
                "choose a convolutional layer or the model input (for an MLP: 'flatten').");
        var positive = spatial.relu().unsqueeze(1);
        var size = new[] { batch.Height, batch.Width };
        var map = positive.size(2) == size[0] && positive.size(3) == size[1]
            ? positive
            : torch.nn.functional.interpolate(positive, size, mode: torch.nn.InterpolationMode.Bilinear, align_corners: false);
        return map.reshape(b, size[0], size[1]);
    }
}
