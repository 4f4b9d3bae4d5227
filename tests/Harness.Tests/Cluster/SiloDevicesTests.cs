using Harness.Silo;
using Harness.Torch;

namespace Harness.Tests.Cluster;

public sealed class SiloDevicesTests
{
    private static int NoCudaQuery() => throw new InvalidOperationException("CPU slots must not ask libtorch about CUDA");

    [Fact]
    public void CpuSlotsNeverAskAboutCuda()
    {
        Assert.Equal(new[] { Device.CPU }, SiloDevices.Parse("cpu", "0", NoCudaQuery));
        Assert.Equal(new[] { Device.CPU, Device.CPU }, SiloDevices.Parse("cpu, cpu", null, NoCudaQuery));
    }

    [Fact]
    public void CudaSlotsNeedThatManyVisibleDevices()
    {
        // CUDA renumbers CUDA_VISIBLE_DEVICES=2,5 as cuda:0 and cuda:1 inside the process.
        Assert.Equal(new[] { Device.CUDA(0), Device.CUDA(1) }, SiloDevices.Parse("cuda:0,cuda:1", "2,5", () => 2));
    }

    [Theory]
    [InlineData("")]
    [InlineData("NoDevFiles")]
    public void NoAssignedGpuFailsWithTheFix(string visible)
    {
        var e = Assert.Throws<DeviceUnavailableException>(() => SiloDevices.Parse("cuda:0", visible, () => 1));
        Assert.Contains($"CUDA_VISIBLE_DEVICES is '{visible}'", e.Message);
        Assert.Contains("--gpus-per-silo", e.Message);
    }

    [Fact]
    public void GpusLibtorchCannotSeeFailWithTheFix()
    {
        var e = Assert.Throws<DeviceUnavailableException>(() => SiloDevices.Parse("cuda:0,cuda:1", "0,1", () => 0));
        Assert.Contains("needs 2 CUDA device(s) (CUDA_VISIBLE_DEVICES=0,1)", e.Message);
        Assert.Contains("sees 0 CUDA device(s)", e.Message);
        Assert.Contains("Torch_DIR", e.Message);
        Assert.Throws<DeviceUnavailableException>(() => SiloDevices.Parse(" , ", null, NoCudaQuery));
    }
}
