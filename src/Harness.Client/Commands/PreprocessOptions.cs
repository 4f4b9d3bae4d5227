using System.CommandLine;
using System.Globalization;
using Harness.Grains.Imaging;

namespace Harness.Client.Commands;

/// <summary>The --resize/--crop/--mean/--std options shared by commands that read images.</summary>
public sealed class PreprocessOptions
{
    private readonly Option<int?> _resize = new("--resize") { Description = "Shorter side after resizing (torchvision Resize). Default: model card, else 256." };
    private readonly Option<int?> _crop = new("--crop") { Description = "Center crop size. Default: model card, else 224." };
    private readonly Option<string?> _mean = new("--mean") { Description = "Per-channel mean, e.g. 0.485,0.456,0.406. Default: model card, else ImageNet's." };
    private readonly Option<string?> _std = new("--std") { Description = "Per-channel std, e.g. 0.229,0.224,0.225. Default: model card, else ImageNet's." };

    public static PreprocessOptions Create() => new();

    public void AddTo(Command command)
    {
        command.Options.Add(_resize);
        command.Options.Add(_crop);
        command.Options.Add(_mean);
        command.Options.Add(_std);
    }

    /// <summary>The defaults with any option given on the command line applied.</summary>
    public PreprocessConfig Resolve(ParseResult parse, PreprocessConfig defaults) => new(
        parse.GetValue(_resize) ?? defaults.ResizeSize,
        parse.GetValue(_crop) ?? defaults.CropSize,
        ParseTriple(parse.GetValue(_mean), "--mean") ?? defaults.Mean,
        ParseTriple(parse.GetValue(_std), "--std") ?? defaults.Std);

    private static float[]? ParseTriple(string? text, string option)
    {
        if (text is null) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new float[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
                throw new CommandLineException($"{option}: '{parts[i]}' is not a number (expected three comma-separated numbers).");
        return values.Length == 3 ? values : throw new CommandLineException($"{option}: expected three comma-separated numbers, got {values.Length}.");
    }
}
