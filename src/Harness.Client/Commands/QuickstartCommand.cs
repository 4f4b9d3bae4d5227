using System.CommandLine;

namespace Harness.Client.Commands;

/// <summary>
/// `mipin quickstart`: the embedded default run that the README's first command starts: the environment check, then
/// configs/quickstart.yaml (MobileNetV2 on the shipped 200-image sample: MIP-IN at features.18 trained on 100 images,
/// scored with gradient, Grad-CAM, centre and random on the other 100).
/// </summary>
public static class QuickstartCommand
{
    public static Command Create()
    {
        var command = new Command("quickstart", "Run the embedded default end to end on the shipped sample.");
        command.SetAction(_ =>
        {
            var status = InfoCommand.Run();
            if (status != 0) return status;
            Console.WriteLine();
            var config = Path.Combine("configs", "quickstart.yaml");
            if (!File.Exists(config)) throw new CommandLineException($"{Path.GetFullPath(config)} not found: run quickstart from the repository root");
            return RunCommand.Run(config, Array.Empty<string>());
        });
        return command;
    }
}
