namespace Harness.Data;

/// <summary>
/// A dataset file or folder that cannot be used as given. The message always names the file (and the line
/// where one is at fault) and says how to fix it, because the person reading it is usually looking at a
/// log from a worker machine, not at the data.
/// </summary>
public sealed class DatasetException : Exception
{
    public DatasetException(string file, string problem, string fix, int? line = null, Exception? inner = null)
        : base(Format(file, problem, fix, line), inner)
    {
        File = file;
        Line = line;
        Problem = problem;
        Fix = fix;
    }

    /// <summary>The file or folder at fault.</summary>
    public string File { get; }

    /// <summary>1-based line number within <see cref="File"/>, when the problem is on one line.</summary>
    public int? Line { get; }

    public string Problem { get; }
    public string Fix { get; }

    private static string Format(string file, string problem, string fix, int? line) =>
        line is { } l ? $"{file}:{l}: {problem}. Fix: {fix}" : $"{file}: {problem}. Fix: {fix}";
}
