namespace Harness.Client;

/// <summary>Prints rows as left-aligned columns separated by two spaces (leaderboards, status reports).</summary>
public static class TextTable
{
    public static void Print(IReadOnlyList<string> titles, IReadOnlyList<IReadOnlyList<string>> rows, TextWriter? output = null)
    {
        output ??= Console.Out;
        var widths = titles.Select((t, i) => Math.Max(t.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        output.WriteLine(string.Join("  ", titles.Select((t, i) => t.PadRight(widths[i]))).TrimEnd());
        foreach (var r in rows) output.WriteLine(string.Join("  ", r.Select((v, i) => v.PadRight(widths[i]))).TrimEnd());
    }
}
