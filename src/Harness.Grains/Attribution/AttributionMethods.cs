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
/// </list>
/// Reductions: max_abs, sum_abs, sum, l2.
/// </summary>
public static class AttributionMethods
{
    /// <summary>Builds a method from its options; must read every option it accepts (see <see cref="MethodOptions"/>).</summary>
    public delegate IAttributionMethod Factory(ClassifierModel model, MethodOptions options);

    private static readonly (string Name, IntegrationRule Value)[] Rules =
    {
        ("trapezoid", IntegrationRule.Trapezoid), ("left", IntegrationRule.Left), ("right", IntegrationRule.Right),
        ("middle", IntegrationRule.Middle),
    };

    private static readonly Dictionary<string, Factory> Factories = new(StringComparer.Ordinal)
    {
        ["gradient"] = (_, o) => new GradientMethod(o.GetReduction("reduction", ChannelReduction.MaxAbs)),
        ["gradient_x_input"] = (_, o) => new GradientTimesInputMethod(o.GetReduction("reduction", ChannelReduction.Sum)),
        ["gradcam"] = (m, o) => GradCamMethod.For(m, o.GetStringOrNull("layer")),
        ["smoothgrad"] = (_, o) => new SmoothGradMethod(
            samples: o.GetInt("samples", 16, 1, 100_000),
            noiseLevel: o.GetDouble("noise_level", 0.15, 0, 100),
            seed: o.GetSeed("seed", 0),
            reduction: o.GetReduction("reduction", ChannelReduction.MaxAbs),
            samplesPerPass: o.GetInt("samples_per_pass", 1, 1, 100_000)),
        ["integrated_gradients"] = (_, o) =>
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
        ["guided_backprop"] = (_, o) => new GuidedBackpropMethod(o.GetReduction("reduction", ChannelReduction.MaxAbs)),
        ["random"] = (_, o) => new RandomMethod(o.GetSeed("seed", 0)),
        ["center"] = (_, o) => new CenterGaussianMethod(o.GetDouble("sigma_fraction", 0.25, 0, 100, minExclusive: true)),
        // "mipin": added with the MIP-IN method (MipIn*.cs).
    };

    /// <summary>Every method name <see cref="Create"/> accepts.</summary>
    public static IReadOnlyCollection<string> Names => Factories.Keys;

    /// <summary>
    /// The method called <paramref name="name"/> for <paramref name="model"/>, configured by
    /// <paramref name="options"/> (option name → value as written in the config).
    /// </summary>
    public static IAttributionMethod Create(string name, ClassifierModel model, IReadOnlyDictionary<string, string>? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!Factories.TryGetValue(name, out var factory))
            throw new ArgumentException($"unknown attribution method '{name}'. Known methods: {string.Join(", ", Names)}", nameof(name));
        var parsed = new MethodOptions(name, options);
        var method = factory(model, parsed);
        parsed.ThrowIfUnknown();
        return method;
    }
}
