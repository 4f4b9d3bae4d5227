namespace Harness.Torch.Modules;

/// <summary>
/// A <see cref="Conv2d"/> followed by an eval-mode <see cref="BatchNorm2d"/>, run as ONE convolution with folded
/// weights, as torch.fx's <c>fuse</c> and TorchScript's <c>freeze</c> do: with s = γ / √(σ² + ε),
/// W' = W·s (per output channel) and b' = (b − μ)·s + β. The pair is the same affine map of the input, so outputs
/// agree with conv-then-BN up to float rounding and gradients w.r.t. the input are the same; what is saved is a full
/// read and write of the activation (and its allocation) per pair, about a fifth of a MobileNetV2 forward on the CPU.
/// Folding happens only for frozen modules (no parameter requires grad) with the BN in eval mode, so training and
/// gradients w.r.t. weights see the two separate ops. The folded weights are cached on the BN module and rebuilt when
/// any source tensor is replaced (to(device), to(memory_format)) or changed in place (load_state_dict's copy_), and
/// dropped by a training-mode BN pass (its running-statistics update does not bump their versions).
/// </summary>
public static class ConvBatchNorm
{
    /// <summary>Whether <see cref="Forward"/> folds this pair (frozen modules, BN in eval mode, matching channels).</summary>
    public static bool CanFold(Conv2d conv, BatchNorm2d bn) =>
        !bn.training && conv.OutChannels == bn.NumFeatures && !conv.weight.requires_grad &&
        !(conv.bias?.requires_grad ?? false) && !bn.weight.requires_grad && !bn.bias.requires_grad;

    /// <summary>bn(conv(input)), folded into one convolution when <see cref="CanFold"/>.</summary>
    public static Tensor Forward(Conv2d conv, BatchNorm2d bn, Tensor input)
    {
        if (!CanFold(conv, bn))
        {
            using var convolved = conv.forward(input);
            return bn.forward(convolved);
        }
        var (weight, bias) = bn.FoldedInto(conv);
        return torch.nn.functional.conv2d(input, weight, bias, conv.Stride, conv.Padding, conv.Dilation, conv.Groups);
    }

    /// <summary>
    /// <paramref name="rectifier"/>(bn(conv(input))) with the rectifier (ReLU or ReLU6) in place: folded into one
    /// convolution when <see cref="CanFold"/>, the rectifier inside it where the shim can (<see cref="Rectifier.AfterConvolution"/>).
    /// </summary>
    public static Tensor Forward(Conv2d conv, BatchNorm2d bn, Tensor input, Module rectifier)
    {
        if (!CanFold(conv, bn))
        {
            var y = Forward(conv, bn, input);
            Rectifier.TryInPlace(rectifier, y, out var rectified);
            return rectified;
        }
        var (weight, bias) = bn.FoldedInto(conv);
        return Rectifier.AfterConvolution(input, weight, bias, conv, rectifier);
    }

    /// <summary>
    /// <see cref="Forward(Conv2d, BatchNorm2d, Tensor, Module)"/>, and the input passed on for a residual block's
    /// identity shortcut (<see cref="FrozenConvolution.Conv2dRectifiedPassingInput"/>): a shortcut taken from
    /// <c>PassedInput</c> has its gradient added inside this convolution's backward. Where the pair does not fold into
    /// one ungrouped convolution, <c>PassedInput</c> is an alias of the input. The caller owns both tensors.
    /// </summary>
    public static (Tensor Output, Tensor PassedInput) ForwardPassingInput(Conv2d conv, BatchNorm2d bn, Tensor input,
        Module rectifier)
    {
        if (!CanFold(conv, bn) || conv.Groups != 1 || !Rectifier.IsRectifier(rectifier))
            return (Forward(conv, bn, input, rectifier), input.alias());
        var (weight, bias) = bn.FoldedInto(conv);
        return FrozenConvolution.Conv2dRectifiedPassingInput(input, weight, bias, new[] { conv.Stride, conv.Stride },
            new[] { conv.Padding, conv.Padding }, new[] { conv.Dilation, conv.Dilation }, rectifier is ReLU6);
    }

    /// <summary>
    /// bn(conv(input)) + <paramref name="accumulator"/>, then a ReLU when <paramref name="relu"/> (a residual block's
    /// sum): folded into one convolution when <see cref="CanFold"/>, and where the shim can, added and rectified inside
    /// it, into the accumulator's memory (<see cref="FrozenConvolution.Conv2dAccumulate"/>). Without autograd the caller
    /// gives <paramref name="accumulator"/> up: afterwards it may hold the result or its old values. While autograd
    /// records it is left unchanged (the shim sums into a copy), so any tensor may be passed then.
    /// </summary>
    public static Tensor Forward(Conv2d conv, BatchNorm2d bn, Tensor input, Tensor accumulator, bool relu)
    {
        if (!CanFold(conv, bn))
        {
            var y = Forward(conv, bn, input).add_(accumulator);
            return relu ? y.relu_() : y;
        }
        var (weight, bias) = bn.FoldedInto(conv);
        return FrozenConvolution.Conv2dAccumulate(input, weight, bias, new[] { conv.Stride, conv.Stride },
            new[] { conv.Padding, conv.Padding }, new[] { conv.Dilation, conv.Dilation }, conv.Groups, accumulator, relu);
    }

