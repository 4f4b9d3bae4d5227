namespace Harness.Torch.Serialization;

/// <summary>
/// A checkpoint file could not be read or written. The message always starts with the file path and
/// states the problem, followed by a suggested fix where there is one, because the person seeing it
/// usually has several checkpoints around and needs to know which one is bad and why.
/// </summary>
public class CheckpointException : Exception
{
    public CheckpointException(string path, string problem, string? fix = null, Exception? inner = null)
        : base(Compose(path, problem, fix), inner)
    {
        FilePath = path;
        Problem = problem;
        Fix = fix;
    }

    /// <summary>The file (or display name of the stream) that was being read or written.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong, without the path.</summary>
    public string Problem { get; }

    /// <summary>What the user can do about it, or null when there is nothing sensible to suggest.</summary>
    public string? Fix { get; }

    private static string Compose(string path, string problem, string? fix) =>
        fix is null ? $"{path}: {problem}" : $"{path}: {problem}. Fix: {fix}";
}
