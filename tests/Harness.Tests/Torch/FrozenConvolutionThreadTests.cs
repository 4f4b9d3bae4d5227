using Harness.Torch;

namespace Harness.Tests.Torch;

/// <summary>
/// The frozen convolution's input gradient with one and two intra-op threads. The thread count is process-wide, so
/// this runs in the serial collection: beside other tests it would change the kernels they run mid-computation (a 1×1
/// convolution of few images takes aten's matrix product on one thread, oneDNN's kernel on two), and two tests that
/// each restore the count they read can leave the process at the wrong one.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class FrozenConvolutionThreadTests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public void InputGradientDoesNotDependOnTheThreadCount()
    {
        torch.manual_seed(3);
        var x = torch.randn(new long[] { 2, 3, 64, 64 });
        var weight = torch.randn(new long[] { 64, 3, 7, 7 });
        var threads = torch.get_num_threads();
        try
        {
            torch.set_num_threads(1);
            var one = FrozenConvolutionTests.ForwardAndInputGradient(x, weight, null, 2, 3).Gradient;
            torch.set_num_threads(2);
            var two = FrozenConvolutionTests.ForwardAndInputGradient(x, weight, null, 2, 3).Gradient;
            Assert.True(one.equal(two), "each element is summed in a fixed order");
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }
}
