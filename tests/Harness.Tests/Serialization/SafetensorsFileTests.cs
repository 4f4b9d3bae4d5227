using System.Buffers.Binary;
using System.Text;
using Harness.Torch;
using Harness.Torch.Serialization;
using static Harness.Tests.Serialization.CheckpointFixtures;

namespace Harness.Tests.Serialization;

public class SafetensorsFileTests
{
    [Fact]
    public void Python_written_file_matches_the_reference_values_and_metadata()
    {
        var (tensors, metadata) = SafetensorsFile.Read(PathOf("small.safetensors"));
        AssertMatchesExpected(tensors); // also checks the order: by data offset = the writer's order
        Assert.Equal("pt", metadata["format"]);
    }

    [Fact]
    public void Writer_reproduces_the_python_written_file_byte_for_byte()
    {
        string original = PathOf("small.safetensors");
        var (tensors, metadata) = SafetensorsFile.Read(original);
        string copy = Path.Combine(TempDir(), "copy.safetensors");
        SafetensorsFile.Write(copy, tensors, metadata);
        Assert.Equal(File.ReadAllBytes(original), File.ReadAllBytes(copy));
    }

    [Fact]
    public void Round_trips_a_pth_state_dict_including_strided_and_shared_views()
    {
        var source = PthFile.Read(PathOf("small_zip.pth"));
        string path = Path.Combine(TempDir(), "model.safetensors");
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode ok" };
        SafetensorsFile.Write(path, source, meta);

        var (tensors, metadata) = SafetensorsFile.Read(path);
        Assert.Equal(meta, metadata);
        Assert.Equal(source.Select(t => t.Key), tensors.Select(t => t.Key));
        foreach (var (s, t) in source.Zip(tensors))
        {
            Assert.Equal(s.Value.DType, t.Value.DType);
            Assert.Equal(s.Value.Shape, t.Value.Shape);
            Assert.True(t.Value.IsContiguous);
            Assert.Equal(s.Value.ToContiguousBytes(), t.Value.ToContiguousBytes());
        }
        AssertMatchesExpected(tensors);
    }

    [Fact]
    public void Writes_a_hand_computed_2x2_float32_file_exactly()
    {
        byte[] data = new byte[16];
        for (int i = 0; i < 4; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), i + 1); // 1, 2, 3, 4
        string path = Path.Combine(TempDir(), "tiny.safetensors");
        SafetensorsFile.Write(path, [new("m", StoredTensor.Contiguous(ScalarType.Float32, [2, 2], data))], null);

        // 57 bytes of JSON, padded with 7 spaces to 64.
        byte[] header = Encoding.UTF8.GetBytes("""{"m":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}""" + "       ");
        byte[] expected = [64, 0, 0, 0, 0, 0, 0, 0, .. header,
            0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40];
        Assert.Equal(expected, File.ReadAllBytes(path));

        var (tensors, metadata) = SafetensorsFile.Read(path);
        Assert.Empty(metadata);
        var (name, tensor) = Assert.Single(tensors);
        Assert.Equal("m", name);
        Assert.Equal(new long[] { 2, 2 }, tensor.Shape);
        Assert.Equal(data, tensor.ToContiguousBytes());
    }

    [Fact]
    public void Writes_a_non_contiguous_view_as_its_logical_row_major_values()
    {
        // A 2x3 row-major storage [0..5] viewed transposed as 3x2: logical values 0,3,1,4,2,5.
        byte[] storage = Enumerable.Range(0, 6).SelectMany(i => BitConverter.GetBytes((float)i)).ToArray();
        var view = new StoredTensor(ScalarType.Float32, [3, 2], [1, 3], 0, new StoredStorage("s", ScalarType.Float32, storage));
        string path = Path.Combine(TempDir(), "t.safetensors");
        SafetensorsFile.Write(path, [new("t", view)], null);

        byte[] bytes = Assert.Single(SafetensorsFile.Read(path).Tensors).Value.ToContiguousBytes();
        Assert.Equal(new[] { 0f, 3f, 1f, 4f, 2f, 5f }, Enumerable.Range(0, 6).Select(i => BitConverter.ToSingle(bytes, i * 4)));
    }

    [Fact]
    public void Write_replaces_an_existing_file_and_leaves_no_temporary_files()
    {
        string dir = TempDir();
        string path = Path.Combine(dir, "w.safetensors");
        File.WriteAllText(path, "old contents");
        SafetensorsFile.Write(path, [new("b", StoredTensor.Contiguous(ScalarType.Bool, [2], new byte[] { 1, 0 }))], null);
        Assert.Equal(new[] { path }, Directory.GetFiles(dir));
        Assert.Equal(ScalarType.Bool, Assert.Single(SafetensorsFile.Read(path).Tensors).Value.DType);
    }

    [Theory]
    [InlineData("truncated.safetensors")]
    [InlineData("truncated_header.safetensors")]
    public void Refuses_truncated_files_naming_the_path(string file)
    {
        string path = PathOf(file);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""", 8, "not valid JSON")]
    [InlineData("""[1,2]""", 0, "not an object")]
    [InlineData("""{"a":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}}""", 4, "unsupported dtype 'U16'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, "spans 8 bytes but shape [3] of F32 needs 12")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "overlaps")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "gap")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 12, "after the last tensor")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4, "truncated")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", 8, "non-negative integer")]
    [InlineData("""{"__metadata__":{"k":1}}""", 0, "not a string")]
    public void Refuses_invalid_headers_naming_the_path_and_problem(string json, int dataLength, string problem)
    {
        byte[] header = Encoding.UTF8.GetBytes(json);
        string path = Path.Combine(TempDir(), "bad.safetensors");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. new byte[dataLength]]);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Refuses_a_header_size_larger_than_the_file()
    {
        string path = Path.Combine(TempDir(), "huge.safetensors");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(ulong.MaxValue), .. "{}"u8]);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("larger than the file", e.Message);
    }

    [Fact]
    public void Reports_missing_and_empty_files_with_their_path()
    {
        string missing = Path.Combine(TempDir(), "nope.safetensors");
        Assert.Contains($"file not found: {missing}", Assert.Throws<CheckpointException>(() => SafetensorsFile.Read(missing)).Message);

        string empty = Path.Combine(TempDir(), "empty.safetensors");
        File.WriteAllBytes(empty, []);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Read(empty));
        Assert.Contains(empty, e.Message);
        Assert.Contains("empty", e.Message);
    }
}
