using Harness.Torch;

namespace Harness.Silo;

/// <summary>The silo cannot get the devices its slots need (no GPU assigned, or libtorch cannot see it).</summary>
public sealed class DeviceUnavailableException(string message) : Exception(message);

/// <summary>
/// The device slots a silo offers (`mipin silo --devices cpu,cpu` or `cuda:0,cuda:1`). Inside a Slurm job, CUDA
/// numbers the GPUs the job script gave the silo (CUDA_VISIBLE_DEVICES, e.g. "2,5") as cuda:0, cuda:1. Missing GPUs
/// fail at once with the fix, before the silo joins its cluster, never later in a grain.
/// </summary>
public static class SiloDevices
{
    public static bool WantsCuda(IEnumerable<string> specDevices) => specDevices.Any(d => Device.Parse(d).IsCuda);

    /// <param name="devices">Comma-separated slots: cpu (repeat for several) or cuda:N.</param>
    /// <param name="cudaVisibleDevices">CUDA_VISIBLE_DEVICES as the scheduler set it (null when unset).</param>
    /// <param name="cudaDeviceCount">How many CUDA devices libtorch sees (asked only when a slot is CUDA).</param>
    public static IReadOnlyList<Device> Parse(string devices, string? cudaVisibleDevices, Func<int> cudaDeviceCount)
    {
        var slots = devices.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Device.Parse).ToList();
        if (slots.Count == 0) throw new DeviceUnavailableException($"--devices '{devices}' names no slot: give e.g. cpu, cpu,cpu or cuda:0,cuda:1");
        if (!slots.Any(d => d.IsCuda)) return slots;
        if (cudaVisibleDevices is not null && cudaVisibleDevices.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .All(d => d == "NoDevFiles"))
            throw new DeviceUnavailableException(
                $"--devices {devices} but this silo was assigned no GPU (CUDA_VISIBLE_DEVICES is '{cudaVisibleDevices}'): submit with " +
                "--gpus-per-silo N (N >= 1) on a GPU partition, or set devices: [cpu] in the config");
        var visible = cudaDeviceCount();
        var needed = slots.Where(d => d.IsCuda).Max(d => d.Index) + 1;
        if (visible < needed)
            throw new DeviceUnavailableException(
                $"--devices {devices} needs {needed} CUDA device(s) (CUDA_VISIBLE_DEVICES={cudaVisibleDevices ?? "unset"}) but libtorch " +
                $"sees {visible} CUDA device(s) on {Environment.MachineName}: the native shim is built against a CPU-only libtorch " +
                "(rebuild with Torch_DIR pointing at a CUDA libtorch) or the node's NVIDIA driver is missing; " +
                "for a CPU run set devices: [cpu] in the config");
        return slots;
    }
}
