using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Models;

/// <summary>
/// A residual block: out = relu(body(x) + shortcut(x)). Inverted as a whole block by MIP-IN. Conv + BN pairs run folded
/// when frozen (<see cref="ConvBatchNorm"/>), rectifiers work in place as in torchvision, and the sum happens in the
/// body's last convolution.
/// </summary>
public abstract class ResidualBlock : Module, IReturnsNewTensor, IForwardsBlocked
{
    // The rectifier between convolutions, passed to ConvBatchNorm.Forward (stateless, so one serves every block).
    private protected static readonly ReLU s_relu = new();

    /// <summary>The 1×1 conv + BN projection on the shortcut, or null for the identity.</summary>
    public Sequential? Downsample { get; protected init; }

    /// <summary>The block's output; its input stays as it was.</summary>
    public override Tensor forward(Tensor input) => Forward(input, inputGivenUp: false);

    /// <summary>
    /// The block's output, from an input the caller gives up: it reads neither <paramref name="input"/> nor a view of it
    /// afterwards, so the block may write its output into that memory. Without autograd a ResNet block then adds the
    /// identity shortcut inside its last convolution (no separate add and ReLU passes, no new allocation), and so does
    /// MobileNetV2's <see cref="InvertedResidual"/> inside its projection (no ReLU); values are
    /// <see cref="forward"/>'s to the last bit. The model's stage loop calls this for an input it made and keeps nowhere.
    /// </summary>
    public Tensor ForwardGivingUpInput(Tensor input) => Forward(input, inputGivenUp: true);

    /// <summary>The block's output; when <paramref name="inputGivenUp"/>, <paramref name="input"/>'s memory may be reused.</summary>
    protected abstract Tensor Forward(Tensor input, bool inputGivenUp);

    /// <summary>
    /// The body's conv + BN pairs in order, each with the rectifier after it (null: none). The last pair's output is
    /// added to the shortcut (when <see cref="HasShortcut"/>) before its rectifier. Read by <see cref="ForwardBlocked"/>.
    /// </summary>
    protected abstract IReadOnlyList<(Conv2d Conv, BatchNorm2d Bn, Module? Rectifier)> Body { get; }

    /// <summary>Whether the block adds a shortcut to its body's output (MobileNetV2's strided blocks do not).</summary>
    protected virtual bool HasShortcut => true;

    /// <inheritdoc/>
    public bool CanForwardBlocked =>
        Body.All(l => ConvBatchNorm.CanForwardBlocked(l.Conv, l.Bn)) &&
        (Downsample is null || Downsample is { Count: 2 } && Downsample[0] is Conv2d c && Downsample[1] is BatchNorm2d b &&
            ConvBatchNorm.CanForwardBlocked(c, b));

    /// <summary>
    /// The block on a blocked activation: each folded convolution with its rectifier inside its kernel, and the shortcut
    /// summed inside the last one. Without autograd the sum goes into the input's memory for an identity shortcut (the
    /// input is given up) or into the downsample projection's output; while autograd records, into a copy.
    /// </summary>
    public BlockedActivation ForwardBlocked(BlockedActivation input)
    {
        var shortcut = !HasShortcut ? null
            : Downsample is null ? input
            : ConvBatchNorm.ForwardBlocked((Conv2d)Downsample[0], (BatchNorm2d)Downsample[1], input);
        var body = Body;
        var x = input;
        for (var k = 0; k < body.Count; k++)
        {
            var (conv, bn, rectifier) = body[k];
            var y = ConvBatchNorm.ForwardBlocked(conv, bn, x, rectifier, k == body.Count - 1 ? shortcut : null);
            if (!ReferenceEquals(x, input)) x.Dispose();
            x = y;
        }
        // While autograd records, the sum went into a copy: the projection's output is not the result.
        if (shortcut is not null && !ReferenceEquals(shortcut, input) && !ReferenceEquals(shortcut, x)) shortcut.Dispose();
        return x;
    }

