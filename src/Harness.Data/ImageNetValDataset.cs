using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Harness.Data.Imaging;

namespace Harness.Data;

/// <summary>
/// ImageNet (ILSVRC2012) validation images with their ground-truth boxes, in either the official layout
/// (one PASCAL-VOC XML per image) or the Kaggle layout (LOC_val_solution.csv). Labels come from the boxes:
/// every ImageNet val box is of the image's true class, so no separate label file is needed.
/// <para>
/// A problem with one image (missing or broken annotation, unknown class, empty file…) skips that image
/// and is recorded in <see cref="Issues"/>; problems with the whole folder throw <see cref="DatasetException"/>.
/// </para>
/// </summary>
public sealed class ImageNetValDataset
{
    private static readonly string[] ImageExtensions = [".jpeg", ".jpg"];

    /// <summary>Sub-folders <see cref="LoadFolder"/> tries for XML annotations, in order.</summary>
    public static readonly IReadOnlyList<string> BoxFolderNames = ["boxes", "ILSVRC2012_bbox_val", "val"];

    public const string ImagesFolderName = "images";
    public const string SolutionCsvName = "LOC_val_solution.csv";
    public const string SynsetMappingName = "LOC_synset_mapping.txt";

    private ImageNetValDataset(string root, ImageNetValOptions options, SynsetMapping mapping,
        IReadOnlyList<ImageRecord> records, IReadOnlyList<DataIssue> issues)
    {
        Root = root;
        Options = options;
        Mapping = mapping;
        Records = records;
        Issues = issues;
    }

    /// <summary>The dataset folder: the one given to <see cref="LoadFolder"/>, else the parent of the images folder.</summary>
    public string Root { get; }

    public ImageNetValOptions Options { get; }
    public SynsetMapping Mapping { get; }

    /// <summary>Usable images, sorted by <see cref="ImageRecord.Id"/> (ordinal), so shards and seeds mean the same on every machine.</summary>
    public IReadOnlyList<ImageRecord> Records { get; }

    /// <summary>Skipped images and annotations, sorted by id then file.</summary>
    public IReadOnlyList<DataIssue> Issues { get; }

