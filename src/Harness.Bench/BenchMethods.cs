namespace Harness.Bench;

/// <summary>
/// The workloads `mipin bench` measures, by name. Each is one iteration over a batch of B images:
/// <list type="bullet">
/// <item>gradient: the vanilla gradient map (one forward + one backward to the input).</item>
/// <item>gradcam: the Grad-CAM map at the architecture's default layer (forward + backward down to that layer).</item>
/// <item>fused: gradient, Grad-CAM and gradient×input from ONE shared forward + backward (<see cref="Attribution.AttributionBatch"/>).</item>
/// <item>mipin-explain: the MIP-IN map at the default layer with an inverse initialised from the forward weights.</item>
/// <item>mipin-train: one epoch of MIP-IN's layer-wise inverse training on the batch.</item>
/// </list>
/// </summary>
public static class BenchMethods
{
    public const string Gradient = "gradient";
    public const string GradCam = "gradcam";
    public const string Fused = "fused";
    public const string MipInExplain = "mipin-explain";
    public const string MipInTrain = "mipin-train";

    /// <summary>Every workload name, in table order.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { Gradient, GradCam, Fused, MipInExplain, MipInTrain };

    /// <summary>The models the PyTorch baseline mirrors (tools/reference/bench.py); ours can run any zoo model.</summary>
    public static IReadOnlyList<string> BaselineModels { get; } = new[] { "mobilenet_v2", "resnet50", "vgg19" };

    /// <summary>What the PyTorch baseline runs for a workload, for the table's footnote.</summary>
    public static string BaselineDescription(string method) => method switch
    {
        Gradient => "captum Saliency: forward + autograd.grad w.r.t. the input",
        GradCam => "tuned: no-grad body, then head + autograd.grad w.r.t. the layer's activation; untuned: pytorch-grad-cam (forward hook + tensor hook, loss.backward())",
        Fused => "the three methods run separately (Saliency, GradCAM, InputXGradient): 3 forwards + 3 backwards",
        MipInExplain => "the same MIP-IN inversion in plain PyTorch (no-grad forward (tuned: folded, channels_last), inverse head)",
        MipInTrain => "the same one-epoch layer-wise training in plain PyTorch (torch.optim.Adam)",
        _ => throw new ArgumentException($"unknown bench method '{method}'. Known methods: {string.Join(", ", Names)}", nameof(method)),
    };

    /// <summary>Checks a name, listing the valid ones in the error.</summary>
    public static string Validate(string method) =>
        Names.Contains(method, StringComparer.Ordinal)
            ? method
            : throw new ArgumentException($"unknown bench method '{method}'. Known methods: {string.Join(", ", Names)}", nameof(method));
}