    /// <summary>
    /// relu(bn(conv(input))), the body's first conv + BN + ReLU, and, while autograd records a block with an identity
    /// shortcut, the input as that convolution passes it on (<see cref="ConvBatchNorm.ForwardPassingInput"/>); else
    /// null. Taking the shortcut from there (<see cref="LastConvPlusShortcut"/>'s passedInput) hands its gradient to
    /// the first convolution's backward, which adds it to its own input gradient, inside its kernel where the shim can
    /// (else in place): the autograd engine would otherwise sum the block input's two gradients into a new activation
    /// (ResNet-50: 12 of 16 blocks).
    /// </summary>
    protected (Tensor Output, Tensor? PassedInput) FirstConv(Conv2d conv, BatchNorm2d bn, Tensor input)
    {
        if (Downsample is null && torch.is_grad_enabled() && input.requires_grad)
            return ConvBatchNorm.ForwardPassingInput(conv, bn, input, s_relu);
        return (ConvBatchNorm.Forward(conv, bn, input, s_relu), null);
    }

    /// <summary>
    /// relu(bn(conv(x)) + shortcut(input)), the body's last conv + BN and the block's sum: torchvision's
    /// <c>out = bn(conv(x)); out += identity; relu(out)</c>. The shim adds and rectifies inside that convolution
    /// (<see cref="ConvBatchNorm.Forward(Conv2d, BatchNorm2d, Tensor, Tensor, bool)"/>): without autograd into the
    /// shortcut's memory when that may be overwritten (the downsample projection's fresh output, or an input given up),
    /// and while autograd records always, into a copy of the shortcut (the shortcut stays as it was: the rectifier
    /// before the block saved it for its backward). Otherwise in place into the convolution's fresh output, which no
    /// backward formula reads. Same values either way.
    /// </summary>
    protected Tensor LastConvPlusShortcut(Conv2d conv, BatchNorm2d bn, Tensor x, Tensor input, bool inputGivenUp,
        Tensor? passedInput = null)
    {
        using var made = passedInput is null ? Downsample?.forward(input) ?? input.alias() : null;
        var shortcut = passedInput ?? made!;
        var recording = torch.is_grad_enabled() && (x.requires_grad || shortcut.requires_grad);
        // A projection's output is fresh when it ends in a conv or BN (Rectifier's rule); an Identity-ending one is not.
        var shortcutIsOurs = Downsample is null ? inputGivenUp : Rectifier.MayOverwriteOutputOf(Downsample);
        return shortcutIsOurs || recording
            ? ConvBatchNorm.Forward(conv, bn, x, shortcut, relu: true)
            : ConvBatchNorm.Forward(conv, bn, x).add_(shortcut).relu_();
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

    protected override IReadOnlyList<(Conv2d Conv, BatchNorm2d Bn, Module? Rectifier)> Body =>
        new (Conv2d, BatchNorm2d, Module?)[] { (Conv1, Bn1, s_relu), (Conv2, Bn2, s_relu) };

    protected override Tensor Forward(Tensor input, bool inputGivenUp)
    {
        using var scope = torch.NewDisposeScope();
        var (x, passedInput) = FirstConv(Conv1, Bn1, input);
        var sum = LastConvPlusShortcut(Conv2, Bn2, x, input, inputGivenUp, passedInput);
        x.Dispose();
        return sum.MoveToOuterDisposeScope();
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

    protected override IReadOnlyList<(Conv2d Conv, BatchNorm2d Bn, Module? Rectifier)> Body =>
        new (Conv2d, BatchNorm2d, Module?)[] { (Conv1, Bn1, s_relu), (Conv2, Bn2, s_relu), (Conv3, Bn3, s_relu) };

    protected override Tensor Forward(Tensor input, bool inputGivenUp)
    {
        using var scope = torch.NewDisposeScope();
        var (a, passedInput) = FirstConv(Conv1, Bn1, input);
        var b = ConvBatchNorm.Forward(Conv2, Bn2, a, s_relu);
        a.Dispose();
        var sum = LastConvPlusShortcut(Conv3, Bn3, b, input, inputGivenUp, passedInput);
        b.Dispose();
        return sum.MoveToOuterDisposeScope();
    }
}