    /// <summary>E.g. "200 images, 1,000 classes, 0 skipped"; "skipped" counts <see cref="Issues"/>.</summary>
    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"{Records.Count:N0} images, {Mapping.Count:N0} classes, {Issues.Count:N0} skipped");

    public override string ToString() => Summary();

    /// <summary>
    /// Loads a folder in the shipped layout: <c>images/</c>, an XML folder (<c>boxes/</c>,
    /// <c>ILSVRC2012_bbox_val/</c> or <c>val/</c>) and/or <c>LOC_val_solution.csv</c>, and <c>LOC_synset_mapping.txt</c>.
    /// </summary>
    public static ImageNetValDataset LoadFolder(string root)
    {
        root = Path.GetFullPath(root);
        if (!Directory.Exists(root))
            throw new DatasetException(root, "dataset folder not found",
                "pass the folder that holds images/, boxes/ (or LOC_val_solution.csv) and LOC_synset_mapping.txt");
        // "val/" is also a common name for an images folder, so a candidate counts only if it holds XML.
        string? boxes = BoxFolderNames.Select(n => Path.Combine(root, n))
            .FirstOrDefault(d => Directory.Exists(d) && Directory.EnumerateFiles(d, "*.xml", new EnumerationOptions { MatchCasing = MatchCasing.CaseInsensitive }).Any());
        string csv = Path.Combine(root, SolutionCsvName);
        var options = new ImageNetValOptions(
            Path.Combine(root, ImagesFolderName), boxes, File.Exists(csv) ? csv : null, Path.Combine(root, SynsetMappingName));
        return Load(options, root);
    }

    public static ImageNetValDataset Load(ImageNetValOptions options) => Load(options, null);

    private static ImageNetValDataset Load(ImageNetValOptions options, string? root)
    {
        string imagesDir = Path.GetFullPath(options.ImagesDir);
        if (!Directory.Exists(imagesDir))
            throw new DatasetException(imagesDir, "images folder not found",
                "point ImagesDir at the folder of ILSVRC2012_val_*.JPEG files (the shipped sample has them in images/)");
        string mappingPath = Path.GetFullPath(options.SynsetMapping);
        if (!File.Exists(mappingPath))
            throw new DatasetException(mappingPath, "synset mapping file not found",
                $"point SynsetMapping at {SynsetMappingName} (line i = class i in torchvision order)");
        if (options.BoxesDir is null && options.SolutionCsv is null)
            throw new DatasetException(imagesDir, "no annotations given: neither a boxes folder nor a solution CSV",
                $"set BoxesDir to the XML folder (e.g. ILSVRC2012_bbox_val) or SolutionCsv to {SolutionCsvName}");
        string? boxesDir = options.BoxesDir is null ? null : Path.GetFullPath(options.BoxesDir);
        if (boxesDir is not null && !Directory.Exists(boxesDir))
            throw new DatasetException(boxesDir, "boxes folder not found", "point BoxesDir at the folder of per-image XML files, or pass null");
        string? csvPath = options.SolutionCsv is null ? null : Path.GetFullPath(options.SolutionCsv);
        if (csvPath is not null && !File.Exists(csvPath))
            throw new DatasetException(csvPath, "solution CSV not found", $"point SolutionCsv at {SolutionCsvName}, or pass null");

        var mapping = SynsetMapping.Load(mappingPath);
        var issues = new List<DataIssue>();

        var images = FindImages(imagesDir, issues);
        var xmlFiles = boxesDir is null ? new Dictionary<string, string>(StringComparer.Ordinal) : FindXml(boxesDir);
        var csvRows = csvPath is null ? new Dictionary<string, CsvRow>(StringComparer.Ordinal) : ReadCsv(csvPath, issues);

        // Annotations whose image is absent are counted once, under the file that would have been used.
        foreach (var id in xmlFiles.Keys.Union(csvRows.Keys).Where(id => !images.ContainsKey(id)))
        {
            string file = xmlFiles.TryGetValue(id, out var xml) ? xml : csvRows[id].Location;
            issues.Add(new DataIssue(id, file, "annotation has no image file"));
        }

        var records = new List<ImageRecord>(images.Count);
        foreach (var (id, imagePath) in images)
        {
            if (new FileInfo(imagePath).Length == 0)
            {
                issues.Add(new DataIssue(id, imagePath, "image file is empty (0 bytes)"));
                continue;
            }
            // XML is preferred because it also states the annotated image size; the CSV only fills gaps.
            // A broken XML is reported rather than masked by the CSV, so damage to the XML folder stays visible.
            Annotation? annotation;
            string source;
            string? error;
            if (xmlFiles.TryGetValue(id, out var xmlPath))
            {
                source = xmlPath;
                annotation = ReadXml(xmlPath, out error);
            }
            else if (csvRows.TryGetValue(id, out var row))
            {
                source = row.Location;
                annotation = ParsePrediction(row.Prediction, out error);
            }
            else
            {
                issues.Add(new DataIssue(id, imagePath, "image has no annotation (no XML file and no CSV row)"));
                continue;
            }
            if (annotation is null)
            {
                issues.Add(new DataIssue(id, source, error!));
                continue;
            }

            var wnids = annotation.Objects.Select(o => o.Wnid).Distinct(StringComparer.Ordinal).ToArray();
            if (wnids.Length != 1)
            {
                issues.Add(new DataIssue(id, source, $"boxes name {wnids.Length} different classes ({string.Join(", ", wnids)}); ImageNet val boxes must all be of the true class"));
                continue;
            }
            if (!mapping.TryIndexOf(wnids[0], out int classIndex))
            {
                issues.Add(new DataIssue(id, source, $"wnid {wnids[0]} is not in {mappingPath}"));
                continue;
            }
            records.Add(new ImageRecord(id, imagePath, classIndex, wnids[0],
                annotation.Objects.Select(o => o.Box).ToArray(), annotation.Width, annotation.Height));
        }

        issues.Sort((a, b) =>
        {
            int c = string.CompareOrdinal(a.Id, b.Id);
            return c != 0 ? c : string.CompareOrdinal(a.File, b.File);
        });
        // images is already ordinal-sorted, so records are too.
        return new ImageNetValDataset(root ?? Path.GetDirectoryName(imagesDir) ?? imagesDir,
            options, mapping, records, issues);
    }

    private static SortedDictionary<string, string> FindImages(string dir, List<DataIssue> issues)
    {
        var images = new SortedDictionary<string, string>(StringComparer.Ordinal);
        // Enumeration order differs between file systems; sort paths so a duplicate id always keeps the same file.
        var files = Directory.EnumerateFiles(dir)
            .Where(f => ImageExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            string id = Path.GetFileNameWithoutExtension(file);
            if (!images.TryAdd(id, file))
                issues.Add(new DataIssue(id, file, $"a second image with the same id (kept {Path.GetFileName(images[id])})"));
        }
        return images;
    }

    private static Dictionary<string, string> FindXml(string dir) =>
        Directory.EnumerateFiles(dir)
            .Where(f => Path.GetExtension(f).Equals(".xml", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal);

    private sealed record AnnotatedObject(string Wnid, BoundingBox Box);

    private sealed record Annotation(IReadOnlyList<AnnotatedObject> Objects, int? Width, int? Height);

    private sealed record CsvRow(string Prediction, string Location);

    /// <summary>Reads one PASCAL-VOC annotation; returns null with <paramref name="error"/> set when it cannot be used.</summary>
    private static Annotation? ReadXml(string path, out string? error)
    {
        XDocument doc;
        try
        {
            doc = XDocument.Load(path);
        }
        catch (XmlException e)
        {
            error = $"malformed XML: {e.Message}";
            return null;
        }
        var root = doc.Root!;
        int? width = null, height = null;
        if (root.Element("size") is { } size)
        {
            if (!TryInt(size.Element("width"), out int w) || !TryInt(size.Element("height"), out int h))
            {
                error = "<size> lacks an integer <width> or <height>";
                return null;
            }
            (width, height) = (w, h);
        }
        var objects = new List<AnnotatedObject>();
        foreach (var (obj, k) in root.Elements("object").Select((o, k) => (o, k + 1)))
        {
            string? wnid = obj.Element("name")?.Value.Trim();
            var bb = obj.Element("bndbox");
            if (string.IsNullOrEmpty(wnid) || bb is null)
            {
                error = $"<object> {k} lacks <name> or <bndbox>";
                return null;
            }
            if (!TryInt(bb.Element("xmin"), out int x1) || !TryInt(bb.Element("ymin"), out int y1)
                || !TryInt(bb.Element("xmax"), out int x2) || !TryInt(bb.Element("ymax"), out int y2))
            {
                error = $"<object> {k}: <bndbox> needs integer <xmin>, <ymin>, <xmax>, <ymax>";
                return null;
            }
            if (!CheckBox(x1, y1, x2, y2, $"<object> {k}", out error)) return null;
            if (width is int iw && height is int ih && (x2 >= iw || y2 >= ih))
            {
                error = $"<object> {k}: box ({x1}, {y1}, {x2}, {y2}) lies outside the {iw}×{ih} image that <size> states; fix the box or the size";
                return null;
            }
            objects.Add(new AnnotatedObject(wnid, BoundingBox.FromInclusivePixels(x1, y1, x2, y2)));
        }
        if (objects.Count == 0)
        {
            error = "XML has no <object> (no box, so no label)";
            return null;
        }
        error = null;
        return new Annotation(objects, width, height);
    }

    private static bool TryInt(XElement? e, out int value) =>
        int.TryParse(e?.Value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out value);

    private static bool CheckBox(int x1, int y1, int x2, int y2, string what, out string? error)
    {
        // Inclusive coordinates: xmax == xmin is a one-pixel-wide box, so only xmax < xmin is invalid.
        error = x2 < x1 || y2 < y1 ? $"{what}: box ({x1}, {y1}, {x2}, {y2}) has xmax < xmin or ymax < ymin"
            : x1 < 0 || y1 < 0 ? $"{what}: box ({x1}, {y1}, {x2}, {y2}) has a negative coordinate, so it lies outside the image"
            : null;
        return error is null;
    }

    /// <summary>Reads the Kaggle CSV into id → row. Bad rows become issues; a wrong header means a wrong file and throws.</summary>
    private static Dictionary<string, CsvRow> ReadCsv(string path, List<DataIssue> issues)
    {
        var rows = new Dictionary<string, CsvRow>(StringComparer.Ordinal);
        using var reader = new StreamReader(path);
        string? header = reader.ReadLine();
        if (header is null || !header.Trim().Equals("ImageId,PredictionString", StringComparison.Ordinal))
            throw new DatasetException(path, $"header is \"{header}\", expected \"ImageId,PredictionString\"",
                $"pass the Kaggle {SolutionCsvName} (or set SolutionCsv to null and use the XML folder)", 1);
        int lineNo = 1;
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string location = $"{path}:{lineNo}";
            int comma = line.IndexOf(',');
            string id = (comma < 0 ? line : line[..comma]).Trim();
            if (comma < 0 || id.Length == 0)
            {
                issues.Add(new DataIssue(id.Length == 0 ? "?" : id, location, "CSV row is not \"ImageId,PredictionString\""));
                continue;
            }
            if (rows.TryGetValue(id, out var first))
            {
                issues.Add(new DataIssue(id, location, $"duplicate CSV row (first at {first.Location}); the first is used"));
                continue;
            }
            rows.Add(id, new CsvRow(line[(comma + 1)..], location));
        }
        return rows;
    }

    /// <summary>Parses "wnid x1 y1 x2 y2" repeated; coordinates are inclusive pixels like the XML.</summary>
    private static Annotation? ParsePrediction(string prediction, out string? error)
    {
        var parts = prediction.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0 || parts.Length % 5 != 0)
        {
            error = parts.Length == 0
                ? "CSV row has no boxes (no box, so no label)"
                : $"PredictionString has {parts.Length} fields, expected groups of 5 (wnid x1 y1 x2 y2)";
            return null;
        }
        var objects = new List<AnnotatedObject>(parts.Length / 5);
        for (int i = 0; i < parts.Length; i += 5)
        {
            var c = new int[4];
            for (int j = 0; j < 4; j++)
            {
                if (!int.TryParse(parts[i + 1 + j], NumberStyles.Integer, CultureInfo.InvariantCulture, out c[j]))
                {
                    error = $"box {i / 5 + 1}: \"{parts[i + 1 + j]}\" is not an integer coordinate";
                    return null;
                }
            }
            if (!CheckBox(c[0], c[1], c[2], c[3], $"box {i / 5 + 1}", out error)) return null;
            objects.Add(new AnnotatedObject(parts[i], BoundingBox.FromInclusivePixels(c[0], c[1], c[2], c[3])));
        }
        error = null;
        return new Annotation(objects, null, null);
    }
}
