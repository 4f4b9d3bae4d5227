using Harness.Torch;
using Harness.Torch.Optim;

namespace Harness.Tests.Torch;

/// <summary>
/// Adam updates a large parameter slice by slice so the passes stay in cache; slicing must not change a single bit.
/// Each case runs the same three steps (weight decay on, so every operation is exercised) once sliced and once on the
/// whole tensor, and compares the parameters exactly. Slices of 37 elements and a large odd-sized parameter split
/// across threads put slice edges off aten's vector width, so elements move between its vector and scalar loops:
/// the test fails if those loops round differently. Agreement with torch.optim.Adam itself is checked in
/// <see cref="OpsGoldenTests.OptimizerStepsMatchTorchOptim"/>.
/// </summary>
public sealed class AdamSliceTests
{
    [Theory]
    [InlineData("contiguous", 64)]
    [InlineData("contiguous", 37)]
    [InlineData("channels-last", 64)]
    [InlineData("transposed", 64)]
    [InlineData("large", 1 << 18)]
    public void SlicedUpdateIsBitIdenticalToTheWholeTensorUpdate(string layout, long sliceElements)
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(11);
        var start = layout switch
        {
            "contiguous" => torch.randn(new long[] { 33, 61 }, generator: generator),
            "channels-last" => torch.randn(new long[] { 3, 5, 7, 11 }, generator: generator).contiguous(MemoryFormat.ChannelsLast),
            // 600,001 elements: two and a bit slices, each long enough for aten to split across threads at odd offsets.
            "large" => torch.randn(new long[] { 600_001 }, generator: generator),
            // Neither contiguous nor channels-last: the whole-tensor path.
            _ => torch.randn(new long[] { 61, 33 }, generator: generator).t(),
        };
        var grads = Enumerable.Range(0, 3).Select(_ => torch.randn(start.shape, generator: generator) * 0.3).ToArray();

        var sliced = Run(start, grads, sliceElements);
        var whole = Run(start, grads, sliceElements: long.MaxValue);

        Assert.True(sliced.equal(whole), $"{layout}: the sliced update differs from the whole-tensor update");
        Assert.False(sliced.equal(start), "the steps changed nothing: the test would not see a difference");
    }

    private static Tensor Run(Tensor start, Tensor[] grads, long sliceElements)
    {
        var p = start.clone().requires_grad_();
        using var adam = new Adam(new[] { p }, lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, weight_decay: 0.1) { SliceElements = sliceElements };
        foreach (var g in grads)
        {
            // The gradient in the parameter's layout, as autograd accumulates it.
            p.grad = start.dim() == 4 ? g.contiguous(MemoryFormat.ChannelsLast) : g.clone();
            adam.step();
        }
        return p.detach();
    }
}
