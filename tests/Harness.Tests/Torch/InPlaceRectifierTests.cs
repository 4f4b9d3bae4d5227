using Harness.Torch;

namespace Harness.Tests.Torch;

/// <summary>
/// <see cref="Tensor.relu_"/> and <see cref="Tensor.relu6_"/> run the shim's in-place rectifiers
/// (<c>native/src/rectifier_in_place.cpp</c>): a one-pass clip instead of <c>aten::hardtanh_</c>, and a backward that
/// masks the incoming gradient in place when nothing else holds it. Values and gradients must stay those of
/// <c>aten::relu_</c> and <c>aten::hardtanh_</c> (what torchvision's ReLU(inplace=True) and ReLU6(inplace=True) run),
/// checked here by hand at every region and at the kinks, where PyTorch's formulas (threshold_backward(grad, output,
/// 0), hardtanh_backward(grad, output, 0, 6)) let no gradient through. The in-place mask must never reach a gradient
/// someone else holds: the tests where one gradient tensor feeds two rectifiers, or is also returned to the caller,
/// would get masked values there if it did.
/// </summary>
public sealed class InPlaceRectifierTests : IDisposable
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

    [Fact]
    public void ReluValuesAndGradientsAreReluWithNoGradientAtTheKink()
    {
        var leaf = torch.tensor(new float[] { -1f, 0f, 1.5f, 3.5f }).requires_grad_();
        var x = leaf * 2; // -2, 0, 3, 7: below, at the kink, above
        var y = x.relu_();

        Assert.Same(x, y);
        Assert.Equal(new float[] { 0f, 0f, 3f, 7f }, y.ToArray<float>());

        (y * torch.tensor(new float[] { 1f, 2f, 3f, 4f })).sum().backward();
        // d/dleaf = 2 · weight where output > 0, else 0.
        Assert.Equal(new float[] { 0f, 0f, 6f, 8f }, leaf.grad!.ToArray<float>());
    }

    [Fact]
    public void OneGradientFeedingTwoRectifiersIsMaskedForEachAlone()
    {
        // An addition's backward hands the same gradient tensor to both of its inputs (a residual block's sum does
        // this). Each rectifier must mask its own copy: masking the shared tensor in place would make the second see
        // the first one's zeros.
        var leaf = torch.tensor(new float[] { -1f, 0.5f, 2f, 4f, 9f }).requires_grad_();
        var a = (leaf * 1).relu_();        // gate: leaf > 0          → 0, 1, 1, 1, 1
        var b = (leaf - 3).relu6_();       // gate: 0 < leaf - 3 < 6  → 0, 0, 0, 1, 0
        var weights = torch.tensor(new float[] { 1f, 2f, 3f, 4f, 5f });
        ((a + b) * weights).sum().backward();
        Assert.Equal(new float[] { 0f, 2f, 3f, 8f, 5f }, leaf.grad!.ToArray<float>());
    }

    [Fact]
    public void AGradientTheCallerAsksForIsNotMaskedByTheRectifierBelowIt()
    {
        // autograd.grad returns the gradient at y (the rectifier's output) as the engine hands it to the rectifier's
        // backward; that backward must not mask it in place (Grad-CAM reads its layer's gradient this way).
        var leaf = torch.tensor(new float[] { -2f, 1f, 3f }).requires_grad_();
        var y = (leaf * 2).relu_();
        var weights = torch.tensor(new float[] { 5f, 6f, 7f });
        var grads = torch.autograd.grad(new[] { (y * weights).sum() }, new[] { y, leaf });
        Assert.Equal(new float[] { 5f, 6f, 7f }, grads[0]!.ToArray<float>());
        Assert.Equal(new float[] { 0f, 12f, 14f }, grads[1]!.ToArray<float>());
    }

    [Fact]
    public void GradientsOfGradientsStayCorrect()
    {
        // With create_graph the backward of the mask is itself recorded, so it must not overwrite its input:
        // d/dleaf of (d/dx Σ w·relu(x)²)·1 with x = leaf: d/dx = 2·w·relu(x), whose derivative is 2·w where x > 0.
        var leaf = torch.tensor(new float[] { -1f, 2f, 3f }).requires_grad_();
        var y = (leaf * 1).relu_();
        var weights = torch.tensor(new float[] { 1f, 2f, 3f });
        var first = torch.autograd.grad(new[] { (y * y * weights).sum() }, new[] { leaf }, retain_graph: true, create_graph: true)[0]!;
        Assert.Equal(new float[] { 0f, 8f, 18f }, first.ToArray<float>());
        var second = torch.autograd.grad(new[] { first.sum() }, new[] { leaf })[0]!;
        Assert.Equal(new float[] { 0f, 4f, 6f }, second.ToArray<float>());
    }
}
