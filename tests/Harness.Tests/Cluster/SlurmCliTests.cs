using Harness.Client.Engines;

namespace Harness.Tests.Cluster;

public sealed class SlurmCliTests
{
    [Fact]
    public void ParsesSqueueJobLines()
    {
        // `squeue --noheader --states=all --format=%i|%T|%r` as Slurm 22.05 prints it.
        const string text = "12|COMPLETED|None\n13|RUNNING|None\n14|PENDING|Priority\n15_2|RUNNING|None\n";
        Assert.Equal(new[]
        {
            new SlurmJobInfo("12", "COMPLETED", "None"), new SlurmJobInfo("13", "RUNNING", "None"), new SlurmJobInfo("14", "PENDING", "Priority"),
        }, SlurmCli.ParseLines(text));
    }

    [Fact]
    public void ParsesSacctStatesWithQualifiersAndSkipsSteps()
    {
        // `sacct --parsable2 --format=JobID,State,Reason`: "CANCELLED by 0", and steps (12.batch, 12.0) are not jobs.
        const string text = "12|CANCELLED by 0|None\n12.batch|CANCELLED|\n12.0|CANCELLED|\n13|FAILED|NonZeroExitCode\n";
        Assert.Equal(new[] { new SlurmJobInfo("12", "CANCELLED", "None"), new SlurmJobInfo("13", "FAILED", "NonZeroExitCode") }, SlurmCli.ParseLines(text));
    }
}
