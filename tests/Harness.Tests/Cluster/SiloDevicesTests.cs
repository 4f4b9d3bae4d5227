using Harness.Silo;
using Harness.Torch;

namespace Harness.Tests.Cluster;

public sealed class SiloDevicesTests
{
    private static int NoCudaQuery() => throw new InvalidOperationException("a CPU spec must not ask libtorch about CUDA");

    [Fact]
    public void CpuSpecRunsOnItsCpuSlotsWhateverTheSchedulerAssigned()
    {
        Assert.Equal(new[] { Device.CPU }, SiloDevices.Resolve(new[] { "cpu" }, "0", NoCudaQuery));
        Assert.Equal(new[] { Device.CPU, Device.CPU }, SiloDevices.Resolve(new[] { "cpu", "cpu" }, null, NoCudaQuery));
    }

    [Fact]
    public void AssignedGpusBecomeCudaZeroToN()
    {
        // CUDA renumbers CUDA_VISIBLE_DEVICES=2,5 as cuda:0 and cuda:1 inside the process.
        Assert.Equal(new[] { Device.CUDA(0), Device.CUDA(1) }, SiloDevices.Resolve(new[] { "cuda" }, "2,5", () => 2));
    }

    [Theory]
    [InlineData(null, "CUDA_VISIBLE_DEVICES is unset")]
    [InlineData("", "CUDA_VISIBLE_DEVICES is ''")]
    [InlineData("NoDevFiles", "CUDA_VISIBLE_DEVICES is 'NoDevFiles'")]
    public void NoAssignedGpuFailsWithTheFix(string? visible, string says)
    {
        var e = Assert.Throws<DeviceUnavailableException>(() => SiloDevices.Resolve(new[] { "cuda:0" }, visible, () => 1));
        Assert.Contains(says, e.Message);
        Assert.Contains("--gpus-per-silo", e.Message);
    }

    [Fact]
    public void GpusLibtorchCannotSeeFailWithTheFix()
    {
        var e = Assert.Throws<DeviceUnavailableException>(() => SiloDevices.Resolve(new[] { "cuda" }, "0,1", () => 0));
        Assert.Contains("assigned GPU(s) 0,1", e.Message);
        Assert.Contains("sees 0 CUDA device(s)", e.Message);
        Assert.Contains("Torch_DIR", e.Message);
    }
}
