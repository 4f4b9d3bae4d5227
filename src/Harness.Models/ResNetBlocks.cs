using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Models;

/// <summary>
/// A residual block: out = relu(body(x) + shortcut(x)). Inverted as a whole block by MIP-IN. Conv + BN pairs run folded
/// when frozen (<see cref="ConvBatchNorm"/>) and rectifiers work in place, as in torchvision.
/// </summary>
public abstract class ResidualBlock : Module
{
    // The rectifier between convolutions, passed to ConvBatchNorm.Forward (stateless, so one serves every block).
    private protected static readonly ReLU s_relu = new();

    /// <summary>The 1×1 conv + BN projection on the shortcut, or null for the identity.</summary>
    public Sequential? Downsample { get; protected init; }

    /// <summary>
    /// relu(body + shortcut(input)), computed in place in <paramref name="body"/> as torchvision does
    /// (<c>out += identity; relu(out)</c>): body is a fresh conv/BN output, which no backward formula reads.
    /// </summary>
    protected Tensor AddShortcut(Tensor body, Tensor input)
    {
        using var shortcut = Downsample?.forward(input) ?? input.alias();
        return body.add_(shortcut).relu_();
    }
}

/// <summary>torchvision's BasicBlock (ResNet-18/34): 3×3 conv–BN–ReLU–3×3 conv–BN, plus the shortcut, then ReLU.</summary>
public sealed class BasicBlock : ResidualBlock
{
    public const int Expansion = 1;

    public BasicBlock(long inplanes, long planes, long stride)
    {
        Conv1 = RegisterModule("conv1", new Conv2d(inplanes, planes, 3, stride: stride, padding: 1, bias: false));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        RegisterModule("relu", new ReLU());
        Conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, padding: 1, bias: false));
        Bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        if (stride != 1 || inplanes != planes)
            Downsample = RegisterModule("downsample", new Sequential(new Conv2d(inplanes, planes, 1, stride: stride, bias: false), new BatchNorm2d(planes)));
    }

    public Conv2d Conv1 { get; }
    public BatchNorm2d Bn1 { get; }
    public Conv2d Conv2 { get; }
    public BatchNorm2d Bn2 { get; }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = ConvBatchNorm.Forward(Conv1, Bn1, input, s_relu);
        var body = ConvBatchNorm.Forward(Conv2, Bn2, x);
        x.Dispose();
        return AddShortcut(body, input).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// torchvision's Bottleneck (ResNet-50/101, "V1.5": the stride sits on the 3×3 conv): 1×1 reduce – 3×3 – 1×1 expand
/// (×4), each with BN, ReLU between, plus the shortcut, then ReLU.
/// </summary>
public sealed class Bottleneck : ResidualBlock
{
    public const int Expansion = 4;

    public Bottleneck(long inplanes, long planes, long stride)
    {
        var width = planes;
        Conv1 = RegisterModule("conv1", new Conv2d(inplanes, width, 1, bias: false));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(width));
        Conv2 = RegisterModule("conv2", new Conv2d(width, width, 3, stride: stride, padding: 1, bias: false));
        Bn2 = RegisterModule("bn2", new BatchNorm2d(width));
        Conv3 = RegisterModule("conv3", new Conv2d(width, planes * Expansion, 1, bias: false));
        Bn3 = RegisterModule("bn3", new BatchNorm2d(planes * Expansion));
        RegisterModule("relu", new ReLU());
        if (stride != 1 || inplanes != planes * Expansion)
            Downsample = RegisterModule("downsample", new Sequential(
                new Conv2d(inplanes, planes * Expansion, 1, stride: stride, bias: false), new BatchNorm2d(planes * Expansion)));
    }

    public Conv2d Conv1 { get; }
    public BatchNorm2d Bn1 { get; }
    public Conv2d Conv2 { get; }
    public BatchNorm2d Bn2 { get; }
    public Conv2d Conv3 { get; }
    public BatchNorm2d Bn3 { get; }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var a = ConvBatchNorm.Forward(Conv1, Bn1, input, s_relu);
        var b = ConvBatchNorm.Forward(Conv2, Bn2, a, s_relu);
        a.Dispose();
        var body = ConvBatchNorm.Forward(Conv3, Bn3, b);
        b.Dispose();
        return AddShortcut(body, input).MoveToOuterDisposeScope();
    }
}
