using System.CommandLine;
using Harness.Torch;

namespace Harness.Client.Commands;

/// <summary>`mipin info`: prints the environment (runtime, libtorch, its BLAS, devices, threads) and runs the smoke check.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Print the runtime, libtorch version and devices, then run a tiny forward/backward smoke check.");
        command.SetAction(_ => Run());
        return command;
    }

    public static int Run()
    {
        Console.WriteLine($"MipIn        {typeof(InfoCommand).Assembly.GetName().Version}");
        Console.WriteLine($".NET         {Environment.Version} on {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
        Console.WriteLine($"libtorch     {torch.version}");
        Console.WriteLine($"blas         {BlasLibrary.Describe()}");
        Console.WriteLine($"threads      {torch.get_num_threads()} (cores: {Environment.ProcessorCount}; set {IntraOpThreads.EnvironmentVariable} to change)");
        Console.WriteLine($"convolution  {ConvolutionAlgorithm.Describe()}, on the CPU (winograd kernels {(ConvolutionAlgorithm.WinogradAvailable ? "available" : "not available: " + OneDnnKernels.WhyNoWinogradKernels())}; set {ConvolutionAlgorithm.EnvironmentVariable}=winograd-gradients (the default), direct or winograd)");
        Console.WriteLine($"blocked      {BlockedActivation.DescribePasses()} run residual blocks on the CPU in oneDNN's blocked layout{(BlockedActivation.Available ? " " + BlockedActivation.LayoutName : "")} ({(BlockedActivation.Available ? $"set {BlockedActivation.EnvironmentVariable}=0 (none), 1 (passes without autograd, the default) or all (input gradients too: faster, not bit-identical to PyTorch)" : "not available: " + OneDnnKernels.WhyNoBlockedKernels())})");
        var cuda = torch.cuda.is_available();
        Console.WriteLine($"cuda         {(cuda ? $"available, {torch.cuda.device_count()} device(s)" : "not available")}");
        var devices = new List<Device> { Device.CPU };
        if (cuda) devices.Add(Device.CUDA(0));
        var ok = true;
        foreach (var device in devices)
        {
            var result = SmokeCheck.Run(device);
            Console.WriteLine($"smoke check  {device}: {result.Summary}");
            ok &= result.Passed;
        }
        return ok ? 0 : 1;
    }
}
