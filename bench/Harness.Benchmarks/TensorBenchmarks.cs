using BenchmarkDotNet.Attributes;
using Harness.Torch;
using F = Harness.Torch.torch.nn.functional;

namespace Harness.Benchmarks;

/// <summary>
/// The cost of crossing into libtorch: a boxed operator call on a tiny tensor (marshalling, dispatcher, handle
/// wrapping, dispose scope), a metadata read, and one real kernel (conv2d) for scale.
/// </summary>
[MemoryDiagnoser]
public class TensorBenchmarks
{
    private Tensor _scalar = null!;
    private Tensor _input = null!;
    private Tensor _weight = null!;

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(Environment.ProcessorCount);
        _scalar = torch.ones(new long[] { 1 }).DetachFromDisposeScope();
        _input = torch.randn(new long[] { 8, 256, 14, 14 }).DetachFromDisposeScope();
        _weight = torch.randn(new long[] { 256, 256, 3, 3 }).DetachFromDisposeScope();
    }

    /// <summary>One boxed call (aten::relu) on a one-element tensor: pure per-op overhead.</summary>
    [Benchmark]
    public void BoxedOpCall()
    {
        using var r = _scalar.relu();
    }

    /// <summary>Reading a tensor's shape (two native calls and an array).</summary>
    [Benchmark]
    public long ShapeRead() => _scalar.shape[0];

    /// <summary>A dispose scope with ten small ops inside (what every method body does).</summary>
    [Benchmark]
    public void ScopeWithTenOps()
    {
        using var scope = torch.NewDisposeScope();
        var x = _scalar;
        for (var i = 0; i < 10; i++) x = x.relu();
    }

    /// <summary>conv2d forward, 8×256×14×14, 3×3, 256 channels (≈ 3.7 GFLOP).</summary>
    [Benchmark]
    public void Conv2dForward()
    {
        using var y = F.conv2d(_input, _weight, null, 1, 1, 1, 1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _scalar.Dispose();
        _input.Dispose();
        _weight.Dispose();
    }
}