    /// <summary>Whether <see cref="ForwardBlocked"/> takes this pair: it folds (<see cref="CanFold"/>), dilation 1.</summary>
    public static bool CanForwardBlocked(Conv2d conv, BatchNorm2d bn) => CanFold(conv, bn) && conv.Dilation == 1;

    /// <summary>
    /// <paramref name="rectifier"/>(bn(conv(input)) + <paramref name="accumulator"/>) on blocked activations, as one
    /// folded convolution with the sum and the rectifier (ReLU, ReLU6 or none) inside its kernel
    /// (<see cref="BlockedActivation.Conv2d"/>): without autograd the accumulator, when given, is given up and returned;
    /// while autograd records, a new activation is returned. Needs <see cref="CanForwardBlocked"/>.
    /// </summary>
    public static BlockedActivation ForwardBlocked(Conv2d conv, BatchNorm2d bn, BlockedActivation input,
        Module? rectifier = null, BlockedActivation? accumulator = null)
    {
        if (!CanForwardBlocked(conv, bn))
            throw new InvalidOperationException("a blocked convolution needs a frozen conv (dilation 1) and an eval-mode batch norm to fold into it");
        var (weight, bias) = bn.FoldedInto(conv);
        var post = rectifier switch
        {
            null => OutputRectifier.None,
            ReLU => OutputRectifier.ReLU,
            ReLU6 => OutputRectifier.ReLU6,
            _ => throw new ArgumentException($"{rectifier.GetType().Name} cannot run inside a convolution", nameof(rectifier)),
        };
        return input.Conv2d(weight, bias, conv.Stride, conv.Padding, conv.Groups, post, accumulator);
    }

    /// <summary>
    /// The folded (weight, bias) of <paramref name="conv"/> followed by <paramref name="bn"/>, computed in float64 and
    /// stored in the conv weight's dtype, device and memory format. The caller owns neither tensor.
    /// </summary>
    internal static Folded Fold(Conv2d conv, BatchNorm2d bn)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var w = conv.weight;
        var scale = bn.weight.to(ScalarType.Float64) / (bn.running_var.to(ScalarType.Float64) + bn.Eps).sqrt();
        var convBias = conv.bias?.to(ScalarType.Float64) ?? torch.zeros_like(scale);
        var bias = (convBias - bn.running_mean.to(ScalarType.Float64)) * scale + bn.bias.to(ScalarType.Float64);
        var weight = (w.to(ScalarType.Float64) * scale.reshape(-1, 1, 1, 1)).to(w.dtype);
        if (!w.is_contiguous() && w.is_contiguous(MemoryFormat.ChannelsLast)) weight = weight.contiguous(MemoryFormat.ChannelsLast);
        return new Folded(Sources(conv, bn), weight.DetachFromDisposeScope(), bias.to(w.dtype).DetachFromDisposeScope());
    }

    // The tensors the fold is computed from, with their version counters.
    internal static (Tensor Tensor, long Version)[] Sources(Conv2d conv, BatchNorm2d bn)
    {
        var tensors = conv.bias is { } b
            ? new[] { conv.weight, b, bn.weight, bn.bias, bn.running_mean, bn.running_var }
            : new[] { conv.weight, bn.weight, bn.bias, bn.running_mean, bn.running_var };
        return Array.ConvertAll(tensors, t => (t, t._version()));
    }

    /// <summary>Folded weights and the source tensors (and versions) they were computed from.</summary>
    internal sealed class Folded(
        (Tensor Tensor, long Version)[] sources, Tensor weight, Tensor bias) : IDisposable
    {
        public Tensor Weight { get; } = weight;
        public Tensor Bias { get; } = bias;

        /// <summary>True while every source is the same tensor object at the same version.</summary>
        public bool IsCurrent((Tensor Tensor, long Version)[] now)
        {
            if (now.Length != sources.Length) return false;
            for (var i = 0; i < now.Length; i++)
                if (!ReferenceEquals(now[i].Tensor, sources[i].Tensor) || now[i].Version != sources[i].Version) return false;
            return true;
        }

        public void Dispose()
        {
            Weight.Dispose();
            Bias.Dispose();
        }
    }
}
