using Harness.Client.Engines;

namespace Harness.Tests.Cluster;

public sealed class SlurmCliTests
{
    [Fact]
    public void ParsesSqueueArrayLines()
    {
        // `squeue --noheader --array --states=all --format=%i|%T|%r` as Slurm 22.05 prints it.
        const string text = "12_0|COMPLETED|None\n12_1|RUNNING|None\n13_0|PENDING|DependencyNeverSatisfied\n14|PENDING|Priority\n";
        var infos = SlurmCli.ParseLines(text).ToList();
        Assert.Equal(new[]
        {
            new SlurmTaskInfo("12", 0, "COMPLETED", "None"), new SlurmTaskInfo("12", 1, "RUNNING", "None"),
            new SlurmTaskInfo("13", 0, "PENDING", "DependencyNeverSatisfied"),
        }, infos);
    }

    [Fact]
    public void ParsesSacctStatesWithQualifiers()
    {
        // `sacct --parsable2 --format=JobID,State,Reason`: "CANCELLED by 0", and steps (12_3.batch) are not tasks.
        const string text = "12_3|CANCELLED by 0|None\n12_3.batch|CANCELLED|\n12_4|FAILED|NonZeroExitCode\n";
        var infos = SlurmCli.ParseLines(text).ToList();
        Assert.Equal(new[] { new SlurmTaskInfo("12", 3, "CANCELLED", "None"), new SlurmTaskInfo("12", 4, "FAILED", "NonZeroExitCode") }, infos);
    }
}
