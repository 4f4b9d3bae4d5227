using Harness.Grains.Attribution.MipIn;
using Harness.Grains.Models;

namespace Harness.Grains.Attribution;

/// <summary>
/// The registry of attribution methods by config name. <see cref="Create"/> builds a method for a model from
/// string options; unknown names and options fail with the valid choices listed. Options (defaults):
/// <list type="bullet">
/// <item>gradient: reduction (max_abs)</item>
/// <item>gradient_x_input: reduction (sum)</item>
/// <item>gradcam: layer (per architecture, <see cref="GradCamMethod.DefaultLayer"/>)</item>
/// <item>smoothgrad: samples (16), noise_level (0.15), seed (0), reduction (max_abs), samples_per_pass (1)</item>
/// <item>integrated_gradients: steps (32), rule (trapezoid | left | right | middle), baseline (0), reduction (sum), steps_per_pass (1)</item>
/// <item>guided_backprop: reduction (max_abs)</item>
/// <item>random: seed (0)</item>
/// <item>center: sigma_fraction (0.25)</item>
/// <item>mipin: layer (as gradcam's default; mnist_mlp: flatten), map (source | source_x_activation), optimizer
/// (adam | ridge), epochs (30), lr (0.001), ridge_lambda (0.001), training_signal (target | logits), seed (0),
/// cache_mb (4096). Needs an <see cref="IInverseProvider"/>, which trains or loads the inverse.</item>
/// </list>
/// Reductions: max_abs, sum_abs, sum, l2.
/// </summary>
public static class AttributionMethods
{
    /// <summary>Builds a method from its options; must read every option it accepts (see <see cref="MethodOptions"/>).</summary>
    public delegate IAttributionMethod Factory(ClassifierModel model, MethodOptions options, IInverseProvider? inverses);

    private static readonly (string Name, IntegrationRule Value)[] Rules =
    {
        ("trapezoid", IntegrationRule.Trapezoid), ("left", IntegrationRule.Left), ("right", IntegrationRule.Right),
        ("middle", IntegrationRule.Middle),
    };

    private static readonly Dictionary<string, Factory> Factories = new(StringComparer.Ordinal)
    {
        ["gradient"] = (_, o, _) => new GradientMethod(o.GetReduction("reduction", ChannelReduction.MaxAbs)),
        ["gradient_x_input"] = (_, o, _) => new GradientTimesInputMethod(o.GetReduction("reduction", ChannelReduction.Sum)),
        ["gradcam"] = (m, o, _) => GradCamMethod.For(m, o.GetStringOrNull("layer")),
        ["smoothgrad"] = (_, o, _) => new SmoothGradMethod(
            samples: o.GetInt("samples", 16, 1, 100_000),
            noiseLevel: o.GetDouble("noise_level", 0.15, 0, 100),
            seed: o.GetSeed("seed", 0),
            reduction: o.GetReduction("reduction", ChannelReduction.MaxAbs),
            samplesPerPass: o.GetInt("samples_per_pass", 1, 1, 100_000)),
        ["integrated_gradients"] = (_, o, _) =>
        {
            var steps = o.GetInt("steps", 32, 1, 100_000);
            var rule = o.GetChoice("rule", IntegrationRule.Trapezoid, Rules);
            var baseline = o.GetDouble("baseline", 0);
            var reduction = o.GetReduction("reduction", ChannelReduction.Sum);
            var perPass = o.GetInt("steps_per_pass", 1, 1, 100_000);
            if (rule == IntegrationRule.Trapezoid && steps < 2)
                throw new ArgumentException($"integrated_gradients: option steps='{steps}' is not valid; the trapezoid rule needs at least 2");
            return new IntegratedGradientsMethod(steps, rule, baseline, reduction, perPass);
        },
        ["guided_backprop"] = (_, o, _) => new GuidedBackpropMethod(o.GetReduction("reduction", ChannelReduction.MaxAbs)),
        ["random"] = (_, o, _) => new RandomMethod(o.GetSeed("seed", 0)),
        ["center"] = (_, o, _) => new CenterGaussianMethod(o.GetDouble("sigma_fraction", 0.25, 0, 100, minExclusive: true)),
        ["mipin"] = CreateMipIn,
    };

