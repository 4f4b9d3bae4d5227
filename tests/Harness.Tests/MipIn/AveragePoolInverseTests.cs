using Harness.Attribution.MipIn;
using Harness.Tests.Torch;
using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Tests.MipIn;

/// <summary>
/// The pooling inverse's fast paths (global adaptive pooling: copy; adaptive pooling to the input's own size:
/// identity) give exactly what the general "spread evenly" rule gives for the same pooling written as AvgPool2d.
/// </summary>
public sealed class AveragePoolInverseTests
{
    [Theory]
    [InlineData(7, 1)] // global pooling, as in ResNet and MobileNetV2
    [InlineData(7, 7)] // identity, as VGG's avgpool on a 7×7 input
    public void FastPathMatchesTheGeneralRule(int size, int pooled)
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(3);
        var input = torch.randn(new long[] { 2, 5, size, size }, generator: generator);
        var signal = torch.randn(new long[] { 2, 5, pooled, pooled }, generator: generator);
        var adaptive = new AdaptiveAvgPool2d(pooled, pooled);
        var window = size / pooled;
        var plain = new AvgPool2d(window, window); // the same pooling, inverted by the general autograd-adjoint path
        var fast = new AveragePoolInverse(adaptive).Invert(signal, input, adaptive.forward(input));
        var general = new AveragePoolInverse(plain).Invert(signal, input, plain.forward(input));
        TensorAssert.Close(general, fast, rtol: 1e-6, atol: 1e-7, what: "fast path");
    }
}
