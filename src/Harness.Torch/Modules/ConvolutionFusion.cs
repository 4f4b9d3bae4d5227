namespace Harness.Torch.Modules;

/// <summary>
/// A convolution run together with the layers after it that it can absorb: an eval-mode <see cref="BatchNorm2d"/>
/// folded into its weights (<see cref="ConvBatchNorm"/>) and a ReLU/ReLU6 applied in place to its fresh output, inside
/// its kernel where the shim can (<see cref="Rectifier.AfterConvolution"/>). Values and gradients are those of the
/// layers run one by one (up to the folding's rounding, see <see cref="ConvBatchNorm"/>); what is saved is a pass over
/// the output per absorbed layer. Shared by <see cref="Sequential"/> and a classifier's stage loop, which keeps some
/// stage outputs and so must not fuse across them.
/// </summary>
public static class ConvolutionFusion
{
    /// <summary>
    /// When <paramref name="layers"/>[<paramref name="first"/>] is a convolution that can absorb the layers after it (up
    /// to <paramref name="last"/>), runs them on <paramref name="input"/> and returns how many layers ran (2 or 3);
    /// otherwise returns 0 and runs nothing. <paramref name="keepsOutputOf"/> tells whether the caller needs a layer's
    /// own output (a captured activation): a fused run would never produce it, so it ends there.
    /// </summary>
    public static int TryForward(IReadOnlyList<Module> layers, int first, int last, Tensor input, Func<int, bool> keepsOutputOf,
        out Tensor output)
    {
        output = null!;
        if (layers[first] is not Conv2d conv || first >= last || keepsOutputOf(first)) return 0;
        var next = layers[first + 1];
        var folded = FoldedGroupLength(layers, first, last, keepsOutputOf);
        if (folded > 0)
        {
            var bn = (BatchNorm2d)next;
            output = folded == 3 ? ConvBatchNorm.Forward(conv, bn, input, layers[first + 2]) : ConvBatchNorm.Forward(conv, bn, input);
            return folded;
        }
        if (Rectifier.IsRectifier(next))
        {
            output = Rectifier.AfterConvolution(input, conv.weight, conv.bias, conv, next);
            return 2;
        }
        return 0;
    }

    /// <summary>
    /// How many layers from <paramref name="first"/> (up to <paramref name="last"/>) run as one folded convolution: 3 for
    /// a conv, an eval BN that folds into it (<see cref="ConvBatchNorm.CanFold"/>) and a ReLU/ReLU6, 2 without the
    /// rectifier (or when the caller keeps the BN's own output), 0 when no such pair starts there or the caller keeps
    /// the convolution's own output. Shared by <see cref="TryForward"/> and <see cref="BlockedRun"/>.
    /// </summary>
    public static int FoldedGroupLength(IReadOnlyList<Module> layers, int first, int last, Func<int, bool> keepsOutputOf)
    {
        if (layers[first] is not Conv2d conv || first >= last || keepsOutputOf(first) ||
            layers[first + 1] is not BatchNorm2d bn || !ConvBatchNorm.CanFold(conv, bn)) return 0;
        return first + 2 <= last && !keepsOutputOf(first + 1) && Rectifier.IsRectifier(layers[first + 2]) ? 3 : 2;
    }
}
