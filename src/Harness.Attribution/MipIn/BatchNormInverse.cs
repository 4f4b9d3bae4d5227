using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Attribution.MipIn;

/// <summary>
/// Inverse of an eval-mode BatchNorm2d. The batch norm is folded into its per-channel affine map y = a·x + b; the
/// inverse is a learned per-channel affine map initialised to the exact inverse x = (y − b)/a.
/// </summary>
public sealed class BatchNormInverse : InverseLayer
{
    public BatchNormInverse(BatchNorm2d forward)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (a, b) = forward.FoldedAffine();
        RegisterParameter("scale", (1.0 / a).detach());
        RegisterParameter("shift", (-b / a).detach());
    }

    public Tensor scale => GetParameter("scale")!;
    public Tensor shift => GetParameter("shift")!;

    public override Tensor Invert(Tensor signal, Tensor input, Tensor output)
    {
        using var scope = torch.NewDisposeScope();
        var shape = new long[] { 1, -1, 1, 1 };
        return (signal * scale.view(shape) + shift.view(shape)).MoveToOuterDisposeScope();
    }
}
