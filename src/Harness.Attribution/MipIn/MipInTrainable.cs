using Harness.Models;

namespace Harness.Attribution.MipIn;

/// <summary>
/// MIP-IN's training side (<see cref="ITrainableMethod"/>): parses its options, finds the saved inverse for a
/// training set, and trains or loads it through an <see cref="InverseStore"/> kept in the <see cref="MethodTraining"/>
/// session. Options (defaults; docs/methods.md explains each and measures the variants):
/// layer (as Grad-CAM's; mnist_mlp: flatten), map (source | source_x_activation),
/// optimizer (adam | pinv | ridge), training_signal (logits_no_bias | target | logits), pool_inverse (proportional |
/// even), output_bias (distractor | source), inverse_bias (subtract | keep), complete (target | none),
/// superpose (none | layers), augment (0),
/// epochs (30), lr (0.001), ridge_lambda (0.001), seed (0), cache_mb (4096). The paper-literal reconstruction of
/// the first round is optimizer=adam, training_signal=target, pool_inverse=even, output_bias=source,
/// inverse_bias=keep, complete=none.
/// </summary>
public sealed class MipInTrainable : ITrainableMethod
{
    /// <summary>The config name.</summary>
    public const string MethodName = "mipin";

    /// <summary>MIP-IN's default layer: Grad-CAM's for CNNs, the flattened input for the MNIST MLP.</summary>
    public static string DefaultLayer(string architecture) =>
        architecture == "mnist_mlp" ? "flatten" : GradCamMethod.DefaultLayer(architecture);

    /// <summary>MIP-IN's settings parsed from its options: the layer, the map mode and the training options.</summary>
    public sealed record Settings(string Layer, MipInExplainOptions Explain, MipInTrainingOptions Training)
    {
        public MipInMapMode Mode => Explain.Mode;
    }

    private static readonly (string Name, MipInMapMode Value)[] MapModes =
    {
        ("source", MipInMapMode.Source), ("source_x_activation", MipInMapMode.SourceTimesActivation),
    };

    /// <summary>
    /// Parses and validates MIP-IN's options for an architecture (unknown options and bad values throw; the layer is
    /// checked against a model by the caller).
    /// </summary>
    public static Settings Parse(string architecture, IReadOnlyDictionary<string, string>? options) =>
        Parse(architecture, new ConfigOptions(MethodName, options));

    private static Settings Parse(string architecture, ConfigOptions o)
    {
        var layer = o.GetStringOrNull("layer") ?? DefaultLayer(architecture);
        var explain = new MipInExplainOptions(
            o.GetChoice("map", MipInMapMode.Source, MapModes),
            BiasInDistractor: o.GetChoice("output_bias", true, new[] { ("distractor", true), ("source", false) }),
            SubtractInverseBias: o.GetChoice("inverse_bias", true, new[] { ("subtract", true), ("keep", false) }),
            Complete: o.GetChoice("complete", true, new[] { ("target", true), ("none", false) }),
            Superpose: o.GetChoice("superpose", false, new[] { ("none", false), ("layers", true) }));
        var settings = new Settings(layer, explain, TrainingOptions(o));
        o.ThrowIfUnknown();
        return settings;
    }

    // The training options encoded in MIP-IN's options (they also key saved inverses).
    private static MipInTrainingOptions TrainingOptions(ConfigOptions o) => new()
    {
        Optimizer = o.GetChoice("optimizer", "adam", new[] { ("adam", "adam"), ("pinv", "pinv"), ("ridge", "ridge") }),
        Epochs = o.GetInt("epochs", 30, 0, 100_000),
        LearningRate = o.GetDouble("lr", 1e-3, 0, 10, minExclusive: true),
        RidgeLambda = o.GetDouble("ridge_lambda", 1e-3, 0, 1e12),
        TrainingSignal = o.GetChoice("training_signal", "logits_no_bias",
            new[] { ("logits_no_bias", "logits_no_bias"), ("target", "target"), ("logits", "logits") }),
        PoolInverse = o.GetChoice("pool_inverse", "proportional", new[] { ("proportional", "proportional"), ("even", "even") }),
        Augment = o.GetInt("augment", 0, 0, 1000),
        Seed = o.GetSeed("seed", 0),
        CacheLimitMb = o.GetInt("cache_mb", 4096, 1, int.MaxValue),
    };

    public void Validate(ClassifierModel probe, ConfigOptions options) => probe.IndexOf(Parse(probe.Architecture, options).Layer);

    public string TrainedStatePath(string architecture, int numClasses, ConfigOptions options, TrainingSet training)
    {
        var settings = Parse(architecture, options);
        using var store = new InverseStore(training);
        return store.PathFor(store.ProvenanceFor(architecture, numClasses, settings.Layer, settings.Training));
    }

    public IAttributionMethod Create(ClassifierModel model, ConfigOptions options, MethodTraining training)
    {
        var settings = Parse(model.Architecture, options);
        model.IndexOf(settings.Layer);
        var store = training.State(MethodName, set => new InverseStore(set));
        return new MipInMethod(store.GetInverse(model, settings.Layer, settings.Training), settings.Explain);
    }
}
