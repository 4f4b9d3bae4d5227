namespace Harness.Attribution.MipIn;

/// <summary>How inverse layers are fitted. Every field is a config option (docs/methods.md lists them).</summary>
public sealed record MipInTrainingOptions
{
    /// <summary>
    /// "adam" (default), "ridge" (closed-form ridge regression for linear inverses, Adam for the rest) or "pinv"
    /// (closed form anchored at the forward weight's pseudo-inverse for linear inverses, see
    /// <see cref="LinearInverse.FitPseudoInverse"/>; Adam for the rest).
    /// </summary>
    public string Optimizer { get; init; } = "adam";

    /// <summary>
    /// The output signal S_L the inverses are trained on: "target" (default: y_c·e_c for the predicted class c, the
    /// same form of signal the explain pass inverts) or "logits" (all of y). Training on all logits reconstructs X
    /// well from the full y but spreads it over every class's logit, so the single-class source signal it yields is
    /// not complete: on the MNIST MLP its forward pass keeps ~9% of the target logit, against ~92% with "target".
    /// "logits_no_bias": all logits minus the output layer's bias, y − b = W·x, the output layer's own pre-bias output
    /// (with the "pinv" fit this makes the top inverse an exact right-inverse: W·g(s) = s).
    /// </summary>
    public string TrainingSignal { get; init; } = "target";

    /// <summary>Passes over the training images per inverse layer (Adam).</summary>
    public int Epochs { get; init; } = 30;

    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Ridge penalty λ for the closed-form fit.</summary>
    public double RidgeLambda { get; init; } = 1e-3;

    /// <summary>Seed for initialisation-independent randomness (batch order); training is deterministic given it.</summary>
    public ulong Seed { get; init; }

    /// <summary>Upper bound on the cached forward activations of the training set, in MiB.</summary>
    public long CacheLimitMb { get; init; } = 4096;

    /// <summary>
    /// How average pooling is inverted: "even" (spread each value evenly over its window) or "proportional" (in
    /// proportion to the sample's forward input; see <see cref="AveragePoolInverse"/>).
    /// </summary>
    public string PoolInverse { get; init; } = "even";

    /// <summary>Augmented copies of each training batch (random resized crop + horizontal flip, seeded); 0 = none.</summary>
    public int Augment { get; init; }

    public void Validate()
    {
        if (Optimizer is not ("adam" or "ridge" or "pinv")) throw new ArgumentException($"mipin optimizer '{Optimizer}' is not one of: adam, ridge, pinv");
        if (TrainingSignal is not ("logits" or "target" or "logits_no_bias"))
            throw new ArgumentException($"mipin training signal '{TrainingSignal}' is not one of: logits, target, logits_no_bias");
        if (PoolInverse is not ("even" or "proportional")) throw new ArgumentException($"mipin pool inverse '{PoolInverse}' is not one of: even, proportional");
        if (Augment < 0) throw new ArgumentException($"mipin augment must be ≥ 0, got {Augment}");
        if (Epochs < 0) throw new ArgumentException($"mipin epochs must be ≥ 0, got {Epochs}");
        if (LearningRate <= 0) throw new ArgumentException($"mipin learning rate must be > 0, got {LearningRate}");
        if (RidgeLambda < 0) throw new ArgumentException($"mipin ridge lambda must be ≥ 0, got {RidgeLambda}");
    }
}

/// <summary>
/// Reconstruction quality of one inverse layer: relative error ‖X − g(S)‖² / ‖X‖² over the training set with the
/// initial weights and after fitting (null for fixed inverses). If fitting made it worse, the initial weights are
/// kept (<see cref="KeptInitialisation"/>), so <see cref="FinalError"/> never exceeds <see cref="InitialError"/>.
/// </summary>
public sealed record LayerReport(string Stage, string Inverse, bool Trained, double? InitialError, double? FinalError, bool KeptInitialisation = false);

/// <summary>Progress of training: which stage, which epoch, current mean loss.</summary>
public sealed record TrainingProgress(string Stage, int Epoch, int Epochs, double Loss);
