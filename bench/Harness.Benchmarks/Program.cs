using BenchmarkDotNet.Running;

namespace Harness.Benchmarks;

/// <summary>
/// Entry point: BenchmarkDotNet's switcher (pick benchmarks with --filter, e.g. --filter '*TensorBenchmarks*'), or
/// `profile MODEL BATCH [THREADS]` for a quick stage-by-stage timing of a forward pass.
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args.Length >= 3 && args[0] == "profile")
        {
            Profile.Run(args[1], int.Parse(args[2]), args.Length > 3 ? int.Parse(args[3]) : Environment.ProcessorCount);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
