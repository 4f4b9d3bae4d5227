namespace Harness.Torch;

/// <summary>
/// How many threads libtorch's CPU kernels use. Debian's libtorch starts a process hosted by .NET with one intra-op
/// thread (Python's torch starts with one per core), so without <see cref="Configure"/> every CPU grain ran on one
/// core. The setting is process-wide: threads created later (silo slots) pick it up on their first parallel op.
/// </summary>
public static class IntraOpThreads
{
    /// <summary>Overrides the thread count (an integer ≥ 1).</summary>
    public const string EnvironmentVariable = "MIPIN_THREADS";

    /// <summary>
    /// <see cref="EnvironmentVariable"/> when set; else, inside a Slurm task, its SLURM_CPUS_PER_TASK (`mipin submit
    /// --cpus-per-silo`), so tasks sharing a node do not oversubscribe it; else the cores this process may run on
    /// (<see cref="Environment.ProcessorCount"/> honours CPU affinity and cgroup limits). Throws ArgumentException
    /// naming the variable when MIPIN_THREADS is not an integer ≥ 1. Results agree to the last digit only between runs
    /// with the same count: parallel reductions add in a different order.
    /// </summary>
    public static int Default()
    {
        var value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(value))
            return int.TryParse(Environment.GetEnvironmentVariable("SLURM_CPUS_PER_TASK"), out var slurm) && slurm >= 1
                ? slurm
                : Environment.ProcessorCount;
        return int.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= 1
            ? n
            : throw new ArgumentException($"{EnvironmentVariable} must be an integer ≥ 1 (libtorch intra-op threads), got '{value}'. Fix: unset it to use every core, or set e.g. {EnvironmentVariable}=4");
    }

    /// <summary>
    /// Sets libtorch's intra-op thread count to <see cref="Default"/> and returns it. Where the native library cannot
    /// be loaded it sets nothing: commands that never touch libtorch (help, submit, status, cancel on a Slurm login
    /// node without it) still run, and the first call that needs libtorch reports the missing library with its fix.
    /// </summary>
    public static int Configure()
    {
        var n = Default();
        try
        {
            torch.set_num_threads(n);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
        return n;
    }
}
