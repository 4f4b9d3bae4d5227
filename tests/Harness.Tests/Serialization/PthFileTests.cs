using Harness.Torch;
using Harness.Torch.Serialization;
using static Harness.Tests.Serialization.CheckpointFixtures;

namespace Harness.Tests.Serialization;

public class PthFileTests
{
    public static TheoryData<string> SmallCheckpoints => new() { "small_zip.pth", "small_legacy.pth", "small_zip_protocol4.pth" };

    [Theory]
    [MemberData(nameof(SmallCheckpoints))]
    public void Loads_keys_dtypes_shapes_and_values_equal_to_the_python_reference(string file)
    {
        AssertMatchesExpected(PthFile.Read(PathOf(file)));
    }

    [Fact]
    public void Zip_and_legacy_formats_load_identically()
    {
        var zip = PthFile.Read(PathOf("small_zip.pth"));
        var legacy = PthFile.Read(PathOf("small_legacy.pth"));
        Assert.Equal(zip.Select(t => t.Key), legacy.Select(t => t.Key));
        foreach (var (z, l) in zip.Zip(legacy))
        {
            Assert.Equal(z.Value.DType, l.Value.DType);
            Assert.Equal(z.Value.Shape, l.Value.Shape);
            Assert.Equal(z.Value.Strides, l.Value.Strides);
            Assert.Equal(z.Value.StorageOffset, l.Value.StorageOffset);
            Assert.Equal(z.Value.ToContiguousBytes(), l.Value.ToContiguousBytes());
        }
    }

    [Theory]
    [MemberData(nameof(SmallCheckpoints))]
    public void Views_of_one_storage_share_it(string file)
    {
        var tensors = PthFile.Read(PathOf(file)).ToDictionary(t => t.Key, t => t.Value);
        StoredTensor a = tensors["shared_a"], b = tensors["shared_b"];
        Assert.Same(a.Storage, b.Storage);
        Assert.Equal(a.Storage.Key, b.Storage.Key);
        Assert.Equal(6, a.Storage.ElementCount);
        Assert.Equal((1L, 2L), (a.StorageOffset, b.StorageOffset));
        Assert.NotSame(tensors["conv.weight"].Storage, tensors["conv.bias"].Storage);
    }

    [Theory]
    [MemberData(nameof(SmallCheckpoints))]
    public void Keeps_the_saved_layout_of_non_contiguous_and_scalar_tensors(string file)
    {
        var tensors = PthFile.Read(PathOf(file)).ToDictionary(t => t.Key, t => t.Value);
        StoredTensor transposed = tensors["transposed"];
        Assert.Equal(new long[] { 3, 5 }, transposed.Shape);
        Assert.Equal(new long[] { 1, 3 }, transposed.Strides);
        Assert.False(transposed.IsContiguous);

        StoredTensor scalar = tensors["bn.num_batches_tracked"];
        Assert.Empty(scalar.Shape);
        Assert.Equal(1, scalar.ElementCount);
        Assert.Equal(ScalarType.Int64, scalar.DType);
    }

