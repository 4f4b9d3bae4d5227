using CsvHelper;

namespace Harness.Data;

/// <summary>
/// Plain string tables in RFC 4180 CSV through CsvHelper: a header and rows of fields. Result files are written
/// atomically, with "\n" line endings so they diff cleanly and compare byte for byte.
/// </summary>
public static class CsvTable
{
    private static readonly CsvWriterOptions WriterOptions = new() { NewLine = "\n" };

    public static string ToText(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        using var text = new StringWriter { NewLine = "\n" };
        using (var csv = CsvWriter.Create(text, WriterOptions, leaveOpen: true))
        {
            csv.WriteRecord(header.ToArray());
            foreach (var row in rows) csv.WriteRecord(row.ToArray());
        }
        return text.ToString();
    }

    public static void Write(string path, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows) =>
        AtomicFile.WriteAllText(path, ToText(header, rows));

    /// <summary>The header and every row; each row is checked to have the header's field count.</summary>
    public static (string[] Header, List<string[]> Rows) Read(string path)
    {
        using var csv = CsvReader.FromFile(path, CsvReaderOptions.Default);
        var header = csv.Headers.ToArray();
        var rows = new List<string[]>();
        while (csv.Read())
        {
            if (csv.FieldCount != header.Length)
                throw new InvalidDataException($"{path}: row {rows.Count + 1} has {csv.FieldCount} fields, the header has {header.Length}");
            var row = new string[header.Length];
            for (var i = 0; i < row.Length; i++) row[i] = csv.GetString(i);
            rows.Add(row);
        }
        return (header, rows);
    }
}
