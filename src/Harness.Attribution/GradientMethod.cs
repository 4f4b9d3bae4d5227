using Harness.Torch;

namespace Harness.Attribution;

/// <summary>
/// Vanilla gradient saliency ("gradient", Simonyan et al. 2014): map = R_c(∂y_t/∂x), the derivative of the target
/// logit y_t with respect to the input image, reduced over colour channels by R (default max_c |·|, DESIGN §4;
/// option "reduction": max_abs | sum_abs | sum | l2). Reads the input gradient of the batch's shared pass, so it
/// costs nothing beyond that pass.
/// </summary>
public sealed class GradientMethod : IAttributionMethod
{
    public GradientMethod(ChannelReduction reduction = ChannelReduction.MaxAbs) => Reduction = reduction;

    public string Name => "gradient";

    public ChannelReduction Reduction { get; }

    public bool NeedsInputGradient => true;

    public Tensor Explain(AttributionBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        return ChannelReductions.Reduce(AttributionMaps.InputGradient(batch, this), Reduction).MoveToOuterDisposeScope();
    }
}
