using Harness.Torch;

namespace Harness.Data.Imaging;

/// <summary>
/// torchvision 0.14's <c>Resize(ResizeSize) → CenterCrop(CropSize) → ToTensor() → Normalize(Mean, Std)</c> on a PIL
/// image, for one source size, plus the same geometry for boxes and masks so that ground truth lands on the pixels
/// the model sees.
/// <list type="bullet">
/// <item>Resize(int) scales the shorter side to ResizeSize and the longer to <c>int(ResizeSize · long / short)</c>
/// (truncated); nothing happens when the size already matches. Resampling is PIL's antialiased bilinear filter
/// with 8-bit output, reproduced exactly (<see cref="PilBilinearResize"/>).</item>
/// <item>CenterCrop takes the window at <c>int(round((size − crop) / 2))</c> (Python rounds halves to even), and
/// zero-pads an axis shorter than the crop with <c>(crop − size) // 2</c> pixels before and the rest after.</item>
/// </list>
/// Coordinates: the source frame is the decoded image, the resized frame is after Resize, and the output frame is
/// the Crop × Crop model input; <see cref="CropLeft"/> and <see cref="CropTop"/> place the output frame in the
/// resized frame (negative on padded axes).
/// </summary>
public sealed class ImageTransform
{
    private readonly float[] _mean;
    private readonly float[] _std;

    public ImageTransform(PreprocessConfig config, int sourceWidth, int sourceHeight)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (sourceWidth <= 0 || sourceHeight <= 0)
            throw new ArgumentOutOfRangeException(nameof(sourceWidth), $"source size {sourceWidth}x{sourceHeight} is empty");
        Config = config;
        SourceWidth = sourceWidth;
        SourceHeight = sourceHeight;
        _mean = config.Mean;
        _std = config.Std;

        // torchvision.transforms.functional._compute_resized_output_size with one size and no max_size.
        var size = config.ResizeSize;
        var (shortSide, longSide) = sourceWidth <= sourceHeight ? (sourceWidth, sourceHeight) : (sourceHeight, sourceWidth);
        var newLong = (int)((double)((long)size * longSide) / shortSide); // Python: int(size * long / short)
        (ResizedWidth, ResizedHeight) = sourceWidth <= sourceHeight ? (size, newLong) : (newLong, size);

