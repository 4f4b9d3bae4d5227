using Harness.Torch;
using Harness.Torch.Serialization;
using F = Harness.Torch.torch.nn.functional;

namespace Harness.Tests.Torch;

/// <summary>Bad input gives a .NET exception whose message names the problem; the process keeps running.</summary>
public sealed class ErrorTests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public void ShapeErrorBecomesTorchExceptionNamingTheOperatorAndShapes()
    {
        var a = torch.ones(new long[] { 2, 3 });
        var b = torch.ones(new long[] { 4, 5 });
        var e = Assert.Throws<TorchException>(() => a.matmul(b));
        Assert.Contains("aten::matmul", e.Message);
        Assert.Contains("2x3", e.Message);
        Assert.Contains("4x5", e.Message);
        Assert.Equal(TorchStatus.Error, e.Status);
        // The native side is still healthy afterwards.
        Assert.Equal(6f, a.sum().item<float>());
    }

    [Fact]
    public void ConvolutionChannelMismatchIsExplained()
    {
        var e = Assert.Throws<TorchException>(() => F.conv2d(torch.ones(new long[] { 1, 3, 8, 8 }), torch.ones(new long[] { 4, 2, 3, 3 })));
        Assert.Contains("aten::conv2d", e.Message);
        Assert.Contains("channels", e.Message);
    }

    [Fact]
    public void UnknownOperatorIsNotFound()
    {
        var e = Assert.Throws<TorchException>(() => new Op("aten::no_such_op").Call(torch.ones(new long[] { 1 })));
        Assert.Equal(TorchStatus.NotFound, e.Status);
        Assert.Contains("aten::no_such_op", e.Message);
    }

    [Fact]
    public void MissingRequiredArgumentIsNamed()
    {
        var e = Assert.Throws<TorchException>(() => new Op("aten::conv2d").Call(torch.ones(new long[] { 1, 1, 3, 3 })));
        Assert.Contains("'weight'", e.Message);
    }

    [Fact]
    public void UsingADisposedTensorIsAnObjectDisposedException()
    {
        var t = torch.ones(new long[] { 2 });
        t.Dispose();
        Assert.Throws<ObjectDisposedException>(() => t.sum());
    }

    [Fact]
    public void MissingCheckpointNamesThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), "mipin-no-such-file.pth");
        var e = Assert.Throws<CheckpointException>(() => torch.load(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void CheckpointWithAWrongKeyListsMissingAndUnexpectedKeys()
    {
        using var dict = torch.load(TestPaths.Fixture("Fixtures", "checkpoints", "small_zip.pth"));
        var expected = dict.Select(kv => (kv.Key == "conv.weight" ? "conv.kernel" : kv.Key, kv.Value.shape)).ToList();
        var e = Assert.Throws<CheckpointException>(() => dict.CheckMatches(expected, "TinyNet"));
        Assert.Contains("small_zip.pth", e.Message);
        Assert.Contains("missing keys (1): conv.kernel", e.Message);
        Assert.Contains("unexpected keys (1): conv.weight", e.Message);
    }

    [Fact]
    public void CheckpointWithAWrongShapeIsReported()
    {
        using var dict = torch.load(TestPaths.Fixture("Fixtures", "checkpoints", "small_zip.pth"));
        var expected = dict.Select(kv => (kv.Key, kv.Key == "conv.bias" ? new long[] { 5 } : kv.Value.shape)).ToList();
        var e = Assert.Throws<CheckpointException>(() => dict.CheckMatches(expected));
        Assert.Contains("conv.bias: checkpoint [4], model [5]", e.Message);
    }

    [Fact]
    public void TruncatedSafetensorsIsAClearError()
    {
        var e = Assert.Throws<CheckpointException>(() => torch.load(TestPaths.Fixture("Fixtures", "checkpoints", "truncated.safetensors")));
        Assert.Contains("truncated.safetensors", e.Message);
        Assert.Contains("truncated", e.Message.Replace("truncated.safetensors", ""));
    }

    [SkippableFact]
    public void CudaOnACpuBuildIsAClearError()
    {
        Skip.If(torch.cuda.is_available(), "CUDA is available here: the CPU-only error cannot occur");
        Assert.Equal(0, torch.cuda.device_count());
        var e = Assert.Throws<TorchException>(() => torch.ones(new long[] { 1 }).to(Device.CUDA(0)));
        Assert.Contains("CUDA", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void DeviceNamesParse()
    {
        Assert.Equal(Device.CPU, Device.Parse("CPU"));
        Assert.Equal(Device.CUDA(1), Device.Parse("cuda:1"));
        Assert.Equal("cuda", Device.Parse("cuda").ToString());
        Assert.Throws<FormatException>(() => Device.Parse("gpu0"));
    }
}
