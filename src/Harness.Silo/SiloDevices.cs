using Harness.Torch;

namespace Harness.Silo;

/// <summary>The silo cannot get the devices its grains need (no GPU assigned, or libtorch cannot see it).</summary>
public sealed class DeviceUnavailableException(string message) : Exception(message);

/// <summary>
/// Which devices a silo started by a cluster engine runs on. A spec asking for CPU runs on its CPU slots. A spec
/// asking for CUDA runs on the GPUs the scheduler assigned: Slurm sets CUDA_VISIBLE_DEVICES (e.g. "2,5"), and CUDA
/// renumbers those as cuda:0, cuda:1 inside the process. Missing GPUs fail at once with the fix, never hang.
/// </summary>
public static class SiloDevices
{
    public static bool WantsCuda(IEnumerable<string> specDevices) => specDevices.Any(d => Device.Parse(d).IsCuda);

    /// <param name="specDevices">The spec's devices, e.g. [cpu] or [cuda].</param>
    /// <param name="cudaVisibleDevices">CUDA_VISIBLE_DEVICES as the scheduler set it (null when unset).</param>
    /// <param name="cudaDeviceCount">How many CUDA devices libtorch sees (asked only when the spec wants CUDA).</param>
    public static IReadOnlyList<Device> Resolve(IReadOnlyList<string> specDevices, string? cudaVisibleDevices, Func<int> cudaDeviceCount)
    {
        if (!WantsCuda(specDevices)) return specDevices.Select(Device.Parse).ToList();
        var assigned = (cudaVisibleDevices ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(d => d != "NoDevFiles").ToList();
        if (assigned.Count == 0)
            throw new DeviceUnavailableException(
                $"the experiment's devices are [{string.Join(", ", specDevices)}] but this silo was assigned no GPU " +
                $"(CUDA_VISIBLE_DEVICES is {(cudaVisibleDevices is null ? "unset" : $"'{cudaVisibleDevices}'")}): submit with " +
                "--gpus-per-silo N (N >= 1) on a GPU partition, or set devices: [cpu] in the config");
        var visible = cudaDeviceCount();
        if (visible < assigned.Count)
            throw new DeviceUnavailableException(
                $"the scheduler assigned GPU(s) {string.Join(",", assigned)} (CUDA_VISIBLE_DEVICES={cudaVisibleDevices}) but libtorch " +
                $"sees {visible} CUDA device(s) on {Environment.MachineName}: the native shim is built against a CPU-only libtorch " +
                "(rebuild with Torch_DIR pointing at a CUDA libtorch) or the node's NVIDIA driver is missing; " +
                "for a CPU run set devices: [cpu] in the config");
        return Enumerable.Range(0, assigned.Count).Select(i => Device.CUDA(i)).ToList();
    }
}
