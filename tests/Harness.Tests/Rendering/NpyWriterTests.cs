using Harness.Reports;

namespace Harness.Tests.Rendering;

public sealed class NpyWriterTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("mipin-npy-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    // The arrays make_golden_rendering.py saves with np.save, computed the same way (float64, then cast).
    public static TheoryData<string, float[], int[]> References => new()
    {
        { "numpy_reference.npy", Enumerable.Range(0, 15).Select(i => (float)(i / 7.0)).ToArray(), new[] { 3, 5 } },
        { "numpy_reference_1d.npy", Enumerable.Range(0, 7).Select(i => (float)((i - 3) / 4.0)).ToArray(), new[] { 7 } },
        { "numpy_reference_0d.npy", new[] { 2.5f }, Array.Empty<int>() },
    };

    [Theory]
    [MemberData(nameof(References))]
    public void LoadReadsNumpysFileExactly(string file, float[] expected, int[] shape)
    {
        var (data, loadedShape) = NpyWriter.Load(TestPaths.Fixture("Golden", file));
        Assert.Equal(shape, loadedShape);
        Assert.Equal(expected, data); // bitwise-equal floats
    }

    [Theory]
    [MemberData(nameof(References))]
    public void SaveWritesTheSameBytesAsNumpy(string file, float[] data, int[] shape)
    {
        var path = Path.Combine(_temp, file);
        NpyWriter.Save(path, data, shape);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(File.ReadAllBytes(TestPaths.Fixture("Golden", file)), bytes);
        var headerEnd = 10 + BitConverter.ToUInt16(bytes, 8);
        Assert.Equal(0, headerEnd % 64);
        Assert.Equal((byte)'\n', bytes[headerEnd - 1]);
    }

    [Fact]
    public void SaveAndLoadRoundTripAndLeaveNoTemporaryFiles()
    {
        var data = new[] { 0f, -1.5f, float.MaxValue, float.Epsilon, float.NaN, 3f };
        var path = Path.Combine(_temp, "sub", "map.npy");
        NpyWriter.Save(path, data, new[] { 2, 3 });
        NpyWriter.Save(path, data, new[] { 3, 2 }); // replaces the first
        var (loaded, shape) = NpyWriter.Load(path);
        Assert.Equal(new[] { 3, 2 }, shape);
        Assert.Equal(data, loaded);
        Assert.Equal(new[] { path }, Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void SaveRejectsAShapeThatDoesNotMatchTheData() =>
        Assert.Throws<ArgumentException>(() => NpyWriter.Save(Path.Combine(_temp, "x.npy"), new float[6], new[] { 4, 2 }));

    [Theory]
    [InlineData("'<f8'", "False", "dtype '<f8'")]
    [InlineData("'>f4'", "False", "dtype '>f4'")]
    [InlineData("'<f4'", "True", "Fortran")]
    public void LoadRefusesOtherLayoutsNamingTheFile(string descr, string fortran, string reason)
    {
        var path = Path.Combine(_temp, "other.npy");
        NpyWriter.Save(path, new float[] { 1, 2 }, new[] { 2 });
        var bytes = File.ReadAllBytes(path);
        var text = System.Text.Encoding.Latin1.GetString(bytes)
            .Replace("'<f4'", descr).Replace("False", fortran.PadRight(5)); // same length keeps the layout valid
        File.WriteAllBytes(path, System.Text.Encoding.Latin1.GetBytes(text));
        var error = Assert.Throws<InvalidDataException>(() => NpyWriter.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void LoadRefusesTruncatedData()
    {
        var path = Path.Combine(_temp, "short.npy");
        NpyWriter.Save(path, new float[] { 1, 2, 3 }, new[] { 3 });
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..^2]);
        var error = Assert.Throws<InvalidDataException>(() => NpyWriter.Load(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void LoadRefusesFilesWithoutTheMagic()
    {
        var path = Path.Combine(_temp, "not.npy");
        File.WriteAllText(path, "hello, this is not numpy");
        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => NpyWriter.Load(path)).Message);
    }
}
