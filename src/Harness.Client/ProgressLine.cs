namespace Harness.Client;

/// <summary>A one-line progress display on stderr (rewritten in place on a terminal, one line per update otherwise).</summary>
public static class ProgressLine
{
    private static DateTime s_lastPlain = DateTime.MinValue;

    public static void Write(string what, int done, int total)
    {
        var percent = total == 0 ? 100 : 100.0 * done / total;
        var text = $"{what}: {done}/{total} ({percent:F0}%)";
        if (!Console.IsErrorRedirected) Console.Error.Write("\r" + text.PadRight(60));
        else if (DateTime.UtcNow - s_lastPlain > TimeSpan.FromSeconds(10) || done == total)
        {
            s_lastPlain = DateTime.UtcNow;
            Console.Error.WriteLine(text);
        }
    }

    public static void Finish()
    {
        if (!Console.IsErrorRedirected) Console.Error.WriteLine();
    }
}
