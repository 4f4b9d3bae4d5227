using Harness.Grains;

namespace Harness.Tests.Cluster;

/// <summary>The use order behind a slot's models and a silo's plans, checked by hand.</summary>
public sealed class LeastRecentlyUsedTests
{
    [Fact]
    public void RemovesInTheOrderOfLastUseWhereAReadAndAnOverwriteCountAsUse()
    {
        var cache = new LeastRecentlyUsed<int>();
        cache.Set("a", 1);
        cache.Set("b", 2);
        cache.Set("c", 3);
        Assert.True(cache.TryGet("a", out var a));  // a is now the most recent: b, c, a
        Assert.Equal(1, a);
        cache.Set("b", 20);                          // overwritten, so used: c, a, b
        Assert.False(cache.TryGet("z", out _));

        var order = new List<(string, int)>();
        while (cache.TryRemoveLeastRecent(out var key, out var value)) order.Add((key, value));
        Assert.Equal(new[] { ("c", 3), ("a", 1), ("b", 20) }, order);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void RemoveAndClearForgetKeys()
    {
        var cache = new LeastRecentlyUsed<string>();
        cache.Set("x", "1");
        cache.Set("y", "2");
        Assert.True(cache.Remove("x"));
        Assert.False(cache.Remove("x"));
        Assert.Equal(new[] { "y" }, cache.Keys);
        Assert.Equal(new[] { "2" }, cache.Values);
        cache.Clear();
        Assert.False(cache.TryRemoveLeastRecent(out _, out _));
    }
}
