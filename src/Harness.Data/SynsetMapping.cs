using System.Text.RegularExpressions;

namespace Harness.Data;

/// <summary>
/// The ImageNet class list from <c>LOC_synset_mapping.txt</c>: line i is "wnid name, synonyms" and gives
/// class index i. That line order is exactly the index order of torchvision's pretrained classifiers, so
/// the file is the single source of truth for labels (no sorting, no re-numbering).
/// </summary>
public sealed partial class SynsetMapping
{
    private readonly string[] _wnids;
    private readonly string[] _names;
    private readonly Dictionary<string, int> _index;

    private SynsetMapping(string source, string[] wnids, string[] names, Dictionary<string, int> index)
    {
        Source = source;
        _wnids = wnids;
        _names = names;
        _index = index;
    }

    /// <summary>The file the mapping was read from (for error messages).</summary>
    public string Source { get; }

    public int Count => _wnids.Length;

    public IReadOnlyList<string> Wnids => _wnids;

    /// <summary>Reads the mapping file; any malformed or duplicate line is an error, since a shifted line would shift every label after it.</summary>
    public static SynsetMapping Load(string path)
    {
        if (!File.Exists(path))
            throw new DatasetException(path, "synset mapping file not found",
                "point to LOC_synset_mapping.txt (1,000 lines \"wnid name, synonyms\" in torchvision class order)");
        return Parse(File.ReadAllLines(path), path);
    }

    /// <summary>Parses mapping lines; <paramref name="source"/> names them in error messages.</summary>
    public static SynsetMapping Parse(IReadOnlyList<string> lines, string source)
    {
        // Trailing blank lines are harmless (an editor's final newline); a blank line in the middle would
        // shift every later index, so it is rejected like any malformed line.
        int n = lines.Count;
        while (n > 0 && string.IsNullOrWhiteSpace(lines[n - 1])) n--;
        if (n == 0)
            throw new DatasetException(source, "synset mapping is empty", "use LOC_synset_mapping.txt from the ImageNet localization data");

        var wnids = new string[n];
        var names = new string[n];
        var index = new Dictionary<string, int>(n, StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
        {
            var m = LinePattern().Match(lines[i]);
            if (!m.Success)
                throw new DatasetException(source, $"malformed line \"{Shorten(lines[i])}\", expected \"nXXXXXXXX name, synonyms\"",
                    "repair or replace the file; every line must start with a WordNet id and a name", i + 1);
            string wnid = m.Groups["wnid"].Value;
            if (index.TryGetValue(wnid, out int first))
                throw new DatasetException(source, $"duplicate wnid {wnid} (first on line {first + 1})",
                    "remove the duplicate; each class must appear once so line numbers are class indices", i + 1);
            index.Add(wnid, i);
            wnids[i] = wnid;
            names[i] = m.Groups["name"].Value.Split(',')[0].Trim();
        }
        return new SynsetMapping(source, wnids, names, index);
    }

    /// <summary>The class index of <paramref name="wnid"/>; throws naming the mapping file when it is not listed.</summary>
    public int IndexOf(string wnid) =>
        _index.TryGetValue(wnid, out int i)
            ? i
            : throw new DatasetException(Source, $"wnid {wnid} is not in the synset mapping ({Count} classes)",
                "check the annotation's <name> or use the mapping that belongs to this dataset");

    public bool TryIndexOf(string wnid, out int index) => _index.TryGetValue(wnid, out index);

    public string Wnid(int index) => _wnids[CheckIndex(index)];

    /// <summary>The first synonym of the class, e.g. "tench" for "tench, Tinca tinca".</summary>
    public string Name(int index) => _names[CheckIndex(index)];

    private int CheckIndex(int index) =>
        (uint)index < (uint)_wnids.Length
            ? index
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"class index must be in [0, {_wnids.Length}) for {Source}");

    private static string Shorten(string s) => s.Length <= 60 ? s : s[..60] + "…";

    [GeneratedRegex(@"^(?<wnid>n\d{8})\s+(?<name>\S.*)$")]
    private static partial Regex LinePattern();
}
