using Harness.Torch;

namespace Harness.Tests.Torch;

/// <summary>
/// The CLI runs libtorch on every core (Debian's libtorch would start it with one thread), MIPIN_THREADS overrides
/// that, a bad value is refused with the variable's name, threads created later (silo slots) use the setting, and
/// commands that need no libtorch run where it is missing. A mistyped MIPIN_BLOCKED_ACTIVATIONS is refused at start the
/// same way.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class IntraOpThreadsTests
{
    private static TestProcess.Result Cli(string command, string variable, string? value) =>
        TestProcess.Run("dotnet", new[] { TestPaths.Cli, command },
            environment: new Dictionary<string, string?> { [variable] = value });

    private static TestProcess.Result Info(string? threads) => Cli("info", IntraOpThreads.EnvironmentVariable, threads);

    [Fact]
    public void CliUsesEveryCoreUnlessMipinThreadsSaysOtherwise()
    {
        var all = Info(null);
        Assert.Equal(0, all.Code);
        Assert.Contains($"threads      {Environment.ProcessorCount} (cores: {Environment.ProcessorCount}", all.Stdout);
        var three = Info("3");
        Assert.Equal(0, three.Code);
        Assert.Contains("threads      3 (", three.Stdout);
        var bad = Info("zero");
        Assert.Equal(1, bad.Code);
        Assert.Contains("MIPIN_THREADS must be an integer ≥ 1", bad.Stderr);
        Assert.Contains("'zero'", bad.Stderr);
    }

    [Fact]
    public void AMistypedBlockedActivationsSettingStopsTheCliWithTheValidValues()
    {
        var bad = Cli("info", BlockedActivation.EnvironmentVariable, "yes");
        Assert.Equal(1, bad.Code);
        Assert.Contains("mipin: error: MIPIN_BLOCKED_ACTIVATIONS=yes is not a setting: use 0", bad.Stderr);
        Assert.DoesNotContain("   at ", bad.Stderr);  // one line, no stack trace
        var all = Cli("info", BlockedActivation.EnvironmentVariable, "all");
        Assert.Equal(0, all.Code);
        if (BlockedActivation.Available) Assert.Contains("blocked      all passes, input gradients too", all.Stdout);
    }

    [Fact]
    public void WithoutTheNativeLibraryCommandsThatNeedNoLibtorchStillRun()
    {
        // A Slurm login node may lack libtorch: help, submit, status and cancel must not need it; a command that does
        // need it ends with one line naming the problem instead of a stack trace.
        const string missing = "/nonexistent/libmipin_torch.so";
        var help = Cli("--help", "MIPIN_NATIVE_LIB", missing);
        Assert.Equal(0, help.Code);
        Assert.Contains("submit", help.Stdout);
        var info = Cli("info", "MIPIN_NATIVE_LIB", missing);
        Assert.Equal(1, info.Code);
        Assert.Contains($"mipin: error: MIPIN_NATIVE_LIB points to '{missing}', which does not exist", info.Stderr);
        Assert.DoesNotContain("Unhandled exception", info.Stderr);
    }

    [Fact]
    public void ThreadsStartedLaterUseTheProcessSetting()
    {
        var before = torch.get_num_threads();
        try
        {
            torch.set_num_threads(1);
            var seen = 0;
            var worker = new Thread(() => seen = torch.get_num_threads());
            worker.Start();
            worker.Join();
            Assert.Equal(1, seen);
            torch.set_num_threads(3);
            worker = new Thread(() => seen = torch.get_num_threads());
            worker.Start();
            worker.Join();
            Assert.Equal(3, seen);
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }

    [Fact]
    public void ThreadCountCanBeSet()
    {
        // Here, in the serial collection: the count is process-wide (see FrozenConvolutionThreadTests).
        var before = torch.get_num_threads();
        torch.set_num_threads(1);
        Assert.Equal(1, torch.get_num_threads());
        torch.set_num_threads(before);
        Assert.Throws<TorchException>(() => torch.set_num_threads(0));
    }
}
