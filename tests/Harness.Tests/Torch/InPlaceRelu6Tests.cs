using Harness.Torch;

namespace Harness.Tests.Torch;

/// <summary>
/// <see cref="Tensor.relu6_"/> runs the shim's one-pass clip instead of <c>aten::hardtanh_</c>. Values and gradients
/// must stay those of hardtanh_ (what torchvision's ReLU6(inplace=True) runs), checked here by hand at every region and
/// at both kinks, where PyTorch's formula, hardtanh_backward(grad, output, 0, 6), lets no gradient through.
/// </summary>
public sealed class InPlaceRelu6Tests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public void ValuesAndGradientsAreHardtanhsWithNoGradientAtEitherKink()
    {
        var leaf = torch.tensor(new float[] { -1f, 0f, 1.5f, 3f, 3.5f }).requires_grad_();
        var x = leaf * 2; // -2, 0, 3, 6, 7: below, at the lower kink, inside, at the upper kink, above
        var y = x.relu6_();

        Assert.Same(x, y);
        Assert.Equal(new float[] { 0f, 0f, 3f, 6f, 6f }, y.ToArray<float>());

        var weights = torch.tensor(new float[] { 1f, 2f, 3f, 4f, 5f });
        (y * weights).sum().backward();
        // d/dleaf = 2 · weight where 0 < output < 6, else 0.
        Assert.Equal(new float[] { 0f, 0f, 6f, 0f, 0f }, leaf.grad!.ToArray<float>());
    }

    [Fact]
    public void WithoutAutogradItClampsInPlace()
    {
        var x = torch.tensor(new float[] { -5f, 0.25f, 6f, 9f });
        var version = x._version();
        using (torch.no_grad())
            Assert.Same(x, x.relu6_());
        Assert.Equal(new float[] { 0f, 0.25f, 6f, 6f }, x.ToArray<float>());
        Assert.True(x._version() > version, "an in-place change must bump autograd's version counter");
    }

    [Fact]
    public void OverwritingATensorAnotherBackwardNeedsIsCaughtAtBackward()
    {
        // sigmoid's derivative reads its output; clipping that output in place must make backward fail, as
        // aten::hardtanh_ does, instead of returning a wrong gradient.
        var leaf = torch.tensor(new float[] { -1f, 2f }).requires_grad_();
        var s = leaf.sigmoid();
        s.relu6_();
        var e = Assert.Throws<TorchException>(() => s.sum().backward());
        Assert.Contains("inplace", e.Message);
    }
}
