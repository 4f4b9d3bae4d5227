using System.Buffers.Binary;
using System.IO.Compression;
using Harness.Torch;

namespace Harness.Data;

/// <summary>
/// MNIST digits read from the standard IDX files (gzipped or not). Pixels stay as the original bytes;
/// tensors are made on request for a range, so a 10,000-digit set costs 7.8 MB, not 31 MB of floats.
/// </summary>
public sealed class MnistDataset
{
    /// <summary>IDX magic numbers: 0x08 = unsigned byte elements, then the number of dimensions.</summary>
    public const int ImagesMagic = 0x00000803;
    public const int LabelsMagic = 0x00000801;

    /// <summary>The usual MNIST normalisation (training-set pixel mean and standard deviation in [0, 1] units).</summary>
    public const float Mean = 0.1307f;
    public const float Std = 0.3081f;

    public const string TestImagesName = "t10k-images-idx3-ubyte";
    public const string TestLabelsName = "t10k-labels-idx1-ubyte";

    private MnistDataset(string imagesPath, string labelsPath, int count, int rows, int cols, byte[] pixels, byte[] labels)
    {
        ImagesPath = imagesPath;
        LabelsPath = labelsPath;
        Count = count;
        Rows = rows;
        Cols = cols;
        Pixels = pixels;
        Labels = labels;
    }

    public string ImagesPath { get; }
    public string LabelsPath { get; }
    public int Count { get; }
    public int Rows { get; }
    public int Cols { get; }

    /// <summary>Count × Rows × Cols bytes, row-major, 0 = background, 255 = ink.</summary>
    public byte[] Pixels { get; }

    /// <summary>Count digit labels 0..9.</summary>
    public byte[] Labels { get; }

    /// <summary>Loads the test set from <paramref name="dir"/>: t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each optionally ".gz".</summary>
    public static MnistDataset Load(string dir) =>
        Load(FindFile(dir, TestImagesName), FindFile(dir, TestLabelsName));

    public static MnistDataset Load(string imagesPath, string labelsPath)
    {
        var images = ReadAllBytesDecompressed(imagesPath);
        var labels = ReadAllBytesDecompressed(labelsPath);

        ReadHeader(images, imagesPath, ImagesMagic, 16, "images");
        int count = BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(4));
        int rows = BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(8));
        int cols = BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(12));
        if (count < 0 || rows <= 0 || cols <= 0)
            throw new DatasetException(imagesPath, $"header gives {count} images of {rows}x{cols}", "the file is corrupt; download it again");
        CheckLength(imagesPath, images.LongLength, 16 + (long)count * rows * cols, $"{count:N0} images of {rows}x{cols}");

        ReadHeader(labels, labelsPath, LabelsMagic, 8, "labels");
        int labelCount = BinaryPrimitives.ReadInt32BigEndian(labels.AsSpan(4));
        if (labelCount != count)
            throw new DatasetException(labelsPath, $"holds {labelCount:N0} labels but {imagesPath} holds {count:N0} images",
                "use the images and labels files of the same split (both t10k-* or both train-*)");
        CheckLength(labelsPath, labels.LongLength, 8 + (long)count, $"{count:N0} labels");

        var labelBytes = labels[8..];
        int bad = Array.FindIndex(labelBytes, l => l > 9);
        if (bad >= 0)
            throw new DatasetException(labelsPath, $"label {labelBytes[bad]} at index {bad} is not a digit 0..9", "the file is corrupt; download it again");
        return new MnistDataset(imagesPath, labelsPath, count, rows, cols, images[16..], labelBytes);
    }

    /// <summary>
    /// The file's content, gunzipped when it starts with the gzip magic bytes 1f 8b (detected, not guessed
    /// from the name, since mirrors ship both forms under either name).
    /// </summary>
    public static byte[] ReadAllBytesDecompressed(string path)
    {
        if (!File.Exists(path))
            throw new DatasetException(path, "file not found", "point to the MNIST IDX file (optionally .gz)");
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b) return bytes;
        try
        {
            using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var output = new MemoryStream();
            gz.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DatasetException(path, $"gzip data is corrupt or truncated ({e.Message})", "download the file again", inner: e);
        }
    }

    /// <summary>Images [start, start+count) as float32 count×1×Rows×Cols in [0, 1], or standardised with <see cref="Mean"/>/<see cref="Std"/>.</summary>
    public Tensor ImagesTensor(int start, int count, bool normalize = false, Device? device = null)
    {
        CheckRange(start, count);
        int size = Rows * Cols;
        var data = new float[(long)count * size];
        var src = Pixels.AsSpan(start * size, count * size);
        // Same arithmetic as torchvision's ToTensor (x/255) then Normalize ((x - mean)/std), in float32.
        for (int i = 0; i < data.Length; i++)
        {
            float x = src[i] / 255f;
            data[i] = normalize ? (x - Mean) / Std : x;
        }
        return torch.tensor(data, [count, 1, Rows, Cols], device);
    }

    /// <summary>Labels [start, start+count) as an int64 vector, the dtype cross-entropy expects.</summary>
    public Tensor LabelsTensor(int start, int count, Device? device = null)
    {
        CheckRange(start, count);
        var data = new long[count];
        for (int i = 0; i < count; i++) data[i] = Labels[start + i];
        return torch.tensor(data, [count], device);
    }

    private void CheckRange(int start, int count)
    {
        if (start < 0 || count < 0 || start > Count - count)
            throw new ArgumentOutOfRangeException(nameof(start), $"range [{start}, {start}+{count}) is outside the {Count} digits of {ImagesPath}");
    }

    private static string FindFile(string dir, string name)
    {
        foreach (var candidate in new[] { Path.Combine(dir, name), Path.Combine(dir, name + ".gz") })
            if (File.Exists(candidate)) return candidate;
        throw new DatasetException(Path.Combine(dir, name), $"neither {name} nor {name}.gz found in {dir}",
            "point to the folder holding the MNIST IDX files (the repository ships them in data/mnist)");
    }

    private static void ReadHeader(byte[] bytes, string path, int magic, int headerSize, string what)
    {
        if (bytes.Length < headerSize)
            throw new DatasetException(path, $"file is {bytes.Length} bytes, shorter than the {headerSize}-byte IDX {what} header",
                "the file is truncated; download it again");
        int found = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (found != magic)
            throw new DatasetException(path, $"magic number 0x{found:X8} is not 0x{magic:X8} (IDX {what})",
                $"pass the {what} file here (images: *-images-idx3-ubyte, labels: *-labels-idx1-ubyte), undamaged");
    }

    private static void CheckLength(string path, long actual, long expected, string what)
    {
        if (actual < expected)
            throw new DatasetException(path, $"file is truncated: {actual:N0} bytes after decompression, {expected:N0} needed for {what}",
                "download the file again");
        if (actual > expected)
            throw new DatasetException(path, $"{actual - expected:N0} unexpected bytes after the {what} the header announces",
                "the file is corrupt or not an IDX file; download it again");
    }
}
