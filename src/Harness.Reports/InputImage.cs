using Harness.Data.Imaging;
using Harness.Torch;

namespace Harness.Reports;

/// <summary>Turns a preprocessed model input (3×H×W, normalised) back into an RGB image, to draw maps over what the model saw.</summary>
public static class InputImage
{
    public static RgbImage FromTensor(Tensor input, PreprocessConfig config, string source = "")
    {
        using var scope = torch.NewDisposeScope();
        var mean = torch.tensor(config.Mean, new long[] { 3, 1, 1 }, input.device);
        var std = torch.tensor(config.Std, new long[] { 3, 1, 1 }, input.device);
        var rgb = ((input * std + mean) * 255).round().clamp(0, 255).to(ScalarType.Byte).permute(1, 2, 0).contiguous();
        return new RgbImage((int)input.size(2), (int)input.size(1), rgb.cpu().ToArray<byte>(), source);
    }
}
