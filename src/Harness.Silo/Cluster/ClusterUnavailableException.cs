namespace Harness.Silo.Cluster;

/// <summary>
/// The cluster cannot be used: the client could not join it (Redis down, wrong secret, no gateway), or its membership
/// store stopped answering mid-run (Redis restarted without its data). The message says what to do; finished outputs
/// are always kept.
/// </summary>
public sealed class ClusterUnavailableException(string message, Exception inner) : Exception(message, inner)
{
    /// <summary><paramref name="e"/> and its inner exceptions, outermost first.</summary>
    public static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException) yield return x;
    }

    /// <summary>The innermost exception of <paramref name="e"/>: what Redis or Orleans actually said, under their wrappers.</summary>
    public static Exception RootCause(Exception e) => Chain(e).Last();
}
