using System.Diagnostics.CodeAnalysis;

namespace Harness.Grains;

/// <summary>
/// Values by key in the order of their last use, for the caches that keep the few used last: a slot's models
/// (<see cref="GrainContext"/>), a silo's plans. It evicts nothing by itself; its owner decides when, and what to do
/// with what goes (dispose a model, drop a plan). Not thread-safe: its owners lock around it.
/// </summary>
public sealed class LeastRecentlyUsed<TValue>
{
    private readonly Dictionary<string, (TValue Value, long LastUse)> _entries = new(StringComparer.Ordinal);
    private long _uses;

    public int Count => _entries.Count;

    public IReadOnlyList<string> Keys => [.. _entries.Keys];

    public IReadOnlyList<TValue> Values => [.. _entries.Values.Select(e => e.Value)];

    /// <summary>The value held under <paramref name="key"/>, now the one used last.</summary>
    public bool TryGet(string key, [MaybeNullWhen(false)] out TValue value)
    {
        if (!_entries.TryGetValue(key, out var entry))
        {
            value = default;
            return false;
        }
        _entries[key] = (entry.Value, ++_uses);
        value = entry.Value;
        return true;
    }

    /// <summary>Holds <paramref name="value"/> under <paramref name="key"/> as the one used last.</summary>
    public void Set(string key, TValue value) => _entries[key] = (value, ++_uses);

    /// <summary>Removes the value under <paramref name="key"/>.</summary>
    public bool Remove(string key) => _entries.Remove(key);

    /// <summary>Removes and returns the value used least recently; false when empty.</summary>
    public bool TryRemoveLeastRecent([MaybeNullWhen(false)] out string key, [MaybeNullWhen(false)] out TValue value)
    {
        if (_entries.Count == 0)
        {
            (key, value) = (null, default);
            return false;
        }
        key = _entries.MinBy(e => e.Value.LastUse).Key;
        _entries.Remove(key, out var entry);
        value = entry.Value;
        return true;
    }

    public void Clear() => _entries.Clear();
}