        var crop = config.CropSize;
        CropLeft = CropOffset(ResizedWidth, crop);
        CropTop = CropOffset(ResizedHeight, crop);
    }

    public PreprocessConfig Config { get; }
    public int SourceWidth { get; }
    public int SourceHeight { get; }

    /// <summary>Size after Resize (equal to the source size when no resize is needed).</summary>
    public int ResizedWidth { get; }
    public int ResizedHeight { get; }

    /// <summary>Column of the resized frame at output column 0; negative when the width is zero-padded.</summary>
    public int CropLeft { get; }

    /// <summary>Row of the resized frame at output row 0; negative when the height is zero-padded.</summary>
    public int CropTop { get; }

    /// <summary>Side of the square output (the crop size).</summary>
    public int OutputSize => Config.CropSize;

    /// <summary>False when the source already has the resized size and only the crop applies.</summary>
    public bool Resizes => ResizedWidth != SourceWidth || ResizedHeight != SourceHeight;

    // torchvision center_crop: pad (crop − size) // 2 before when the image is smaller, else round half to even.
    private static int CropOffset(int size, int crop) =>
        crop > size ? -((crop - size) / 2) : (int)Math.Round((size - crop) / 2.0, MidpointRounding.ToEven);

    /// <summary>
    /// The model input for <paramref name="image"/>: a 3 × Crop × Crop float32 tensor on the CPU, owned by the
    /// caller's dispose scope. Matches torchvision bit for bit when given PIL's decode of the same file.
    /// </summary>
    public Tensor Apply(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Width != SourceWidth || image.Height != SourceHeight)
            throw new ArgumentException(
                $"image '{image.Source}' is {image.Width}x{image.Height}, but this transform was made for {SourceWidth}x{SourceHeight}", nameof(image));

        var resized = Resizes
            ? PilBilinearResize.Resize(image.Pixels, SourceWidth, SourceHeight, ResizedWidth, ResizedHeight)
            : image.Pixels;
        var cropped = CropBytes(resized);

        var crop = (long)OutputSize;
        using var scope = torch.NewDisposeScope();
        // The ops of ToTensor and Normalize, in their order and dtypes, so the float results are identical:
        // uint8 HWC → CHW → float32 → div(255) → sub_(mean) → div_(std) with 3×1×1 float32 mean and std.
        var hwc = torch.tensor(cropped, new[] { crop, crop, 3L });
        var x = hwc.permute(2, 0, 1).contiguous().to(ScalarType.Float32).div(255.0);
        var mean = torch.tensor(_mean, new long[] { 3, 1, 1 });
        var std = torch.tensor(_std, new long[] { 3, 1, 1 });
        return x.sub_(mean).div_(std).MoveToOuterDisposeScope();
    }

    // Cuts the Crop × Crop window out of the resized HWC bytes; pixels outside the resized image stay 0 (padding).
    private byte[] CropBytes(byte[] resized)
    {
        var crop = OutputSize;
        var output = new byte[crop * crop * 3];
        var (x0, x1) = (Math.Max(0, -CropLeft), Math.Min(crop, ResizedWidth - CropLeft)); // output columns with data
        if (x1 <= x0) return output;
        for (var i = 0; i < crop; i++)
        {
            var r = i + CropTop;
            if (r < 0 || r >= ResizedHeight) continue;
            resized.AsSpan((r * ResizedWidth + x0 + CropLeft) * 3, (x1 - x0) * 3)
                .CopyTo(output.AsSpan((i * crop + x0) * 3));
        }
        return output;
    }

    /// <summary>
    /// <paramref name="box"/> (source frame) in the output frame: scaled by resized/source size per axis, shifted by
    /// the crop offset and clipped to [0, Crop]. Null when nothing of the box remains inside the crop.
    /// </summary>
    public BoundingBox? ApplyToBox(BoundingBox box)
    {
        // Multiply before dividing: integer box edges then map exactly when the exact result is representable,
        // which keeps BoxMask and ApplyToMask in agreement on pixel-centre ties.
        var moved = new BoundingBox(
            box.XMin * ResizedWidth / SourceWidth - CropLeft,
            box.YMin * ResizedHeight / SourceHeight - CropTop,
            box.XMax * ResizedWidth / SourceWidth - CropLeft,
            box.YMax * ResizedHeight / SourceHeight - CropTop).ClipTo(OutputSize, OutputSize);
        return moved.IsEmpty ? null : moved;
    }

    /// <summary>
    /// A SourceHeight × SourceWidth mask (bool, or float with values &gt; 0.5 counting as inside) taken through
    /// the same resize and crop as the image: a Crop × Crop float32 tensor of 0 and 1 on the mask's device, owned
    /// by the caller's scope. Each output pixel takes the source pixel under its centre (nearest neighbour
    /// without the half-pixel shift of PyTorch's legacy "nearest"); padding is 0. For a mask that is a union of
    /// integer-aligned boxes this equals <see cref="BoxMask"/> of those boxes.
    /// </summary>
    public Tensor ApplyToMask(Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        var shape = mask.shape;
        if (shape.Length != 2 || shape[0] != SourceHeight || shape[1] != SourceWidth)
            throw new ArgumentException(
                $"mask of shape [{string.Join(", ", shape)}] does not match the source image ({SourceHeight} rows x {SourceWidth} columns)", nameof(mask));

        var (rows, top, bottom) = SourceIndices(OutputSize, CropTop, ResizedHeight, SourceHeight);
        var (cols, left, right) = SourceIndices(OutputSize, CropLeft, ResizedWidth, SourceWidth);
        using var scope = torch.NewDisposeScope();
        if (rows.Length == 0 || cols.Length == 0)
            return torch.zeros(new long[] { OutputSize, OutputSize }, device: mask.device).MoveToOuterDisposeScope();

        var inside = mask.dtype == ScalarType.Bool ? mask : mask.gt(0.5);
        var device = mask.device;
        var picked = inside
            .index_select(0, torch.tensor(rows, device))
            .index_select(1, torch.tensor(cols, device))
            .to(ScalarType.Float32);
        return torch.nn.functional.pad(picked, new long[] { left, right, top, bottom }).MoveToOuterDisposeScope();
    }

    // For output positions 0..crop-1 along one axis: the source index under each pixel centre for positions inside
    // the resized image, and how many positions before / after fall into the padding.
    private static (long[] Indices, long Before, long After) SourceIndices(int crop, int offset, int resized, int source)
    {
        var first = Math.Max(0, -offset);
        var end = Math.Min(crop, resized - offset);
        if (end <= first) return ([], crop, 0);
        var indices = new long[end - first];
        for (var i = first; i < end; i++)
        {
            long r = i + offset; // resized-frame index; its centre r + 0.5 maps to (r + 0.5) · source / resized
            indices[i - first] = Math.Min((2 * r + 1) * source / (2L * resized), source - 1);
        }
        return (indices, first, crop - end);
    }

    /// <summary>
    /// A Crop × Crop float32 mask of the union of <paramref name="boxes"/> (source frame) after
    /// <see cref="ApplyToBox"/>: output pixel (i, j) is 1 when its centre (j + 0.5, i + 0.5) lies in a transformed
    /// box (left/top edges inclusive, right/bottom exclusive). Owned by the caller's dispose scope.
    /// </summary>
    public Tensor BoxMask(IEnumerable<BoundingBox> boxes)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        var crop = OutputSize;
        var mask = new float[crop * crop];
        foreach (var box in boxes)
        {
            if (ApplyToBox(box) is not { } b) continue;
            // j + 0.5 ∈ [XMin, XMax)  ⇔  ceil(XMin − 0.5) ≤ j < ceil(XMax − 0.5)
            var (j0, j1) = (Math.Max(0, (int)Math.Ceiling(b.XMin - 0.5)), Math.Min(crop, (int)Math.Ceiling(b.XMax - 0.5)));
            var (i0, i1) = (Math.Max(0, (int)Math.Ceiling(b.YMin - 0.5)), Math.Min(crop, (int)Math.Ceiling(b.YMax - 0.5)));
            for (var i = i0; i < i1; i++)
                mask.AsSpan(i * crop + j0, Math.Max(0, j1 - j0)).Fill(1f);
        }
        return torch.tensor(mask, new long[] { crop, crop });
    }

    /// <summary>
    /// The N × 3 × Crop × Crop batch of <paramref name="images"/>, each through its own <see cref="ImageTransform"/>
    /// (images may differ in size). Owned by the caller's dispose scope.
    /// </summary>
    public static Tensor Batch(IReadOnlyList<RgbImage> images, PreprocessConfig config)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("cannot make a batch of zero images", nameof(images));
        using var scope = torch.NewDisposeScope();
        var inputs = new Tensor[images.Count];
        for (var n = 0; n < inputs.Length; n++)
            inputs[n] = new ImageTransform(config, images[n].Width, images[n].Height).Apply(images[n]);
        return torch.stack(inputs).MoveToOuterDisposeScope();
    }
}
