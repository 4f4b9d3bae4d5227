using Harness.Torch;

namespace Harness.Tests.Torch;

/// <summary>Dispose scopes free native memory deterministically, without help from the garbage collector.</summary>
[Collection(SerialCollection.Name)]
public sealed class MemoryTests
{
    private static long ResidentBytes()
    {
        // /proc/self/statm: size resident shared ... in pages.
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1]) * Environment.SystemPageSize;
    }

    // Keeps every tensor wrapper reachable, so finalizers cannot free anything: only the scopes can.
    private static void SmallOps(int count, List<Tensor> alive)
    {
        for (var i = 0; i < count; i++)
        {
            using var scope = torch.NewDisposeScope();
            var a = torch.ones(new long[] { 64, 64 });
            var b = (a * 2 + 1).relu();
            alive.Add(a);
            alive.Add(b);
            alive.Add(b.sum(1).mean());
        }
    }

    [Fact]
    public void HundredThousandScopedOpsKeepResidentMemoryFlat()
    {
        var alive = new List<Tensor>(80_000);
        SmallOps(5_000, alive); // warm up allocator caches and JIT
        var before = ResidentBytes();
        SmallOps(20_000, alive); // 5 ops each: 100,000 ops, ~1.6 GB of tensors if nothing were freed
        var growth = ResidentBytes() - before;
        // A leak of one 16 KiB tensor per iteration would add ~320 MiB; allocator and managed-heap noise stays well below 48 MiB.
        Assert.True(growth < 48L * 1024 * 1024, $"resident memory grew by {growth / 1024 / 1024} MiB over 100,000 ops");
        Assert.All(alive, t => Assert.True(t.IsDisposed));
    }

    [Fact]
    public void ScopeDisposesItsTensorsAndKeepsMovedOnes()
    {
        Tensor inner, kept;
        using (var outer = torch.NewDisposeScope())
        {
            using (torch.NewDisposeScope())
            {
                inner = torch.ones(new long[] { 2 });
                kept = (inner * 3).MoveToOuterDisposeScope();
            }
            Assert.True(inner.IsDisposed);
            Assert.False(kept.IsDisposed);
            Assert.Equal(6f, kept.sum().item<float>());
            Assert.Same(outer, DisposeScope.Current);
        }
        Assert.True(kept.IsDisposed);
        Assert.Null(DisposeScope.Current);
    }

    [Fact]
    public void DetachedTensorsSurviveTheScope()
    {
        Tensor detached;
        using (torch.NewDisposeScope())
            detached = torch.zeros(new long[] { 3 }).DetachFromDisposeScope();
        Assert.False(detached.IsDisposed);
        detached.Dispose();
        Assert.True(detached.IsDisposed);
    }
}
