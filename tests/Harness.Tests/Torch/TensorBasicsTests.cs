using Harness.Torch;

namespace Harness.Tests.Torch;

/// <summary>Tensor creation, data transfer, views, indexing and arithmetic on small hand-computed cases.</summary>
public sealed class TensorBasicsTests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    public void Dispose() => _scope.Dispose();

    private static Tensor Arange(params long[] shape)
    {
        long n = 1;
        foreach (var s in shape) n *= s;
        return torch.arange(n, ScalarType.Float32).reshape(shape);
    }

    [Fact]
    public void RoundTripsEverySupportedElementType()
    {
        Assert.Equal(new[] { 1.5f, -2f }, torch.tensor(new[] { 1.5f, -2f }).ToArray<float>());
        Assert.Equal(new[] { 1.25, 1e300 }, torch.tensor(new[] { 1.25, 1e300 }).ToArray<double>());
        Assert.Equal(new[] { long.MaxValue, -3L }, torch.tensor(new[] { long.MaxValue, -3L }).ToArray<long>());
        Assert.Equal(new[] { true, false, true }, torch.tensor(new[] { true, false, true }).ToArray<bool>());
        Assert.Equal(new byte[] { 0, 255, 7 }, torch.tensor(new byte[] { 0, 255, 7 }).ToArray<byte>());
        var t = torch.tensor(new[] { 1f, 2, 3, 4, 5, 6 }, new long[] { 2, 3 });
        Assert.Equal(new long[] { 2, 3 }, t.shape);
        Assert.Equal(ScalarType.Float32, t.dtype);
        Assert.Equal(Device.CPU, t.device);
        Assert.Equal(6, t.numel());
        Assert.Equal(3, t.size(-1));
    }

    [Fact]
    public void WrongElementTypeOrSizeIsAClearError()
    {
        var t = torch.tensor(new[] { 1f, 2f });
        var e = Assert.Throws<InvalidOperationException>(() => t.ToArray<double>());
        Assert.Contains("Float32", e.Message);
        Assert.Throws<ArgumentException>(() => torch.tensor(new[] { 1f, 2f, 3f }, new long[] { 2, 2 }));
    }

    [Fact]
    public void ViewsReshapePermuteNarrowSlice()
    {
        var x = Arange(2, 3, 4); // value = 12a + 4b + c
        Assert.Equal(new long[] { 4, 3, 2 }, x.permute(2, 1, 0).shape);
        Assert.Equal(13f, x.permute(2, 1, 0)[1, 0, 1].item<float>());
        Assert.Equal(new[] { 4f, 5, 6, 7, 8, 9, 10, 11 }, x[0].narrow(0, 1, 2).reshape(-1).ToArray<float>());
        Assert.Equal(new[] { 1f, 3f }, x[0, 0, TensorIndex.Slice(1, null, 2)].ToArray<float>());
        Assert.Equal(new[] { 3f, 7f, 11f }, x[0, .., ^1].ToArray<float>());
        Assert.Equal(new long[] { 2, 1, 3, 4 }, x[.., TensorIndex.None].shape);
        Assert.Equal(new long[] { 2, 3 }, x[TensorIndex.Ellipsis, 0].shape);
        Assert.Equal(new[] { 20f, 21f }, x[1, 2, 0..2].ToArray<float>());
        Assert.Equal(new long[] { 6, 4 }, x.flatten(0, 1).shape);
        Assert.Equal(new long[] { 3, 4 }, x[..1].squeeze(0).shape);
        Assert.Equal(new[] { 0f, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11 }, x[0].t().contiguous().reshape(-1).ToArray<float>());
    }

    [Fact]
    public void AdvancedIndexingGathersAndAssigns()
    {
        var x = Arange(3, 4);
        var rows = torch.tensor(new long[] { 2, 0 });
        Assert.Equal(new[] { 8f, 9, 10, 11, 0, 1, 2, 3 }, x[rows].reshape(-1).ToArray<float>());
        Assert.Equal(new[] { 8f, 9, 10, 11, 0, 1, 2, 3 }, x.index_select(0, rows).reshape(-1).ToArray<float>());
        Assert.Equal(new[] { 9f, 1f }, x[rows, 1].ToArray<float>());
        var mask = x > 9.5;
        Assert.Equal(new[] { 10f, 11f }, x[mask].ToArray<float>());
        x[mask] = torch.tensor(new[] { -1f, -2f });
        Assert.Equal(new[] { 8f, 9, -1, -2 }, x[2].ToArray<float>());
        x[0, 1..3] = torch.scalar_tensor(7f);
        Assert.Equal(new[] { 0f, 7, 7, 3 }, x[0].ToArray<float>());
    }

    [Fact]
    public void JoinsAndWhere()
    {
        var a = torch.tensor(new[] { 1f, 2f });
        var b = torch.tensor(new[] { 3f, 4f });
        Assert.Equal(new[] { 1f, 2, 3, 4 }, torch.cat(new[] { a, b }).ToArray<float>());
        Assert.Equal(new long[] { 2, 2 }, torch.stack(new[] { a, b }).shape);
        Assert.Equal(new[] { 1f, 3, 2, 4 }, torch.stack(new[] { a, b }, 1).reshape(-1).ToArray<float>());
        Assert.Equal(new[] { 3f, 2f }, torch.where(a < 1.5, b, a).ToArray<float>());
        var parts = torch.arange(5, ScalarType.Float32).chunk(2);
        Assert.Equal(2, parts.Length);
        Assert.Equal(new[] { 3f, 4f }, parts[1].ToArray<float>());
    }

    [Fact]
    public void ArithmeticAndReductionsByHand()
    {
        var a = torch.tensor(new[] { 1f, -2f, 3f, -4f }, new long[] { 2, 2 });
        var b = torch.tensor(new[] { 0.5f, 2f, 1f, 1f }, new long[] { 2, 2 });
        TensorAssert.Values(new[] { 1.5f, 0f, 4f, -3f }, a + b);
        TensorAssert.Values(new[] { 0.5f, -4f, 3f, -4f }, a * b);
        TensorAssert.Values(new[] { 2f, -1f, 3f, -4f }, a / b);
        TensorAssert.Values(new[] { 1f, 4f, -1f, 6f }, 2 - a);
        TensorAssert.Values(new[] { -1f, 2f, -3f, 4f }, -a);
        TensorAssert.Values(new[] { 0.5f, -4f, 2f, -5f }, a - b);
        TensorAssert.Values(new[] { 2f, -4f, 6f, -8f }, a * 2);
        TensorAssert.Values(new[] { 1f, -0.5f, 1f / 3, -0.25f }, 1 / a);
        TensorAssert.Values(new[] { 1f, 0f, 3f, 0f }, a.relu());
        TensorAssert.Values(new[] { 1f, -1f, 2f, -1f }, a.clamp(-1, 2));
        // [[1,-2],[3,-4]] @ [[0.5,2],[1,1]] = [[-1.5, 0], [-2.5, 2]]
        TensorAssert.Values(new[] { -1.5f, 0f, -2.5f, 2f }, a.matmul(b));
        Assert.Equal(-2f, a.sum().item<float>());
        TensorAssert.Values(new[] { 4f, -6f }, a.sum(0));
        TensorAssert.Values(new[] { -0.5f, -0.5f }, a.mean(1));
        Assert.Equal(3f, a.max().item<float>());
        Assert.Equal(new[] { 0L, 0L }, a.argmax(1).ToArray<long>());
        Assert.Equal(MathF.Sqrt(30), a.norm().item<float>(), 5);
        Assert.Equal(new[] { false, true, false, true }, (a < 0).ToArray<bool>());
        Assert.True(a.allclose(a + 1e-9));
        Assert.False(a.equal(b));
    }

    [Fact]
    public void InPlaceOperationsModifyTheSameTensor()
    {
        var a = torch.ones(new long[] { 3 });
        var same = a.mul_(3).add_(1);
        Assert.Same(a, same);
        TensorAssert.Values(new[] { 4f, 4f, 4f }, a);
        a.zero_();
        TensorAssert.Values(new[] { 0f, 0f, 0f }, a);
    }

    [Fact]
    public void DtypeConversionAndItem()
    {
        var a = torch.tensor(new[] { 1.7f, -1.2f });
        Assert.Equal(new[] { 1L, -1L }, a.to(ScalarType.Int64).ToArray<long>());
        Assert.Equal(ScalarType.Float64, a.to(ScalarType.Float64).dtype);
        Assert.Equal(1.7, a[0].item<double>(), 6);
        Assert.Throws<InvalidOperationException>(() => a.item<float>());
    }

    [Fact]
    public void FactoriesHaveTheRequestedShapeTypeAndValues()
    {
        Assert.Equal(new[] { 0f, 0f }, torch.zeros(new long[] { 2 }).ToArray<float>());
        Assert.Equal(new[] { 2.5, 2.5 }, torch.full(new long[] { 2 }, 2.5, ScalarType.Float64).ToArray<double>());
        Assert.Equal(new[] { 2L, 4L, 6L }, torch.arange(2, 7, 2).ToArray<long>());
        Assert.Equal(new[] { 1f, 0f, 0f, 1f }, torch.eye(2).reshape(-1).ToArray<float>());
        Assert.Equal(new[] { 0f, 0.5f, 1f }, torch.linspace(0, 1, 3).ToArray<float>());
        var r = torch.randint(3, 5, new long[] { 100 }).ToArray<long>();
        Assert.All(r, v => Assert.InRange(v, 3, 4));
    }

}
