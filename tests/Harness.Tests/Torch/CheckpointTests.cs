using Harness.Torch;
using Harness.Torch.Serialization;

namespace Harness.Tests.Torch;

/// <summary>Checkpoints become tensors: .pth (zip and legacy) and .safetensors, including the shipped MobileNetV2.</summary>
public sealed class CheckpointTests
{
    private static string Checkpoint(string name) => TestPaths.Fixture("Fixtures", "checkpoints", name);

    [Fact]
    public void ShippedMobileNetV2PthMatchesItsSafetensorsTwinExactly()
    {
        using var pth = torch.load(TestPaths.Repo("data", "models", "mobilenet_v2_coral.pth"));
        using var st = torch.load(TestPaths.Repo("data", "models", "mobilenet_v2_coral.safetensors"));
        Assert.Equal(314, pth.Count);
        Assert.Equal(pth.Keys.OrderBy(k => k, StringComparer.Ordinal), st.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (name, tensor) in pth)
        {
            Assert.Equal(st[name].shape, tensor.shape);
            Assert.Equal(st[name].dtype, tensor.dtype);
            Assert.True(tensor.equal(st[name]), $"{name} differs between .pth and .safetensors");
        }
        // Spot checks on torchvision's layout.
        Assert.Equal(new long[] { 32, 3, 3, 3 }, pth["features.0.0.weight"].shape);
        Assert.Equal(new long[] { 1000, 1280 }, pth["classifier.1.weight"].shape);
        Assert.Equal(ScalarType.Int64, pth["features.0.1.num_batches_tracked"].dtype);
    }

    [Fact]
    public void LegacyFormatLoadsToTheSameTensorsAsItsZipTwin()
    {
        using var zip = torch.load(Checkpoint("small_zip.pth"));
        using var legacy = torch.load(Checkpoint("small_legacy.pth"));
        Assert.Equal(zip.Keys, legacy.Keys);
        foreach (var (name, t) in zip)
            Assert.True(t.equal(legacy[name]), $"{name} differs between zip and legacy formats");
    }

    [Fact]
    public void PickleNamingAnotherGlobalIsRefusedWithoutRunningIt()
    {
        const string marker = "/tmp/mipin_pwned";
        File.Delete(marker);
        foreach (var name in new[] { "evil_zip.pth", "evil_legacy.pth" })
        {
            var e = Assert.Throws<CheckpointException>(() => torch.load(Checkpoint(name)));
            Assert.Contains("os.system", e.Message.Replace("posix.system", "os.system"));
            Assert.Contains(name, e.Message);
        }
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void SafetensorsRoundTripKeepsNamesOrderValuesAndMetadata()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mipin-roundtrip-{Environment.ProcessId}.safetensors");
        try
        {
            using (var dict = new StateDict())
            {
                using var scope = torch.NewDisposeScope();
                dict.Add("b.weight", torch.tensor(new[] { 1f, 2f, 3f, 4f }, new long[] { 2, 2 }));
                dict.Add("a.index", torch.tensor(new[] { 7L, -1L }));
                dict.Add("mask", torch.tensor(new[] { true, false }));
                dict.Save(path, new Dictionary<string, string> { ["seed"] = "3" });
            }
            using var loaded = torch.load(path);
            Assert.Equal(new[] { "b.weight", "a.index", "mask" }, loaded.Keys);
            Assert.Equal(new[] { 1f, 2f, 3f, 4f }, loaded["b.weight"].ToArray<float>());
            Assert.Equal(new[] { 7L, -1L }, loaded["a.index"].ToArray<long>());
            Assert.Equal(new[] { true, false }, loaded["mask"].ToArray<bool>());
            Assert.Equal("3", loaded.Metadata["seed"]);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
