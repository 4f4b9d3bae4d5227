using Harness.Models;
using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Attribution.MipIn;

/// <summary>
/// Inverse of a whole residual block (ResNet BasicBlock/Bottleneck, MobileNetV2 InvertedResidual): one learned
/// 3×3 ConvTranspose2d from the block's output channels to its input channels with the block's stride.
/// Initialisation (centre tap; other taps zero) follows the block's linear shortcut: the identity when the block
/// adds its input unchanged, the transposed 1×1 projection when it has one (ResNet downsample), and for
/// MobileNetV2 blocks without a shortcut the transposed product of its 1×1 projection and expansion weights.
/// </summary>
public sealed class ResidualBlockInverse : InverseLayer
{
    private readonly long _stride;

    public ResidualBlockInverse(ResidualBlock block, long inChannels, long outChannels, long stride)
    {
        _stride = stride;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var device = FirstParameter(block).device;
        var weight = torch.zeros(new[] { outChannels, inChannels, 3, 3 }, device: device);
        weight[.., .., 1, 1] = ShortcutMatrix(block, inChannels, outChannels, device);
        RegisterParameter("weight", weight.contiguous());
        RegisterParameter("bias", torch.zeros(new[] { inChannels }, device: device));
    }

    public Tensor weight => GetParameter("weight")!;
    public Tensor bias => GetParameter("bias")!;

    public override Tensor Invert(Tensor signal, Tensor input, Tensor output)
    {
        long Pad(int dim) => input.size(dim) - ((signal.size(dim) - 1) * _stride - 2 + 3);
        return torch.nn.functional.conv_transpose2d(signal, weight, bias, new[] { _stride, _stride }, new long[] { 1, 1 },
            new[] { Pad(2), Pad(3) }, 1, new long[] { 1, 1 });
    }

    // An out × in matrix approximating the block's linear path from input to output.
    private static Tensor ShortcutMatrix(ResidualBlock block, long inChannels, long outChannels, Device device)
    {
        if (block.Downsample is { } down) return ((Conv2d)down[0]).weight.reshape(outChannels, inChannels);
        if (block is InvertedResidual ir)
        {
            if (ir.UsesResidual) return torch.eye(inChannels, device: device);
            var convs = ir.Conv.Layers;
            var projection = ((Conv2d)convs[^2]).weight.reshape(outChannels, -1);             // out × hidden
            if (convs[0] is Sequential expand && ((Conv2d)expand[0]).KernelSize == 1)
                return projection.matmul(((Conv2d)expand[0]).weight.reshape(-1, inChannels)); // (out × hidden)(hidden × in)
            return projection;                                                                  // hidden == in
        }
        return inChannels == outChannels ? torch.eye(inChannels, device: device)
            : throw new NotSupportedException($"{block.GetType().Name} changes channels without a projection shortcut");
    }

    private static Tensor FirstParameter(Module m) => m.parameters().First();
}
