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
/// Inverse of average pooling (fixed or adaptive): spreads each pooled value evenly over the inputs it averaged —
/// the adjoint of the pooling, normalised so every input position receives the mean of the outputs that cover it
/// (for non-overlapping windows: a plain copy).
/// </summary>
public sealed class AveragePoolInverse : InverseLayer
{
    private readonly Module _forward;

    public AveragePoolInverse(Module forward) => _forward = forward;

    public override Tensor Invert(Tensor signal, Tensor input, Tensor output)
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
