using System.CommandLine;
using System.Globalization;
using Harness.Data.Imaging;
using Harness.Models;
using Harness.Torch;

namespace Harness.Client.Commands;

/// <summary>The chosen classifier: architecture, checkpoint, class count, preprocessing and device.</summary>
public sealed record ModelChoice(string Architecture, string WeightsPath, int NumClasses, PreprocessConfig Preprocess, Device Device)
{
    public ClassifierModel Load() => ModelZoo.Load(Architecture, WeightsPath, NumClasses, Device);

    public override string ToString() =>
        $"{Architecture} from {WeightsPath} on {Device}; preprocess resize {Preprocess.ResizeSize}, crop {Preprocess.CropSize}";
}

/// <summary>
/// The options shared by commands that run a classifier on images: --model, --weights, --num-classes, --device and
/// the preprocessing overrides --resize/--crop/--mean/--std. Defaults come from the model card next to the weights
/// (data/models/mobilenet_v2_coral.json for the shipped checkpoint), else torchvision's ImageNet settings.
/// </summary>
public sealed class ModelOptions
{
    private readonly Option<string?> _model = new("--model") { Description = "Architecture (" + string.Join(", ", ModelZoo.Names) + "). Default: the model card next to the weights." };
    private readonly Option<FileInfo> _weights = new("--weights") { Description = "Checkpoint (.pth or .safetensors) in torchvision layout.", DefaultValueFactory = _ => new FileInfo(Path.Combine("data", "models", "mobilenet_v2_coral.pth")) };
    private readonly Option<int?> _numClasses = new("--num-classes") { Description = "Output classes. Default: model card, else 1000." };
    private readonly Option<string> _device = new("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
    private readonly Option<int?> _resize = new("--resize") { Description = "Shorter side after resizing (torchvision Resize). Default: model card, else 256." };
    private readonly Option<int?> _crop = new("--crop") { Description = "Center crop size. Default: model card, else 224." };
    private readonly Option<string?> _mean = new("--mean") { Description = "Per-channel mean, e.g. 0.485,0.456,0.406. Default: model card, else ImageNet's." };
    private readonly Option<string?> _std = new("--std") { Description = "Per-channel std, e.g. 0.229,0.224,0.225. Default: model card, else ImageNet's." };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _model, _weights, _numClasses, _device, _resize, _crop, _mean, _std })
            command.Options.Add(option);
    }

    public ModelChoice Resolve(ParseResult parse)
    {
        var weightsPath = parse.GetValue(_weights)!.FullName;
        if (!File.Exists(weightsPath)) throw new CommandLineException($"--weights {weightsPath}: file not found");
        var card = ModelCard.TryLoadFor(weightsPath);
        var architecture = parse.GetValue(_model) ?? card?.Architecture
            ?? throw new CommandLineException($"--model is required: no model card {ModelCard.PathFor(weightsPath)} names the architecture.");
        var defaults = card?.Preprocess ?? PreprocessConfig.ImageNet;
        PreprocessConfig preprocess;
        try
        {
            preprocess = new PreprocessConfig(
                parse.GetValue(_resize) ?? defaults.ResizeSize,
                parse.GetValue(_crop) ?? defaults.CropSize,
                ParseTriple(parse.GetValue(_mean), "--mean") ?? defaults.Mean,
                ParseTriple(parse.GetValue(_std), "--std") ?? defaults.Std);
        }
        catch (ArgumentException e)
        {
            throw new CommandLineException(e.Message);
        }
        return new ModelChoice(architecture, weightsPath, parse.GetValue(_numClasses) ?? card?.NumClasses ?? 1000, preprocess,
            Device.Parse(parse.GetValue(_device)!));
    }

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
