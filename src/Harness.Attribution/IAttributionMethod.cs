using Harness.Torch;

namespace Harness.Attribution;

/// <summary>
/// A saliency method: for a batch of preprocessed images and one target class per image, one non-negative or
/// signed map per image at the model-input resolution. Implementations are small; shared work (forward passes,
/// gradients) comes from the <see cref="AttributionBatch"/>, which computes it once for every method in a run.
/// </summary>
public interface IAttributionMethod
{
    /// <summary>The method's name in configs, CSV rows and file names ("gradient", "gradcam", "mipin", ...).</summary>
    string Name { get; }

    /// <summary>Layers whose activations and gradients this method reads from the shared gradient pass.</summary>
    IReadOnlyList<string> GradientLayers => Array.Empty<string>();

    /// <summary>
    /// Layers whose forward activations (no gradient) this method reads from <see cref="AttributionBatch.Forward"/>,
    /// so it shares the batch's one forward pass instead of running its own.
    /// </summary>
    IReadOnlyList<string> ForwardLayers => Array.Empty<string>();

    /// <summary>Whether this method reads d(target logit)/d(input) from the shared gradient pass.</summary>
    bool NeedsInputGradient => false;

    /// <summary>B×H×W float32 maps (H×W = the input's), in the caller's dispose scope.</summary>
    Tensor Explain(AttributionBatch batch);
}
