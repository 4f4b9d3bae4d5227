using System.Globalization;

namespace Harness.Data.Imaging;

/// <summary>
/// The torchvision evaluation preprocessing of a model: <c>Resize(ResizeSize)</c> (shorter side) →
/// <c>CenterCrop(CropSize)</c> → <c>ToTensor()</c> → <c>Normalize(Mean, Std)</c>, applied by <see cref="ImageTransform"/>.
/// A ResizeSize below CropSize is allowed: the crop is then zero-padded, as torchvision does.
/// Equality compares the mean and std values, not the array references.
/// </summary>
public sealed record PreprocessConfig(int ResizeSize, int CropSize, float[] Mean, float[] Std)
{
    private readonly int _resizeSize = CheckSize(ResizeSize, nameof(ResizeSize));
    private readonly int _cropSize = CheckSize(CropSize, nameof(CropSize));
    private readonly float[] _mean = CheckChannels(Mean, nameof(Mean), positive: false);
    private readonly float[] _std = CheckChannels(Std, nameof(Std), positive: true);

    // The init accessors validate too, so `config with { CropSize = 0 }` fails like the constructor does.
    public int ResizeSize { get => _resizeSize; init => _resizeSize = CheckSize(value, nameof(ResizeSize)); }
    public int CropSize { get => _cropSize; init => _cropSize = CheckSize(value, nameof(CropSize)); }

    /// <summary>Per-channel (R, G, B) mean subtracted after scaling to [0, 1]. A copy: the config cannot be changed through it.</summary>
    public float[] Mean { get => (float[])_mean.Clone(); init => _mean = CheckChannels(value, nameof(Mean), positive: false); }

    /// <summary>Per-channel (R, G, B) divisor applied after the mean.</summary>
    public float[] Std { get => (float[])_std.Clone(); init => _std = CheckChannels(value, nameof(Std), positive: true); }

    /// <summary>torchvision's ImageNet classifiers: Resize(256), CenterCrop(224), ImageNet mean and std.</summary>
    public static PreprocessConfig ImageNet => new(256, 224, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>
    /// The shipped MobileNetV2 checkpoint (data/models/mobilenet_v2_coral.pth): Resize(224), CenterCrop(224),
    /// inputs scaled to [−1, 1] (mean 0.5, std 0.5).
    /// </summary>
    public static PreprocessConfig MobileNetV2Coral => new(224, 224, [0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]);

    public bool Equals(PreprocessConfig? other) =>
        other is not null && _resizeSize == other._resizeSize && _cropSize == other._cropSize &&
        _mean.AsSpan().SequenceEqual(other._mean) && _std.AsSpan().SequenceEqual(other._std);

    public override int GetHashCode() =>
        HashCode.Combine(_resizeSize, _cropSize, _mean[0], _mean[1], _mean[2], _std[0], _std[1], _std[2]);

    public override string ToString() =>
        $"PreprocessConfig {{ ResizeSize = {_resizeSize}, CropSize = {_cropSize}, Mean = [{Join(_mean)}], Std = [{Join(_std)}] }}";

    private static string Join(float[] values) => string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));

    private static int CheckSize(int size, string name) =>
        size > 0 ? size : throw new ArgumentException($"{name} must be a positive number of pixels, not {size}", name);

    private static float[] CheckChannels(float[]? values, string name, bool positive)
    {
        if (values is null) throw new ArgumentException($"{name} is missing: give one value per RGB channel", name);
        if (values.Length != 3)
            throw new ArgumentException($"{name} needs 3 values (R, G, B), not {values.Length}", name);
        foreach (var v in values)
        {
            if (!float.IsFinite(v)) throw new ArgumentException($"{name} contains {v}; values must be finite", name);
            if (positive && v <= 0) throw new ArgumentException($"{name} contains {v}; every value must be > 0 (it is a divisor)", name);
        }
        return (float[])values.Clone();
    }
}
