namespace Harness.Data;

/// <summary>
/// A problem with one image or annotation that made the loader skip it. Issues are collected and counted
/// instead of dropped silently, so a run over a damaged copy of a dataset says how much it left out.
/// </summary>
/// <param name="Id">The image id (file name without extension) the problem belongs to.</param>
/// <param name="File">The file at fault (with ":line" for a line of a CSV file).</param>
/// <param name="Reason">What is wrong, in words.</param>
public sealed record DataIssue(string Id, string File, string Reason)
{
    public override string ToString() => $"{Id}: {File}: {Reason}";
}
