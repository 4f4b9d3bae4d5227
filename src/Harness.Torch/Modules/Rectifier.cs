namespace Harness.Torch.Modules;

/// <summary>
/// In-place rectification (torchvision's <c>ReLU(inplace=True)</c>): a ReLU/ReLU6 that overwrites its input instead of
/// allocating and writing a second activation. Containers call it only for an input they made themselves, and only
/// where overwriting is safe (<see cref="MayOverwriteOutputOf"/>).
/// </summary>
public static class Rectifier
{
    /// <summary>
    /// Whether the output of <paramref name="producer"/> may be overwritten in place by the next layer. While autograd
    /// records, only outputs no backward formula reads: convolution, batch norm and linear layers save their inputs,
    /// not their outputs (autograd's version counter would reject anything else at backward time). Without autograd,
    /// also the other layers known to return a new tensor (pooling, a non-in-place ReLU/ReLU6) and layers that declare
    /// it (<see cref="IReturnsNewTensor"/>). Default deny: any other layer may return its input or a view of it (Identity,
    /// Flatten, Dropout in eval mode, a user's module), and overwriting that would change the caller's tensor. A
    /// Sequential returns what its last layer returns, so it is judged by that layer.
    /// </summary>
    public static bool MayOverwriteOutputOf(Module? producer) =>
        producer is Conv2d or BatchNorm2d or Linear ||
        (!torch.is_grad_enabled() && producer switch
        {
            Sequential sequential => sequential.Count > 0 && MayOverwriteOutputOf(sequential[sequential.Count - 1]),
            MaxPool2d or AvgPool2d or AdaptiveAvgPool2d or ReLU or ReLU6 or IReturnsNewTensor => true,
            _ => false,
        });

    /// <summary>Rectifies <paramref name="x"/> in place when <paramref name="layer"/> is a ReLU or ReLU6.</summary>
    public static bool TryInPlace(Module layer, Tensor x, out Tensor result)
    {
        result = layer switch
        {
            ReLU => x.relu_(),
            ReLU6 => x.relu6_(),
            _ => null!,
        };
        return result is not null;
    }

    /// <summary>
    /// A convolution followed by <paramref name="rectifier"/> (a <see cref="ReLU"/> or <see cref="ReLU6"/>) applied in
    /// place, as one call: on the CPU's cached path (<see cref="FrozenConvolution"/>) the rectifier runs inside the
    /// convolution's kernel, which saves a pass over the output (see <see cref="FrozenConvolution.Conv2dRectified"/>). Values and gradients are those of
    /// conv2d followed by <see cref="Tensor.relu_"/> / <see cref="Tensor.relu6_"/>.
    /// </summary>
    public static Tensor AfterConvolution(Tensor input, Tensor weight, Tensor? bias, Conv2d conv, Module rectifier)
    {
        var relu6 = rectifier switch
        {
            ReLU => false,
            ReLU6 => true,
            _ => throw new ArgumentException($"{rectifier.GetType().Name} is not a ReLU or ReLU6", nameof(rectifier)),
        };
        return FrozenConvolution.Conv2dRectified(input, weight, bias, new[] { conv.Stride, conv.Stride },
            new[] { conv.Padding, conv.Padding }, new[] { conv.Dilation, conv.Dilation }, conv.Groups, relu6);
    }

    /// <summary>Whether <paramref name="layer"/> can follow a convolution in <see cref="AfterConvolution"/>.</summary>
    public static bool IsRectifier(Module layer) => layer is ReLU or ReLU6;
}
