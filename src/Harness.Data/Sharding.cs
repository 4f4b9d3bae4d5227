namespace Harness.Data;

/// <summary>
/// Deterministic splitting of an ordered list into contiguous shards. The result depends only on the
/// list order and the arguments (no hashing, no randomness, no machine state), so every worker computes
/// the same shards and a run can be resumed or checked shard by shard.
/// </summary>
public static class Sharding
{
    /// <summary>
    /// Shard <paramref name="shardIndex"/> of <paramref name="shardCount"/>: a contiguous run of items, in order.
    /// With n items, the first n mod shardCount shards hold ⌈n/shardCount⌉ items and the rest ⌊n/shardCount⌋,
    /// so sizes differ by at most one and the larger shards come first (10 items in 3 shards: 4, 3, 3).
    /// More shards than items gives empty trailing shards.
    /// </summary>
    public static IReadOnlyList<T> ShardOf<T>(IReadOnlyList<T> items, int shardIndex, int shardCount)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (shardCount < 1)
            throw new ArgumentOutOfRangeException(nameof(shardCount), shardCount, "shard count must be at least 1");
        if (shardIndex < 0 || shardIndex >= shardCount)
            throw new ArgumentOutOfRangeException(nameof(shardIndex), shardIndex, $"shard index must be in [0, {shardCount})");
        int size = items.Count / shardCount, extra = items.Count % shardCount;
        int start = shardIndex * size + Math.Min(shardIndex, extra);
        return Slice(items, start, size + (shardIndex < extra ? 1 : 0));
    }

    /// <summary>
    /// Consecutive shards of <paramref name="shardSize"/> items; the last holds the remainder (1..shardSize items).
    /// An empty list gives no shards.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<T>> BySize<T>(IReadOnlyList<T> items, int shardSize)
    {
        ArgumentNullException.ThrowIfNull(items);
        int count = ShardCount(items.Count, shardSize);
        var shards = new IReadOnlyList<T>[count];
        for (int i = 0; i < count; i++)
        {
            int start = i * shardSize;
            shards[i] = Slice(items, start, Math.Min(shardSize, items.Count - start));
        }
        return shards;
    }

    /// <summary>How many shards of <paramref name="shardSize"/> items cover <paramref name="itemCount"/> items: ⌈itemCount/shardSize⌉.</summary>
    public static int ShardCount(int itemCount, int shardSize)
    {
        if (itemCount < 0)
            throw new ArgumentOutOfRangeException(nameof(itemCount), itemCount, "item count must not be negative");
        if (shardSize < 1)
            throw new ArgumentOutOfRangeException(nameof(shardSize), shardSize, "shard size must be at least 1");
        return (int)(((long)itemCount + shardSize - 1) / shardSize);
    }

    // A copy, not a view: a shard handed to another worker must not change if the source list does.
    private static T[] Slice<T>(IReadOnlyList<T> items, int start, int count)
    {
        var slice = new T[count];
        for (int i = 0; i < count; i++) slice[i] = items[start + i];
        return slice;
    }
}
