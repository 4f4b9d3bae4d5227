using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Attribution.MipIn;

/// <summary>
/// Inverse of Conv2d: a learned ConvTranspose2d with the same kernel, stride, padding, dilation and groups,
/// initialised with the forward weight (the transposed convolution with that weight is the adjoint) and zero bias.
/// The output padding is chosen per call so the result has the forward input's exact size.
/// </summary>
public sealed class ConvInverse : InverseLayer
{
    private readonly Conv2d _forward;

    public ConvInverse(Conv2d forward)
    {
        _forward = forward;
        using var noGrad = torch.no_grad();
        RegisterParameter("weight", forward.weight.clone());
        RegisterParameter("bias", torch.zeros(new[] { forward.InChannels }, device: forward.weight.device));
    }

    public Tensor weight => GetParameter("weight")!;
    public Tensor bias => GetParameter("bias")!;

    public override Tensor Invert(Tensor signal, Tensor input, Tensor output)
    {
        var f = _forward;
        long OutputPadding(int dim)
        {
            var natural = (signal.size(dim) - 1) * f.Stride - 2 * f.Padding + f.Dilation * (f.KernelSize - 1) + 1;
            return input.size(dim) - natural;
        }
        return torch.nn.functional.conv_transpose2d(signal, weight, bias, new[] { f.Stride, f.Stride }, new[] { f.Padding, f.Padding },
            new[] { OutputPadding(2), OutputPadding(3) }, f.Groups, new[] { f.Dilation, f.Dilation });
    }
}
