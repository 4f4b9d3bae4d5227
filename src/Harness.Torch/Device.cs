using System.Globalization;

namespace Harness.Torch;

/// <summary>
/// Where a tensor lives: "cpu", "cuda" (the current GPU) or "cuda:N". Nothing in MipIn assumes CPU; every
/// entry point that creates tensors takes a device.
/// </summary>
public readonly record struct Device
{
    private Device(string type, int index)
    {
        Type = type;
        Index = index;
    }

    /// <summary>"cpu" or "cuda".</summary>
    public string Type { get; }

    /// <summary>The device ordinal, or -1 for "the current one".</summary>
    public int Index { get; }

    public static Device CPU { get; } = new("cpu", -1);

    public static Device CUDA(int index = -1) => new("cuda", index);

    public bool IsCuda => Type == "cuda";

    /// <summary>Parses "cpu", "cuda" or "cuda:N" (case-insensitive).</summary>
    public static Device Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text.Trim().ToLowerInvariant();
        if (s == "cpu") return CPU;
        if (s == "cuda") return CUDA();
        if (s.StartsWith("cuda:", StringComparison.Ordinal) &&
            int.TryParse(s.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            return CUDA(index);
        throw new FormatException($"'{text}' is not a device; use cpu, cuda or cuda:N (for example cuda:0).");
    }

    public static implicit operator Device(string text) => Parse(text);

    public override string ToString() => Index >= 0 ? $"{Type}:{Index}" : Type;
}
