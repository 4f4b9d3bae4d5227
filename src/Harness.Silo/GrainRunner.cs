using System.Diagnostics;
using Harness.Grains;

namespace Harness.Silo;

/// <summary>Executes one grain on a silo slot and records its <see cref="GrainStats"/> (device, time, images/s, peak memory).</summary>
public sealed class GrainRunner(string engine, string? statsDirectory)
{
    public void Execute(IGrain grain, GrainContext context)
    {
        PeakMemory.Reset();
        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        grain.Execute(context);
        clock.Stop();
        if (statsDirectory is null) return;
        var slurmJob = Environment.GetEnvironmentVariable("SLURM_ARRAY_JOB_ID");
        var slurmTask = slurmJob is null ? "" : $"{slurmJob}_{Environment.GetEnvironmentVariable("SLURM_ARRAY_TASK_ID")}";
        new GrainStats(grain.Key, grain.Stage, engine, Environment.MachineName, context.Device.ToString(), slurmTask,
            Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") ?? "", started, clock.Elapsed.TotalSeconds, grain.Images,
            PeakMemory.PeakMb()).Write(statsDirectory);
    }
}
