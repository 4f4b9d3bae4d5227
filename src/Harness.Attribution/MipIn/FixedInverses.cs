using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Attribution.MipIn;

/// <summary>Inverse of MaxPool2d: unpooling with this sample's forward switches (the position of each maximum).</summary>
public sealed class MaxUnpoolInverse : InverseLayer
{
    private readonly MaxPool2d _forward;

    public MaxUnpoolInverse(MaxPool2d forward) => _forward = forward;

    public override Tensor Invert(Tensor signal, Tensor input, Tensor output)
    {
        using var scope = torch.NewDisposeScope();
        var (_, switches) = _forward.ForwardWithIndices(input);
        return torch.nn.functional.max_unpool2d(signal, switches, new[] { input.size(2), input.size(3) }).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Inverse of average pooling (fixed or adaptive). <see cref="Proportional"/> false (<c>pool_inverse: even</c>):
/// spreads each pooled value evenly over the inputs it averaged — the adjoint of the pooling, normalised so every
/// input position receives the mean of the outputs that cover it (for non-overlapping windows: a plain copy).
/// <see cref="Proportional"/> true (<c>pool_inverse: proportional</c>): spreads it in proportion to this sample's
/// forward input, S_in = X ⊙ spread(S_out / Y) (0 where the window's mean Y is 0) — average pooling's "switches",
/// as max-unpooling uses the forward maxima. Pooling S_in gives S_out back wherever Y ≠ 0, and S_in is zero where X
/// is, so the rectifier's gate below loses nothing.
/// </summary>
public sealed class AveragePoolInverse : InverseLayer
{
    private readonly Module _forward;

    public AveragePoolInverse(Module forward, bool proportional = false)
    {
        _forward = forward;
        Proportional = proportional;
    }

    /// <summary>Whether pooled values are spread in proportion to the forward input (else evenly).</summary>
    public bool Proportional { get; }

    public override Tensor Invert(Tensor signal, Tensor input, Tensor output)
    {
        if (!Proportional) return Even(signal, input);
        using var scope = torch.NewDisposeScope();
        // X ⊙ spread(S_out / Y): each input gets its window's S_out in the share X_p / Y of the window's mean, so the
        // window's mean of S_in is S_out again (exactly for non-overlapping windows, e.g. global pooling).
        var pooled = output.ne(0);
        var ratio = torch.where(pooled, signal / torch.where(pooled, output, torch.ones_like(output)), torch.zeros_like(signal));
        return (Even(ratio, input) * input).MoveToOuterDisposeScope();
    }

    private Tensor Even(Tensor signal, Tensor input)
    {
        // Fast paths, exactly the general rule's result: global pooling (one output covers every input, which gets
        // that value) and pooling that keeps the size (adaptive pooling to the input's own size is the identity).
        if (_forward is AdaptiveAvgPool2d && signal.size(2) == 1 && signal.size(3) == 1)
            return signal.expand(signal.size(0), signal.size(1), input.size(2), input.size(3));
        if (_forward is AdaptiveAvgPool2d && signal.size(2) == input.size(2) && signal.size(3) == input.size(3))
            return signal.alias();
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        var probe = torch.zeros(new[] { 1L, 1, input.size(2), input.size(3) }, device: input.device).requires_grad_();
        var pooled = _forward.forward(probe);
        var coverage = torch.autograd.grad(new[] { pooled }, new[] { probe }, new Tensor?[] { torch.ones_like(pooled) }, retain_graph: true)[0]!;
        var flat = signal.reshape(signal.size(0) * signal.size(1), 1, signal.size(2), signal.size(3));
        // The adjoint for every (sample, channel) at once: treat them as a batch of single-channel maps.
        var probes = torch.zeros(new[] { flat.size(0), 1, input.size(2), input.size(3) }, device: input.device).requires_grad_();
        var adjoint = torch.autograd.grad(new[] { _forward.forward(probes) }, new[] { probes }, new Tensor?[] { flat })[0]!;
        return (adjoint / coverage).reshape(input.shape).detach().MoveToOuterDisposeScope();
    }
}

/// <summary>Inverse of Flatten (or any reshape): reshapes the signal to the stage input's shape.</summary>
public sealed class ReshapeInverse : InverseLayer
{
    public override Tensor Invert(Tensor signal, Tensor input, Tensor output) => signal.reshape(input.shape);
}

/// <summary>
/// Inverse of stages that do not change the layout: ReLU/ReLU6 (their rectification is applied as this sample's
/// forward indicator by the network, not here), Dropout and Identity (identity in eval mode).
/// </summary>
public sealed class IdentityInverse : InverseLayer
{
    public override Tensor Invert(Tensor signal, Tensor input, Tensor output) => signal.alias();
}
