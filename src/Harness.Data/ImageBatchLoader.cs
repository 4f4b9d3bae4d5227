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

    /// <summary>
    /// Why the record's annotation cannot belong to the decoded image, or null when it can: the size the XML
    /// states differs from the decoded size, or a box reaches past the image (the CSV states no size, so this is
    /// where its boxes are checked). Scoring such an image would measure localisation against the wrong boxes.
    /// </summary>
    public static string? AnnotationMismatch(ImageRecord record, RgbImage image)
    {
        if (record.AnnotatedWidth is int w && record.AnnotatedHeight is int h && (w != image.Width || h != image.Height))
            return $"the annotation states a {w}×{h} image but the file decodes to {image.Width}×{image.Height}: the box file belongs to another image";
        foreach (var box in record.Boxes)
        {
            if (box.XMin < 0 || box.YMin < 0 || box.XMax > image.Width || box.YMax > image.Height)
                return $"box ({box.XMin}, {box.YMin}, {box.XMax - 1}, {box.YMax - 1}) lies outside the {image.Width}×{image.Height} image: fix the annotation";
        }
        return null;
    }

    /// <summary>Decoded images of a batch, before resizing: the records that decoded, in order, and their pixels.</summary>
    public sealed record DecodedBatch(IReadOnlyList<ImageRecord> Records, IReadOnlyList<RgbImage> Images);

    /// <summary>Decodes and preprocesses <paramref name="records"/> (<see cref="Decode"/>, then <see cref="ToBatch"/>).</summary>
    public static Batch Load(IReadOnlyList<ImageRecord> records, PreprocessConfig config, Device device, ICollection<DataIssue> issues) =>
        ToBatch(Decode(records, issues), config, device);

    /// <summary>
    /// Decodes the JPEGs of <paramref name="records"/> in parallel and checks each against its annotation; a record
    /// that fails becomes a <see cref="DataIssue"/> in <paramref name="issues"/> and is left out.
    /// </summary>
    public static DecodedBatch Decode(IReadOnlyList<ImageRecord> records, ICollection<DataIssue> issues)
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
                if (truncated is not null) errors[i] = $"truncated JPEG ({truncated}); PIL refuses it too: re-copy the file";
                else if (AnnotationMismatch(records[i], image) is { } mismatch) errors[i] = mismatch;
                else decoded[i] = image;
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
        return new DecodedBatch(kept, images);
    }

    /// <summary>Resizes, crops and normalises decoded images into an N×3×H×W batch on <paramref name="device"/>.</summary>
    public static Batch ToBatch(DecodedBatch decoded, PreprocessConfig config, Device device)
    {
        var (kept, images) = (decoded.Records, decoded.Images);
        if (images.Count == 0) return new Batch(torch.empty(new long[] { 0, 3, config.CropSize, config.CropSize }, device: device), kept, images);
        using var scope = torch.NewDisposeScope();
        var batch = ImageTransform.Batch(images, config);
        var onDevice = device == Device.CPU ? batch : batch.to(device);
        return new Batch(onDevice.MoveToOuterDisposeScope(), kept, images);
    }
}
