using System.IO.Compression;
using System.Security.Cryptography;
using Harness.Data;
using Harness.Torch;

namespace Harness.Tests.Data;

/// <summary>The MNIST test set shipped in data/mnist, and IDX error handling on damaged copies.</summary>
public sealed class MnistDatasetTests : IDisposable
{
    private static readonly string Dir = TestPaths.Repo("data", "mnist");
    private static readonly Lazy<MnistDataset> Shipped = new(() => MnistDataset.Load(Dir));

    private readonly DisposeScope _scope = torch.NewDisposeScope();
    private readonly string _tmp = Path.Combine(Path.GetTempPath(), "mipin-mnist-" + Guid.NewGuid().ToString("N"));

    public MnistDatasetTests() => Directory.CreateDirectory(_tmp);

    public void Dispose()
    {
        _scope.Dispose();
        Directory.Delete(_tmp, recursive: true);
    }

    [Fact]
    public void ShippedTestSetHasTenThousandDigitsStartingSevenTwoOneZeroFour()
    {
        var ds = Shipped.Value;
        Assert.Equal((10_000, 28, 28), (ds.Count, ds.Rows, ds.Cols));
        Assert.Equal(10_000 * 28 * 28, ds.Pixels.Length);
        Assert.Equal(10_000, ds.Labels.Length);
        Assert.Equal(new byte[] { 7, 2, 1, 0, 4 }, ds.Labels[..5]);
        Assert.All(Enumerable.Range(0, 10), d => Assert.InRange(ds.Labels.Count(l => l == d), 800, 1200));
    }

    [Fact]
    public void DecompressedFilesHaveTheCanonicalMd5()
    {
        var images = MnistDataset.ReadAllBytesDecompressed(Path.Combine(Dir, "t10k-images-idx3-ubyte.gz"));
        var labels = MnistDataset.ReadAllBytesDecompressed(Path.Combine(Dir, "t10k-labels-idx1-ubyte.gz"));
        Assert.Equal("2646ac647ad5339dbf082846283269ea", Convert.ToHexStringLower(MD5.HashData(images)));
        Assert.Equal("27ae3e4e09519cfbb04c329615203637", Convert.ToHexStringLower(MD5.HashData(labels)));
        Assert.Equal(images[16..], Shipped.Value.Pixels);
        Assert.Equal(labels[8..], Shipped.Value.Labels);
    }

    [Fact]
    public void ImagesTensorIsFloatNx1x28x28InUnitRange()
    {
        var ds = Shipped.Value;
        var x = ds.ImagesTensor(10, 32);
        Assert.Equal(new long[] { 32, 1, 28, 28 }, x.shape);
        Assert.Equal(ScalarType.Float32, x.dtype);
        var v = x.ToArray<float>();
        Assert.Equal(0f, v.Min());
        Assert.Equal(1f, v.Max());
        Assert.Equal(ds.Pixels[10 * 784 + 300] / 255f, v[300]);

        var n = ds.ImagesTensor(10, 32, normalize: true).ToArray<float>();
        Assert.Equal(-0.1307f / 0.3081f, n.Min(), 5);
        Assert.Equal((v[300] - 0.1307f) / 0.3081f, n[300], 6);

        var y = ds.LabelsTensor(0, 5);
        Assert.Equal(new long[] { 5 }, y.shape);
        Assert.Equal(ScalarType.Int64, y.dtype);
        Assert.Equal(new long[] { 7, 2, 1, 0, 4 }, y.ToArray<long>());

        Assert.Equal(new long[] { 0, 1, 28, 28 }, ds.ImagesTensor(10_000, 0).shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.ImagesTensor(9_990, 11));
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.LabelsTensor(-1, 1));
    }

    [Fact]
    public void UncompressedFilesLoadTheSame()
    {
        foreach (var name in new[] { MnistDataset.TestImagesName, MnistDataset.TestLabelsName })
            File.WriteAllBytes(Path.Combine(_tmp, name), MnistDataset.ReadAllBytesDecompressed(Path.Combine(Dir, name + ".gz")));
        var ds = MnistDataset.Load(_tmp);
        Assert.Equal(Shipped.Value.Pixels, ds.Pixels);
        Assert.Equal(Shipped.Value.Labels, ds.Labels);
    }

    private (string images, string labels) WriteCopies(Func<byte[], byte[]>? images = null, Func<byte[], byte[]>? labels = null)
    {
        string Write(string name, Func<byte[], byte[]>? change)
        {
            var bytes = MnistDataset.ReadAllBytesDecompressed(Path.Combine(Dir, name + ".gz"));
            var path = Path.Combine(_tmp, name + ".gz");
            using (var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest))
                gz.Write(change is null ? bytes : change(bytes));
            return path;
        }
        return (Write(MnistDataset.TestImagesName, images), Write(MnistDataset.TestLabelsName, labels));
    }

    [Fact]
    public void CorruptedMagicThrowsNamingTheFile()
    {
        var (images, labels) = WriteCopies(images: b => { b[3] = 0x01; return b; });
        var e = Assert.Throws<DatasetException>(() => MnistDataset.Load(images, labels));
        Assert.Equal(images, e.File);
        Assert.Contains(images, e.Message);
        Assert.Contains("0x00000801", e.Message);
    }

    [Fact]
    public void SwappedFilesThrow()
    {
        var e = Assert.Throws<DatasetException>(() => MnistDataset.Load(
            Path.Combine(Dir, "t10k-labels-idx1-ubyte.gz"), Path.Combine(Dir, "t10k-images-idx3-ubyte.gz")));
        Assert.Contains("t10k-labels-idx1-ubyte.gz", e.Message);
    }

    [Fact]
    public void TruncatedImagesThrow()
    {
        var (images, labels) = WriteCopies(images: b => b[..^100]);
        var e = Assert.Throws<DatasetException>(() => MnistDataset.Load(images, labels));
        Assert.Contains("truncated", e.Message);
        Assert.Equal(images, e.File);
    }

    [Fact]
    public void TruncatedGzipThrows()
    {
        var (images, labels) = WriteCopies();
        var bytes = File.ReadAllBytes(images);
        File.WriteAllBytes(images, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<DatasetException>(() => MnistDataset.Load(images, labels));
        Assert.Equal(images, e.File);
    }

    [Fact]
    public void CountMismatchThrowsNamingBothFiles()
    {
        // Claim 9,999 labels and drop the last one, so the labels file is self-consistent but too short.
        var (images, labels) = WriteCopies(labels: b => { b[6] = 0x27; b[7] = 0x0f; return b[..^1]; });
        var e = Assert.Throws<DatasetException>(() => MnistDataset.Load(images, labels));
        Assert.Equal(labels, e.File);
        Assert.Contains("9,999 labels", e.Message);
        Assert.Contains(images, e.Message);
    }

    [Fact]
    public void MissingFolderFilesThrow()
    {
        var e = Assert.Throws<DatasetException>(() => MnistDataset.Load(_tmp));
        Assert.Contains(MnistDataset.TestImagesName, e.Message);
    }
}
