using System.Diagnostics;
using Harness.Grains;
using Harness.Torch;

namespace Harness.Silo;

/// <summary>
/// Executes one grain on a silo slot and records its <see cref="GrainStats"/> (device, time, images/s, peak memory).
/// The peak is the grain's own: before it starts, the C heap's freed memory (which the silo keeps for reuse, see
/// <see cref="HostMemory.KeepFreedMemory"/>) is returned to the OS and the high-water mark reset to what is left. With
/// several slots in one process the figure covers the grains that ran side by side.
/// </summary>
public sealed class GrainRunner(string engine, string? statsDirectory)
{
    /// <summary>Runs <paramref name="grain"/> and returns what was measured (also written when there is a stats directory).</summary>
    /// <param name="silo">The silo's name in the cluster (throughput.csv's silo column).</param>
    public GrainStats Execute(IWorkGrain grain, GrainContext context, string silo = "")
    {
        var loadsBefore = context.ModelLoads;
        ProcessMemory.BeginOwnPeak();
        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        grain.Execute(context);
        clock.Stop();
        // Inside a Slurm job: JOBID_RANK of the silo task (srun's SLURM_PROCID) that ran the grain.
        var slurmJob = Environment.GetEnvironmentVariable("SLURM_JOB_ID");
        var slurmTask = slurmJob is null ? "" : $"{slurmJob}_{Environment.GetEnvironmentVariable("SLURM_PROCID") ?? "0"}";
        var stats = new GrainStats(grain.Key, grain.Stage, engine, Environment.MachineName, context.Device.ToString(), slurmTask,
            Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") ?? "", started, clock.Elapsed.TotalSeconds, grain.Images,
            ProcessMemory.PeakResidentBytes() / (1024.0 * 1024.0), silo, context.ModelLoads - loadsBefore);
        if (statsDirectory is not null) stats.Write(statsDirectory);
        return stats;
    }
}
