using Harness.Models;
using Harness.Torch;
using F = Harness.Torch.torch.nn.functional;

namespace Harness.Attribution;

/// <summary>
/// Grad-CAM ("gradcam", Selvaraju et al. 2017), as pytorch-grad-cam's GradCAM: with A the K×h×w activation of the
/// chosen layer and dA = ∂y_t/∂A, weights α_k = mean_{i,j} dA_k[i,j] and
/// map = upsample(ReLU(Σ_k α_k A_k)), bilinear with align_corners=false to the input's H×W.
/// Unlike pytorch-grad-cam the map is not min-max scaled per image (scores that need it normalise themselves).
/// Option "layer": any layer name of the model (stage or group alias); default <see cref="DefaultLayer"/>
/// (the last feature layer: VGG's last max pool, e.g. features.36 for VGG-19; ResNet layer4; MobileNetV2
/// features.18). Reads activation and gradient from the batch's shared pass.
/// </summary>
public sealed class GradCamMethod : IAttributionMethod
{
    private static readonly Dictionary<string, string> Defaults = new(StringComparer.Ordinal)
    {
        ["vgg11"] = "features.20",
        ["vgg13"] = "features.24",
        ["vgg16"] = "features.30",
        ["vgg19"] = "features.36",
        ["vgg11_bn"] = "features.28",
        ["vgg13_bn"] = "features.34",
        ["vgg16_bn"] = "features.43",
        ["vgg19_bn"] = "features.52",
        ["resnet18"] = "layer4",
        ["resnet34"] = "layer4",
        ["resnet50"] = "layer4",
        ["resnet101"] = "layer4",
        ["mobilenet_v2"] = "features.18",
        ["alexnet"] = "features.12",
        ["small_cnn"] = "features.5",
    };

    /// <param name="layer">The layer whose activation is weighted; its output must be B×K×h×w.</param>
    public GradCamMethod(string layer)
    {
        ArgumentException.ThrowIfNullOrEmpty(layer);
        Layer = layer;
    }

    /// <summary>Grad-CAM for <paramref name="model"/> at <paramref name="layer"/> (default: <see cref="DefaultLayer"/>),
    /// checked against the model's layer names (the error lists them).</summary>
    public static GradCamMethod For(ClassifierModel model, string? layer = null)
    {
        layer ??= DefaultLayer(model.Architecture);
        model.IndexOf(layer);
        return new GradCamMethod(layer);
    }

    /// <summary>The default Grad-CAM layer of a zoo architecture (its last spatial feature layer).</summary>
    public static string DefaultLayer(string architecture) =>
        Defaults.TryGetValue(architecture, out var layer)
            ? layer
            : throw new ArgumentException(
                $"no default Grad-CAM layer for architecture '{architecture}' (Grad-CAM needs a convolutional layer; pass " +
                $"option layer=...). Architectures with a default: {string.Join(", ", Defaults.Keys)}", nameof(architecture));

    /// <summary>Architectures that have a default layer.</summary>
    public static IReadOnlyCollection<string> KnownArchitectures => Defaults.Keys;

    public string Name => "gradcam";

    public string Layer { get; }

    public IReadOnlyList<string> GradientLayers => new[] { Layer };

    public Tensor Explain(AttributionBatch batch)
    {
        if (!batch.Gradients.Layers.TryGetValue(Layer, out var captured))
            throw new InvalidOperationException(
                $"gradcam: the batch's gradient pass has no layer '{Layer}'. Register the method with the AttributionBatch " +
                "(constructor or Register) before the first Explain call on that batch.");
        var (a, dA) = captured;
        if (a.ndim != 4)
            throw new InvalidOperationException(
                $"gradcam: layer '{Layer}' of {batch.Model.Architecture} has output shape [{string.Join(", ", a.shape)}]; " +
                "Grad-CAM needs a B×K×h×w (convolutional) layer");
        using var scope = torch.NewDisposeScope();
        var weights = dA.mean(new[] { 2L, 3L }, keepdim: true);                 // B×K×1×1
        var cam = (weights * a).sum(1, keepdim: true).relu();                  // B×1×h×w
        var up = F.interpolate(cam, size: new[] { batch.Height, batch.Width },
            mode: torch.nn.InterpolationMode.Bilinear, align_corners: false);  // B×1×H×W
        return AttributionMaps.Float32(up.squeeze(1)).MoveToOuterDisposeScope();
    }
}
