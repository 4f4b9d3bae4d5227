using System.CommandLine;
using Harness.Client.Commands;

namespace Harness.Client;

/// <summary>The `mipin` CLI: one verb per command class under Commands/.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("MipIn: faithfulness benchmarks for saliency methods (MIP-IN, gradient, Grad-CAM, ...) on image classifiers.");
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(QuickstartCommand.Create());
        return root.Parse(args).Invoke();
    }
}
