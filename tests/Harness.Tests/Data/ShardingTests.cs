using Harness.Data;

namespace Harness.Tests.Data;

public sealed class ShardingTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, 3)]
    [InlineData(1, 1)]
    [InlineData(2, 5)]
    [InlineData(10, 3)]
    [InlineData(200, 7)]
    [InlineData(200, 200)]
    [InlineData(201, 8)]
    public void ShardsCoverEveryItemOnceInOrderWithSizesWithinOne(int n, int shards)
    {
        var items = Enumerable.Range(100, n).ToArray();
        var parts = Enumerable.Range(0, shards).Select(i => Sharding.ShardOf(items, i, shards)).ToArray();

        Assert.Equal(items, parts.SelectMany(p => p));
        var sizes = parts.Select(p => p.Count).ToArray();
        Assert.True(sizes.Max() - sizes.Min() <= 1);
        Assert.Equal(sizes.OrderDescending(), sizes); // larger shards first
    }

    [Fact]
    public void TenItemsInThreeShardsAreFourThreeThree()
    {
        var items = Enumerable.Range(0, 10).ToArray();
        Assert.Equal(new[] { 0, 1, 2, 3 }, Sharding.ShardOf(items, 0, 3));
        Assert.Equal(new[] { 4, 5, 6 }, Sharding.ShardOf(items, 1, 3));
        Assert.Equal(new[] { 7, 8, 9 }, Sharding.ShardOf(items, 2, 3));
    }

    [Fact]
    public void SameInputGivesSameShards()
    {
        var a = Enumerable.Range(0, 57).Select(i => $"img{i:D3}").ToList();
        var b = a.ToArray();
        for (int i = 0; i < 4; i++) Assert.Equal(Sharding.ShardOf(a, i, 4), Sharding.ShardOf(b, i, 4));
        Assert.Equal(Sharding.BySize(a, 10), Sharding.BySize(b, 10));
    }

    [Fact]
    public void ShardIsACopy()
    {
        var items = new List<int> { 1, 2, 3 };
        var shard = Sharding.ShardOf(items, 0, 1);
        items[0] = 9;
        Assert.Equal(new[] { 1, 2, 3 }, shard);
    }

    [Fact]
    public void BySizeCutsConsecutiveChunksWithRemainderLast()
    {
        var items = Enumerable.Range(0, 23).ToArray();
        var shards = Sharding.BySize(items, 10);
        Assert.Equal(new[] { 10, 10, 3 }, shards.Select(s => s.Count));
        Assert.Equal(items, shards.SelectMany(s => s));
        Assert.Single(Sharding.BySize(items, 23));
        Assert.Equal(23, Sharding.BySize(items, 1).Count);
        Assert.Empty(Sharding.BySize(Array.Empty<int>(), 5));
    }

    [Theory]
    [InlineData(0, 5, 0)]
    [InlineData(1, 5, 1)]
    [InlineData(10, 5, 2)]
    [InlineData(11, 5, 3)]
    [InlineData(int.MaxValue, 1, int.MaxValue)]
    public void ShardCountIsCeiling(int n, int size, int expected) => Assert.Equal(expected, Sharding.ShardCount(n, size));

    [Fact]
    public void InvalidArgumentsThrow()
    {
        var items = new[] { 1, 2, 3 };
        Assert.Equal("shardCount", Assert.Throws<ArgumentOutOfRangeException>(() => Sharding.ShardOf(items, 0, 0)).ParamName);
        Assert.Equal("shardIndex", Assert.Throws<ArgumentOutOfRangeException>(() => Sharding.ShardOf(items, 3, 3)).ParamName);
        Assert.Equal("shardIndex", Assert.Throws<ArgumentOutOfRangeException>(() => Sharding.ShardOf(items, -1, 3)).ParamName);
        Assert.Equal("shardSize", Assert.Throws<ArgumentOutOfRangeException>(() => Sharding.BySize(items, 0)).ParamName);
        Assert.Equal("itemCount", Assert.Throws<ArgumentOutOfRangeException>(() => Sharding.ShardCount(-1, 2)).ParamName);
        Assert.Throws<ArgumentNullException>(() => Sharding.ShardOf<int>(null!, 0, 1));
    }
}