    private static readonly (string Name, MipInMapMode Value)[] MapModes =
    {
        ("source", MipInMapMode.Source), ("source_x_activation", MipInMapMode.SourceTimesActivation),
    };

    /// <summary>MIP-IN's default layer: Grad-CAM's for CNNs, the flattened input for the MNIST MLP.</summary>
    public static string DefaultMipInLayer(string architecture) =>
        architecture == "mnist_mlp" ? "flatten" : GradCamMethod.DefaultLayer(architecture);

    /// <summary>MIP-IN's settings parsed from its options: the layer, the map mode and the training options.</summary>
    public sealed record MipInSettings(string Layer, MipInMapMode Mode, MipInTrainingOptions Training);

    /// <summary>
    /// Parses and validates MIP-IN's options for an architecture (unknown options and bad values throw; the layer is
    /// checked against a model by the caller). Used by the method itself, spec validation and the train grain.
    /// </summary>
    public static MipInSettings ParseMipIn(string architecture, IReadOnlyDictionary<string, string>? options) =>
        ParseMipIn(architecture, new MethodOptions("mipin", options));

    private static MipInSettings ParseMipIn(string architecture, MethodOptions o)
    {
        var settings = new MipInSettings(o.GetStringOrNull("layer") ?? DefaultMipInLayer(architecture),
            o.GetChoice("map", MipInMapMode.Source, MapModes), MipInTraining(o));
        o.ThrowIfUnknown();
        return settings;
    }

    // The training options encoded in MIP-IN's options (they also key saved inverses).
    private static MipInTrainingOptions MipInTraining(MethodOptions o) => new()
    {
        Optimizer = o.GetChoice("optimizer", "adam", new[] { ("adam", "adam"), ("ridge", "ridge") }),
        Epochs = o.GetInt("epochs", 30, 0, 100_000),
        LearningRate = o.GetDouble("lr", 1e-3, 0, 10, minExclusive: true),
        RidgeLambda = o.GetDouble("ridge_lambda", 1e-3, 0, 1e12),
        TrainingSignal = o.GetChoice("training_signal", "target", new[] { ("target", "target"), ("logits", "logits") }),
        Seed = o.GetSeed("seed", 0),
        CacheLimitMb = o.GetInt("cache_mb", 4096, 1, int.MaxValue),
    };

    private static IAttributionMethod CreateMipIn(ClassifierModel model, MethodOptions o, IInverseProvider? inverses)
    {
        var settings = ParseMipIn(model.Architecture, o);
        model.IndexOf(settings.Layer);
        if (inverses is null)
            throw new InvalidOperationException("mipin needs trained inverse layers: run it through `mipin explain` or an experiment, which train them");
        return new MipInMethod(inverses.GetInverse(model, settings.Layer, settings.Training), settings.Mode);
    }

    /// <summary>Every method name <see cref="Create"/> accepts.</summary>
    public static IReadOnlyCollection<string> Names => Factories.Keys;

    /// <summary>
    /// The method called <paramref name="name"/> for <paramref name="model"/>, configured by
    /// <paramref name="options"/> (option name → value as written in the config).
    /// </summary>
    public static IAttributionMethod Create(string name, ClassifierModel model, IReadOnlyDictionary<string, string>? options = null,
        IInverseProvider? inverses = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!Factories.TryGetValue(name, out var factory))
            throw new ArgumentException($"unknown attribution method '{name}'. Known methods: {string.Join(", ", Names)}", nameof(name));
        var parsed = new MethodOptions(name, options);
        var method = factory(model, parsed, inverses);
        parsed.ThrowIfUnknown();
        return method;
    }
}
