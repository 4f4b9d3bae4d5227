using Harness.Torch;
using F = Harness.Torch.torch.nn.functional;

namespace Harness.Tests.Torch;

/// <summary>
/// The global generator (torch.manual_seed) repeats PyTorch's stream. Serial: any test drawing from the global
/// generator in parallel would interleave with these draws.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class GlobalSeedTests : IClassFixture<GoldenOps>, IDisposable
{
    private readonly GoldenOps _g;
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    public GlobalSeedTests(GoldenOps golden) => _g = golden;

    public void Dispose() => _scope.Dispose();

    [Fact]
    public void ManualSeedMatchesPyTorchIncludingDropout()
    {
        torch.manual_seed(42);
        TensorAssert.Close(_g["random.rand"], torch.rand(new long[] { 2, 3 }), rtol: 0, atol: 0);
        TensorAssert.Close(_g["random.randn"], torch.randn(new long[] { 4 }), rtol: 0, atol: 0);
        TensorAssert.Equal(_g["random.randperm"], torch.randperm(10));
        TensorAssert.Close(_g["random.dropout"], F.dropout(torch.ones(new long[] { 8 }), 0.5, training: true), rtol: 0, atol: 0);
    }

    [Fact]
    public void SeedMakesRandomTensorsRepeat()
    {
        torch.manual_seed(5);
        var a = torch.randn(new long[] { 10 }).ToArray<float>();
        torch.manual_seed(5);
        var b = torch.randn(new long[] { 10 }).ToArray<float>();
        Assert.Equal(a, b);
    }

    [Fact]
    public void IndependentGeneratorsDoNotDisturbEachOther()
    {
        using var g1 = new Generator(9);
        var first = torch.rand(new long[] { 5 }, generator: g1).ToArray<float>();
        using var g2 = new Generator(9);
        _ = torch.rand(new long[] { 100 }); // draws from the global generator in between
        Assert.Equal(first, torch.rand(new long[] { 5 }, generator: g2).ToArray<float>());
    }
}