    [Theory]
    [InlineData("evil_zip.pth")]
    [InlineData("evil_legacy.pth")]
    public void Refuses_a_pickle_that_would_call_os_system_without_running_it(string file)
    {
        const string marker = "/tmp/mipin_pwned";
        File.Delete(marker);
        string path = PathOf(file);
        var e = Assert.Throws<CheckpointException>(() => PthFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'os.system'", e.Message);
        Assert.Contains("refusing to load", e.Message);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void Refuses_globals_outside_the_allow_list_such_as_rebuild_parameter()
    {
        string path = PathOf("wrong_global.pth");
        var e = Assert.Throws<CheckpointException>(() => PthFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("torch._utils._rebuild_parameter", e.Message);
    }

    [Fact]
    public void Refuses_a_stack_global_naming_posix_system()
    {
        // What a plain pickle of os.system really contains on Linux, in protocol-4 spelling.
        byte[] pickle = [0x80, 4, 0x8c, 5, .. "posix"u8, 0x8c, 6, .. "system"u8, 0x93, (byte)'.'];
        var unpickler = new RestrictedUnpickler(new MemoryStream(pickle), "mem.pkl", "", null);
        var e = Assert.Throws<CheckpointException>(() => unpickler.Load());
        Assert.Contains("'posix.system'", e.Message);
    }

    [Fact]
    public void Names_an_unsupported_opcode_in_hex_with_its_name_and_position()
    {
        byte[] pickle = new PickleBuilder().Op((byte)'}').Str("x").Op(0x81).Stop(); // NEWOBJ
        var unpickler = new RestrictedUnpickler(new MemoryStream(pickle), "mem.pkl", "", null);
        var e = Assert.Throws<CheckpointException>(() => unpickler.Load());
        Assert.Contains("0x81 (NEWOBJ) at byte 9", e.Message);
        Assert.StartsWith("mem.pkl: ", e.Message);
    }

    [Fact]
    public void Refuses_a_text_file_naming_the_path()
    {
        string path = PathOf("not_a_checkpoint.pth");
        var e = Assert.Throws<CheckpointException>(() => PthFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not a PyTorch checkpoint", e.Message);
    }

    [Fact]
    public void Refuses_an_empty_file_naming_the_path()
    {
        string path = Path.Combine(TempDir(), "empty.pth");
        File.WriteAllBytes(path, []);
        var e = Assert.Throws<CheckpointException>(() => PthFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void Reports_a_missing_file_with_its_path()
    {
        string path = Path.Combine(TempDir(), "nope.pth");
        var e = Assert.Throws<CheckpointException>(() => PthFile.Read(path));
        Assert.Contains($"file not found: {path}", e.Message);
    }

    [Theory]
    [InlineData("small_zip.pth", 0.5)]
    [InlineData("small_zip.pth", 0.999)]
    [InlineData("small_legacy.pth", 0.005)] // inside the magic-number pickle
    [InlineData("small_legacy.pth", 0.3)] // inside the main pickle
    [InlineData("small_legacy.pth", 0.8)] // inside the storage data
    [InlineData("small_legacy.pth", 0.999)]
    public void Refuses_a_truncated_checkpoint_naming_the_path(string file, double keep)
    {
        byte[] bytes = File.ReadAllBytes(PathOf(file));
        string path = Path.Combine(TempDir(), file);
        File.WriteAllBytes(path, bytes[..(int)(bytes.Length * keep)]);
        var e = Assert.Throws<CheckpointException>(() => PthFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Refuses_a_tensor_whose_view_runs_past_its_storage()
    {
        // Shape [3] over a storage of 2 floats.
        byte[] pickle = new PickleBuilder().Op((byte)'}').Str("x").FloatTensor("0", 2, 0, [3], [1]).Op((byte)'s').Stop();
        string path = WriteZipCheckpoint(Path.Combine(TempDir(), "short.pth"), pickle, ("0", new byte[8]));
        var e = Assert.Throws<CheckpointException>(() => PthFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("tensor 'x' does not fit its storage", e.Message);
    }

    [Fact]
    public void Refuses_a_storage_entry_shorter_than_its_declared_size()
    {
        byte[] pickle = new PickleBuilder().Op((byte)'}').Str("x").FloatTensor("0", 4, 0, [4], [1]).Op((byte)'s').Stop();
        string path = WriteZipCheckpoint(Path.Combine(TempDir(), "short_entry.pth"), pickle, ("0", new byte[8]));
        var e = Assert.Throws<CheckpointException>(() => PthFile.Read(path));
        Assert.Contains("storage '0' is truncated", e.Message);
    }

    [Fact]
    public void Refuses_a_missing_storage_entry()
    {
        byte[] pickle = new PickleBuilder().Op((byte)'}').Str("x").FloatTensor("0", 2, 0, [2], [1]).Op((byte)'s').Stop();
        string path = WriteZipCheckpoint(Path.Combine(TempDir(), "missing.pth"), pickle);
        var e = Assert.Throws<CheckpointException>(() => PthFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("missing storage entry 'archive/data/0'", e.Message);
    }

    [Fact]
    public void Refuses_non_tensor_values_instead_of_skipping_them()
    {
        byte[] pickle = new PickleBuilder().Op((byte)'}').Mark()
            .Str("x").FloatTensor("0", 2, 0, [2], [1])
            .Str("epoch").Int(3)
            .Op((byte)'u').Stop();
        string path = WriteZipCheckpoint(Path.Combine(TempDir(), "mixed.pth"), pickle, ("0", new byte[8]));
        var e = Assert.Throws<CheckpointException>(() => PthFile.Read(path));
        Assert.Contains("entry 'epoch' is an int (3), not a tensor", e.Message);
    }

    [Fact]
    public void Unwraps_a_training_checkpoint_holding_a_state_dict()
    {
        byte[] storage = [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]; // 1.0f, 2.0f
        byte[] pickle = new PickleBuilder().Op((byte)'}').Mark()
            .Str("epoch").Int(3)
            .Str("state_dict").Op((byte)'}').Str("w").FloatTensor("0", 2, 1, [1], [1]).Op((byte)'s')
            .Op((byte)'u').Stop();
        string path = WriteZipCheckpoint(Path.Combine(TempDir(), "wrapped.pth"), pickle, ("0", storage));
        var (name, tensor) = Assert.Single(PthFile.Read(path));
        Assert.Equal("w", name);
        Assert.Equal(storage[4..], tensor.ToContiguousBytes());
    }

    [Fact]
    public void Reads_legacy_storage_views()
    {
        // Pre-0.4 files could save a view of a storage: ('storage', FloatStorage, root, 'cpu', 4, (view, 1, 2)).
        float[] values = [1, 2, 3, 4];
        byte[] file =
        [
            .. PickleBuilder.LegacyPreamble(),
            .. new PickleBuilder().Op((byte)'}').Str("v").FloatTensor("root", 4, 0, [2], [1], legacy: true, view: ("view", 1, 2)).Op((byte)'s').Stop(),
            .. new PickleBuilder().Op((byte)']').Str("root").Op((byte)'a').Stop(),
            .. BitConverter.GetBytes(4L), .. values.SelectMany(BitConverter.GetBytes),
        ];
        var (name, tensor) = Assert.Single(PthFile.Read(new MemoryStream(file), "legacy-view"));
        Assert.Equal("v", name);
        Assert.Equal("view", tensor.Storage.Key);
        Assert.Equal(2, tensor.Storage.ElementCount);
        Assert.Equal(new[] { 2f, 3f }.SelectMany(BitConverter.GetBytes), tensor.ToContiguousBytes());
    }

    [Fact]
    public void Refuses_a_plain_pickle_without_torch_magic_number()
    {
        byte[] pickle = new PickleBuilder().Op((byte)'}').Str("x").Int(1).Op((byte)'s').Stop();
        var e = Assert.Throws<CheckpointException>(() => PthFile.Read(new MemoryStream(pickle), "plain.pkl"));
        Assert.StartsWith("plain.pkl: not a torch.save checkpoint", e.Message);
    }

    [Fact]
    public void Fixtures_are_the_copies_next_to_the_test_assembly()
    {
        // The tests never reach into the source tree, so they run the same from any working directory.
        string path = PathOf("small_zip.pth");
        Assert.StartsWith(AppContext.BaseDirectory, path);
        Assert.True(File.Exists(path), $"{path} missing: is Fixtures/** copied to the output folder?");
    }

    [Fact]
    public void Reads_from_a_stream_using_the_display_name_in_errors()
    {
        using var stream = new MemoryStream(File.ReadAllBytes(PathOf("small_zip.pth")));
        AssertMatchesExpected(PthFile.Read(stream, "in-memory"));
        var e = Assert.Throws<CheckpointException>(() => PthFile.Read(new MemoryStream("hello"u8.ToArray()), "in-memory"));
        Assert.StartsWith("in-memory: ", e.Message);
    }
}
