using System.CommandLine;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin quickstart`: the embedded default run that the README's first command starts. Until the experiment
/// runner exists it prints the environment and runs the smoke check.
/// </summary>
public static class QuickstartCommand
{
    public static Command Create()
    {
        var command = new Command("quickstart", "Run the embedded default end to end on the shipped sample.");
        command.SetAction(_ => InfoCommand.Run());
        return command;
    }
}
