using Harness.Attribution.MipIn;
using Harness.Models;

namespace Harness.Attribution;

/// <summary>
/// The registry of attribution methods by config name. <see cref="Create"/> builds a method for a model from
/// string options; unknown names and options fail with the valid choices listed. A method that must be trained first
/// registers its <see cref="ITrainableMethod"/> too. Adding a method: one class and one line here. Options (defaults):
/// <list type="bullet">
/// <item>gradient: reduction (max_abs)</item>
/// <item>gradient_x_input: reduction (sum)</item>
/// <item>gradcam: layer (per architecture, <see cref="GradCamMethod.DefaultLayer"/>)</item>
/// <item>smoothgrad: samples (16), noise_level (0.15), seed (0), reduction (max_abs), samples_per_pass (1)</item>
/// <item>integrated_gradients: steps (32), rule (trapezoid | left | right | middle), baseline (0), reduction (sum), steps_per_pass (1)</item>
/// <item>guided_backprop: reduction (max_abs)</item>
/// <item>random: seed (0)</item>
/// <item>center: sigma_fraction (0.25)</item>
/// <item>mipin: trainable (<see cref="MipInTrainable"/> lists its options).</item>
/// </list>
/// Reductions: max_abs, sum_abs, sum, l2.
/// </summary>
public static class AttributionMethods
{
    /// <summary>Builds a method from its options; must read every option it accepts (see <see cref="ConfigOptions"/>).</summary>
    public delegate IAttributionMethod Factory(ClassifierModel model, ConfigOptions options);

    // What the registry knows of a method: the class its factory returns (for capability checks such as
    // ISourceSignalMethod without building one), and how it is built or, for a trainable method, trained.
    private sealed record Registration(Type MethodType, Factory? Create, ITrainableMethod? Training);

    private static Registration Plain<T>(Factory create) where T : IAttributionMethod => new(typeof(T), create, null);
    private static Registration Trainable<T>(ITrainableMethod training) where T : IAttributionMethod => new(typeof(T), null, training);

    private static readonly (string Name, IntegrationRule Value)[] Rules =
    {
        ("trapezoid", IntegrationRule.Trapezoid), ("left", IntegrationRule.Left), ("right", IntegrationRule.Right),
        ("middle", IntegrationRule.Middle),
    };

    private static readonly Dictionary<string, Registration> Registry = new(StringComparer.Ordinal)
    {
        ["gradient"] = Plain<GradientMethod>((_, o) => new GradientMethod(o.GetReduction("reduction", ChannelReduction.MaxAbs))),
        ["gradient_x_input"] = Plain<GradientTimesInputMethod>((_, o) => new GradientTimesInputMethod(o.GetReduction("reduction", ChannelReduction.Sum))),
        ["gradcam"] = Plain<GradCamMethod>((m, o) => GradCamMethod.For(m, o.GetStringOrNull("layer"))),
        ["smoothgrad"] = Plain<SmoothGradMethod>((_, o) => new SmoothGradMethod(
            samples: o.GetInt("samples", 16, 1, 100_000),
            noiseLevel: o.GetDouble("noise_level", 0.15, 0, 100),
            seed: o.GetSeed("seed", 0),
            reduction: o.GetReduction("reduction", ChannelReduction.MaxAbs),
            samplesPerPass: o.GetInt("samples_per_pass", 1, 1, 100_000))),
        ["integrated_gradients"] = Plain<IntegratedGradientsMethod>((_, o) =>
        {
            var steps = o.GetInt("steps", 32, 1, 100_000);
            var rule = o.GetChoice("rule", IntegrationRule.Trapezoid, Rules);
            var baseline = o.GetDouble("baseline", 0);
            var reduction = o.GetReduction("reduction", ChannelReduction.Sum);
            var perPass = o.GetInt("steps_per_pass", 1, 1, 100_000);
            if (rule == IntegrationRule.Trapezoid && steps < 2)
                throw new ArgumentException($"integrated_gradients: option steps='{steps}' is not valid; the trapezoid rule needs at least 2");
            return new IntegratedGradientsMethod(steps, rule, baseline, reduction, perPass);
        }),
        ["guided_backprop"] = Plain<GuidedBackpropMethod>((_, o) => new GuidedBackpropMethod(o.GetReduction("reduction", ChannelReduction.MaxAbs))),
        ["random"] = Plain<RandomMethod>((_, o) => new RandomMethod(o.GetSeed("seed", 0))),
        ["center"] = Plain<CenterGaussianMethod>((_, o) => new CenterGaussianMethod(o.GetDouble("sigma_fraction", 0.25, 0, 100, minExclusive: true))),
        [MipInTrainable.MethodName] = Trainable<MipInMethod>(new MipInTrainable()),
    };

    /// <summary>Every method name <see cref="Create"/> accepts.</summary>
    public static IReadOnlyCollection<string> Names => Registry.Keys;

    /// <summary>True when <paramref name="name"/> must be trained (it needs a <see cref="MethodTraining"/>).</summary>
    public static bool IsTrainable(string name) => Get(name).Training is not null;

    /// <summary>The training side of a trainable method.</summary>
    /// <exception cref="ArgumentException">Unknown name, or a method that needs no training.</exception>
    public static ITrainableMethod Training(string name) =>
        Get(name).Training ?? throw new ArgumentException($"method '{name}' needs no training", nameof(name));

    /// <summary>The class of the methods <paramref name="name"/> builds (e.g. to ask whether it is an <see cref="ISourceSignalMethod"/>).</summary>
    public static Type MethodType(string name) => Get(name).MethodType;

    /// <summary>
    /// Checks <paramref name="options"/> for <paramref name="name"/> against <paramref name="probe"/> without training
    /// anything (a plain method is built once and dropped).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name, option, value or layer; the message lists the valid ones.</exception>
    public static void Validate(string name, ClassifierModel probe, IReadOnlyDictionary<string, string>? options)
    {
        var registration = Get(name);
        var parsed = new ConfigOptions(name, options);
        if (registration.Training is { } training) training.Validate(probe, parsed);
        else registration.Create!(probe, parsed);
        parsed.ThrowIfUnknown();
    }

    /// <summary>
    /// The method called <paramref name="name"/> for <paramref name="model"/>, configured by
    /// <paramref name="options"/> (option name → value as written in the config). A trainable method trains (or
    /// loads) its state in <paramref name="training"/>, which must then be given.
    /// </summary>
    public static IAttributionMethod Create(string name, ClassifierModel model, IReadOnlyDictionary<string, string>? options = null,
        MethodTraining? training = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var registration = Get(name);
        var parsed = new ConfigOptions(name, options);
        IAttributionMethod method;
        if (registration.Training is { } trainable)
        {
            if (training is null)
            {
                Validate(name, model, options); // bad options are the first error to report
                throw new InvalidOperationException($"{name} must be trained first: run it through `mipin explain` or an experiment, which train it");
            }
            method = trainable.Create(model, parsed, training);
        }
        else method = registration.Create!(model, parsed);
        parsed.ThrowIfUnknown();
        return method;
    }

    private static Registration Get(string name) =>
        Registry.TryGetValue(name ?? throw new ArgumentNullException(nameof(name)), out var registration) ? registration
            : throw new ArgumentException($"unknown attribution method '{name}'. Known methods: {string.Join(", ", Names)}", nameof(name));
}
