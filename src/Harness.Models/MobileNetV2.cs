using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Models;

/// <summary>
/// torchvision's MobileNetV2 (width 1.0). Stages: features.0.0 (conv), features.0.1 (BN), features.0.2 (ReLU6),
/// features.1 ... features.17 (inverted residual blocks), features.18.0/.1/.2 (1×1 conv to 1280, BN, ReLU6),
/// avgpool (the functional global average pool in torchvision's forward), flatten, classifier.0 (dropout),
/// classifier.1 (linear). "features.0" and "features.18" are aliases for their last stage.
/// </summary>
public sealed class MobileNetV2 : ClassifierModel
{
    // (expansion t, output channels c, repeats n, first stride s), as in the paper and torchvision.
    private static readonly (int t, int c, int n, int s)[] Settings =
    {
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    };

    public const int LastChannel = 1280;

    public MobileNetV2(int numClasses = 1000, double dropout = 0.2) : base("mobilenet_v2", numClasses)
    {
        var features = RegisterModule("features", new Sequential());
        var stem = ConvBnReLU6(3, 32, 3, stride: 2);
        features.Append(stem);
        long input = 32;
        foreach (var (t, c, n, s) in Settings)
            for (var i = 0; i < n; i++)
            {
                features.Append(new InvertedResidual(input, c, i == 0 ? s : 1, t));
                input = c;
            }
        var head = ConvBnReLU6(input, LastChannel, 1);
        features.Append(head);
        var classifier = RegisterModule("classifier", new Sequential(new Dropout(dropout), new Linear(LastChannel, numClasses)));

        AddSequentialStages("features.0", stem);
        AddAlias("features.0", "features.0.2");
        for (var i = 1; i < features.Count - 1; i++) AddStage($"features.{i}", features[i]);
        var last = features.Count - 1;
        AddSequentialStages($"features.{last}", head);
        AddAlias($"features.{last}", $"features.{last}.2");
        AddStage("avgpool", new AdaptiveAvgPool2d(1, 1));
        AddStage("flatten", new Flatten());
        AddSequentialStages("classifier", classifier);
    }

    /// <summary>torchvision's Conv2dNormActivation: conv (no bias, "same" padding) → BN → ReLU6.</summary>
    internal static Sequential ConvBnReLU6(long input, long output, long kernel, long stride = 1, long groups = 1) =>
        new(new Conv2d(input, output, kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false),
            new BatchNorm2d(output), new ReLU6());
}

/// <summary>
/// MobileNetV2's inverted residual block: optional 1×1 expansion (×t) – 3×3 depthwise – 1×1 linear projection,
/// with BN after each conv and ReLU6 after the first two; the input is added when stride is 1 and channels match.
/// Module names follow torchvision ("conv.0.0.weight", ...).
/// </summary>
public sealed class InvertedResidual : ResidualBlock
{
    public InvertedResidual(long input, long output, long stride, int expandRatio)
    {
        var hidden = (long)Math.Round(input * (double)expandRatio, MidpointRounding.ToEven);
        UsesResidual = stride == 1 && input == output;
        var conv = new Sequential();
        if (expandRatio != 1) conv.Append(MobileNetV2.ConvBnReLU6(input, hidden, 1));
        conv.Append(MobileNetV2.ConvBnReLU6(hidden, hidden, 3, stride, groups: hidden));
        conv.Append(new Conv2d(hidden, output, 1, bias: false));
        conv.Append(new BatchNorm2d(output));
        Conv = RegisterModule("conv", conv);
        var body = new List<(Conv2d, BatchNorm2d, Module?)>();
        for (var i = 0; i < conv.Count - 2; i++)
        {
            var group = (Sequential)conv[i];
            body.Add(((Conv2d)group[0], (BatchNorm2d)group[1], group[2]));
        }
        body.Add(((Conv2d)conv[conv.Count - 2], (BatchNorm2d)conv[conv.Count - 1], null));
        Body = body;
    }

    protected override IReadOnlyList<(Conv2d Conv, BatchNorm2d Bn, Module? Rectifier)> Body { get; }

    protected override bool HasShortcut => UsesResidual;

    /// <summary>True when the block adds its input to its output.</summary>
    public bool UsesResidual { get; }

    public Sequential Conv { get; }

    protected override Tensor Forward(Tensor input, bool inputGivenUp)
    {
        if (!UsesResidual) return Conv.forward(input);
        // In place into the projection's fresh output (its backward does not read it), as torchvision's "x + conv(x)"
        // would allocate a third activation.
        if (!inputGivenUp) return Conv.forward(input).add_(input);
        // An input given up: without autograd the shim adds it inside the projection's kernel, into its memory
        // (oneDNN's sum post-op; no add pass, no new activation). Same values: the sum is commutative and exact either way.
        using var scope = torch.NewDisposeScope();
        var hidden = Conv.ForwardFirst(input, Conv.Count - 2);
        var sum = ConvBatchNorm.Forward((Conv2d)Conv[Conv.Count - 2], (BatchNorm2d)Conv[Conv.Count - 1], hidden, input, relu: false);
        return sum.MoveToOuterDisposeScope();
    }
}
