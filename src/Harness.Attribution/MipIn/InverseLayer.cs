using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Attribution.MipIn;

/// <summary>
/// The MIP-IN inverse g_l of one model stage: maps a signal at the stage's output back to the stage's input
/// space. Parameterised inverses are trained to reconstruct the stage input X_{l-1} from the signal at its
/// output; the others (unpooling, reshapes, identity) are fixed. Subclasses are small: one per stage type.
/// </summary>
public abstract class InverseLayer : Module
{
    /// <summary>
    /// Maps <paramref name="signal"/> (shaped like the stage output) into the stage input space, given this sample's
    /// forward input and output of the stage (for switches, shapes and sizes).
    /// </summary>
    public abstract Tensor Invert(Tensor signal, Tensor input, Tensor output);

    /// <summary>True when this inverse has weights to train.</summary>
    public bool IsTrainable => parameters().Any();

    /// <summary>Linear inverses can be fitted in closed form (ridge regression) instead of by Adam.</summary>
    public virtual bool SupportsRidge => false;

    /// <summary>Fits the weights by ridge regression on (signal, target) rows; only for <see cref="SupportsRidge"/>.</summary>
    public virtual void FitRidge(Tensor signals, Tensor targets, double lambda) =>
        throw new NotSupportedException($"{GetType().Name} has no closed-form fit");

    /// <summary>Linear inverses can be fitted in closed form anchored at the forward weight's pseudo-inverse.</summary>
    public virtual bool SupportsPseudoInverseFit => false;

    /// <summary>The closed-form fit anchored at the pseudo-inverse; only for <see cref="SupportsPseudoInverseFit"/>.</summary>
    public virtual void FitPseudoInverse(Tensor signals, Tensor targets, double lambda) =>
        throw new NotSupportedException($"{GetType().Name} has no pseudo-inverse fit");

    public sealed override Tensor forward(Tensor input) =>
        throw new NotSupportedException("an inverse layer needs the forward activations: call Invert(signal, input, output)");
}
