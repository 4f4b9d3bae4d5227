using System.CommandLine;
using Harness.Client.Commands;

namespace Harness.Client;

/// <summary>The `mipin` CLI: one verb per command class under Commands/.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // Reuse freed tensor memory instead of page-faulting it in again every batch (Harness.Torch.HostMemory).
        Harness.Torch.HostMemory.KeepFreedMemory();
        try
        {
            Harness.Torch.IntraOpThreads.Configure(); // every core, or MIPIN_THREADS (bench --threads overrides it)
            Harness.Torch.ConvolutionAlgorithm.Configure(); // winograd-gradients (default), or MIPIN_CONVOLUTION=direct / winograd
            Harness.Torch.BlockedActivation.Configure(); // MIPIN_BLOCKED_ACTIVATIONS: 0, 1 (default) or all
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            Console.Error.WriteLine($"mipin: error: {e.Message}");
            return 1;
        }
        var root = new RootCommand("MipIn: faithfulness benchmarks for saliency methods (MIP-IN, gradient, Grad-CAM, ...) on image classifiers.");
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(QuickstartCommand.Create());
        root.Subcommands.Add(PredictCommand.Create());
        root.Subcommands.Add(ExplainCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(SubmitCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(ResumeCommand.Create());
        root.Subcommands.Add(CancelCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(SiloCommand.Create());
        root.Subcommands.Add(CoordinateCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        return Run(root, args);
    }

    // Errors the user can act on (bad input files, bad options, libtorch errors) print one clear message and exit 1;
    // anything else is a bug and keeps its stack trace.
    private static int Run(RootCommand root, string[] args)
    {
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        try
        {
            return root.Parse(args).Invoke(config);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("mipin: interrupted; finished grains are kept, run the same command again to resume");
            return 130;
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"mipin: error: {e.Message}");
            return 1;
        }
    }

    private static bool IsUserError(Exception e) => e is CommandLineException or Harness.Torch.TorchException
        or Harness.Torch.Serialization.CheckpointException or Harness.Data.DatasetException
        or Harness.Data.Imaging.ImageDecodeException or Harness.Models.UnknownLayerException
        or Harness.Experiments.SpecException or Harness.Silo.GrainFailedException or Harness.Silo.DeviceUnavailableException or Harness.Silo.Cluster.ClusterUnavailableException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or InvalidDataException or FormatException
        or DllNotFoundException;
}
