using System.Globalization;

namespace Harness.Attribution;

/// <summary>
/// A method's or metric's options as given in a config (name → string), read with typed getters. Every getter records its key
/// as valid, so after a factory has read all its options <see cref="ThrowIfUnknown"/> can reject keys nobody read,
/// listing the valid ones. Errors are <see cref="ArgumentException"/>s naming the owner, the option and the
/// accepted values.
/// </summary>
public sealed class ConfigOptions
{
    private readonly IReadOnlyDictionary<string, string> _values;
    private readonly List<string> _known = new();

    /// <param name="owner">The method or metric the options belong to; error messages start with it.</param>
    public ConfigOptions(string owner, IReadOnlyDictionary<string, string>? values)
    {
        Owner = owner;
        _values = values ?? new Dictionary<string, string>();
    }

    public string Owner { get; }

    /// <summary>The option keys read so far (for a finished factory: every valid key).</summary>
    public IReadOnlyList<string> Known => _known;

    private bool TryGet(string key, out string value)
    {
        if (!_known.Contains(key)) _known.Add(key);
        if (_values.TryGetValue(key, out var v))
        {
            value = v.Trim();
            return true;
        }
        value = "";
        return false;
    }

    private ArgumentException Invalid(string key, string value, string expected) =>
        new($"{Owner}: option {key}='{value}' is not valid; expected {expected}");

    public string GetString(string key, string @default) => TryGet(key, out var v) ? v : @default;

    /// <summary>The string option, or null when absent.</summary>
    public string? GetStringOrNull(string key) => TryGet(key, out var v) ? v : null;

    public int GetInt(string key, int @default, int min = int.MinValue, int max = int.MaxValue)
    {
        if (!TryGet(key, out var v)) return @default;
        return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) && x >= min && x <= max
            ? x
            : throw Invalid(key, v, $"an integer in [{min}, {max}]");
    }

    public ulong GetSeed(string key, ulong @default)
    {
        if (!TryGet(key, out var v)) return @default;
        return ulong.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x)
            ? x
            : throw Invalid(key, v, "a non-negative integer seed");
    }

    public double GetDouble(string key, double @default, double min = double.NegativeInfinity, double max = double.PositiveInfinity,
        bool minExclusive = false)
    {
        if (!TryGet(key, out var v)) return @default;
        var ok = double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x)
                 && (minExclusive ? x > min : x >= min) && x <= max;
        return ok ? x : throw Invalid(key, v, $"a number in {(minExclusive ? "(" : "[")}{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]");
    }

    /// <summary>One of <paramref name="choices"/> (by name); the error lists them.</summary>
    public T GetChoice<T>(string key, T @default, IReadOnlyList<(string Name, T Value)> choices)
    {
        if (!TryGet(key, out var v)) return @default;
        foreach (var (name, value) in choices)
            if (string.Equals(name, v, StringComparison.Ordinal)) return value;
        throw Invalid(key, v, $"one of {string.Join(", ", choices.Select(c => c.Name))}");
    }

    public ChannelReduction GetReduction(string key, ChannelReduction @default) =>
        GetChoice(key, @default, ChannelReductions.Names.Select(n => (n, ChannelReductions.Parse(n))).ToArray());

    /// <summary>Rejects every given key that no getter read, listing the valid ones.</summary>
    public void ThrowIfUnknown()
    {
        var unknown = _values.Keys.Where(k => !_known.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (unknown.Count == 0) return;
        var valid = _known.Count == 0 ? "it takes no options" : $"valid options: {string.Join(", ", _known)}";
        throw new ArgumentException($"{Owner}: unknown option{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown)}; {valid}");
    }
}
