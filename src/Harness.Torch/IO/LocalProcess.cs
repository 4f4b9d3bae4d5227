namespace Harness.Torch.IO;

/// <summary>Questions about processes of this machine, asked by whoever finds another process's name in a file.</summary>
public static class LocalProcess
{
    /// <summary>Whether process <paramref name="pid"/> of this machine is running now.</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
