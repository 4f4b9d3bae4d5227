using Harness.Data;
using Harness.Data.Imaging;
using Harness.Torch;

namespace Harness.Data;

/// <summary>
/// Decodes and preprocesses dataset records into model-input batches. JPEG decoding runs in parallel; an image
/// that cannot be decoded becomes a counted <see cref="DataIssue"/> and is left out of the batch, never dropped
/// silently. A truncated JPEG is such an issue too: libjpeg decodes it with a warning ("Premature end of JPEG file")
/// and grey-fills the missing rows, but PIL, which torchvision uses, refuses it, so scoring it would score an image
/// nobody else sees. Other libjpeg warnings (e.g. extraneous bytes before a marker) are tolerated, as PIL does.
/// </summary>
public static class ImageBatchLoader
{
    /// <summary>A preprocessed batch: N×3×H×W on <paramref name="device"/> plus the records it holds, in order.</summary>
    public sealed record Batch(Tensor Images, IReadOnlyList<ImageRecord> Records, IReadOnlyList<RgbImage> Decoded);

    /// <summary>libjpeg's warning for a file that ends before its last scan (JWRN_JPEG_EOF).</summary>
    public const string TruncationWarning = "Premature end of JPEG file";

    public static Batch Load(IReadOnlyList<ImageRecord> records, PreprocessConfig config, Device device, ICollection<DataIssue> issues)
    {
        var decoded = new RgbImage?[records.Count];
        var errors = new string?[records.Count];
        Parallel.For(0, records.Count, i =>
        {
            try
            {
                string? truncated = null;
                var image = JpegDecoder.Decode(records[i].ImagePath, warning =>
                {
                    if (warning.Contains(TruncationWarning, StringComparison.Ordinal)) truncated = warning;
                });
                if (truncated is null) decoded[i] = image;
                else errors[i] = $"truncated JPEG ({truncated}); PIL refuses it too: re-copy the file";
            }
            catch (ImageDecodeException e)
            {
                errors[i] = e.Message;
            }
        });
        var kept = new List<ImageRecord>();
        var images = new List<RgbImage>();
        for (var i = 0; i < records.Count; i++)
        {
            if (decoded[i] is { } image)
            {
                kept.Add(records[i]);
                images.Add(image);
            }
            else
            {
                issues.Add(new DataIssue(records[i].Id, records[i].ImagePath, errors[i] ?? "could not be decoded"));
            }
        }
        if (images.Count == 0) return new Batch(torch.empty(new long[] { 0, 3, config.CropSize, config.CropSize }, device: device), kept, images);
        using var scope = torch.NewDisposeScope();
        var batch = ImageTransform.Batch(images, config);
        var onDevice = device == Device.CPU ? batch : batch.to(device);
        return new Batch(onDevice.MoveToOuterDisposeScope(), kept, images);
    }
}
