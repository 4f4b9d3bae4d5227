using Harness.Torch;

namespace Harness.Attribution;

/// <summary>
/// Gradient × input ("gradient_x_input", Shrikumar et al. 2016): map = R_c(x ⊙ ∂y_t/∂x), by default the signed
/// channel sum Σ_c x_c ∂y_t/∂x_c (for a piecewise-linear network without biases its total over the image is y_t);
/// option "reduction" (sum_abs for the absolute value per channel, max_abs, l2). x is the preprocessed
/// (normalised) input, so the map depends on the normalisation: zero input means the mean colour. Reads the
/// shared pass's input gradient.
/// </summary>
public sealed class GradientTimesInputMethod : IAttributionMethod
{
    public GradientTimesInputMethod(ChannelReduction reduction = ChannelReduction.Sum) => Reduction = reduction;

    public string Name => "gradient_x_input";

    public ChannelReduction Reduction { get; }

    public bool NeedsInputGradient => true;

    public Tensor Explain(AttributionBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        var product = AttributionMaps.InputGradient(batch, this) * batch.Images;
        return ChannelReductions.Reduce(product, Reduction).MoveToOuterDisposeScope();
    }
}
