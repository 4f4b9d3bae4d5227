namespace Harness.Tests.Cluster;

/// <summary>
/// A test that needs a running Slurm cluster. scripts/test.sh (and so CI) starts a single-node cluster with
/// scripts/slurm-local.sh and exports SLURM_CONF; a plain `dotnet test` without SLURM_CONF skips these tests and says
/// how to run them. With SLURM_CONF set, an unreachable cluster fails the test instead of skipping it. A skippable
/// fact, so a test can also skip itself (Skip.If) where the machine cannot show what it checks.
/// </summary>
public sealed class SlurmFactAttribute : SkippableFactAttribute
{
    public SlurmFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("SLURM_CONF")))
            Skip = "needs a Slurm cluster: scripts/test.sh starts one (or run scripts/slurm-local.sh start and export SLURM_CONF)";
    }
}
