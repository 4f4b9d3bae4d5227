using Harness.Data;

namespace Harness.Tests.Data;

/// <summary>
/// Damaged copies of a few sample files: each broken image or annotation becomes exactly one counted
/// <see cref="DataIssue"/> naming the file while the rest still load; a missing folder or mapping throws.
/// </summary>
public sealed class ImageNetValBrokenInputTests : IDisposable
{
    private static readonly string Sample = TestPaths.Repo("data", "imagenet-val-sample");
    private static readonly string[] Ids =
        ["ILSVRC2012_val_00000890", "ILSVRC2012_val_00000947", "ILSVRC2012_val_00002255", "ILSVRC2012_val_00003913"];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "mipin-data-" + Guid.NewGuid().ToString("N"));

    public ImageNetValBrokenInputTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "images"));
        Directory.CreateDirectory(Path.Combine(_root, "boxes"));
        File.Copy(Path.Combine(Sample, "LOC_synset_mapping.txt"), Path.Combine(_root, "LOC_synset_mapping.txt"));
        foreach (var id in Ids)
        {
            File.Copy(Path.Combine(Sample, "images", id + ".JPEG"), ImagePath(id));
            File.Copy(Path.Combine(Sample, "boxes", id + ".xml"), XmlPath(id));
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string ImagePath(string id) => Path.Combine(_root, "images", id + ".JPEG");
    private string XmlPath(string id) => Path.Combine(_root, "boxes", id + ".xml");

    private DataIssue LoadExpectingOneIssue(string brokenId, string file)
    {
        var ds = ImageNetValDataset.LoadFolder(_root);
        var issue = Assert.Single(ds.Issues);
        Assert.Equal(brokenId, issue.Id);
        Assert.Equal(Path.GetFullPath(file), issue.File);
        Assert.Equal(Ids.Where(i => i != brokenId), ds.Records.Select(r => r.Id));
        Assert.EndsWith("1 skipped", ds.Summary());
        return issue;
    }

    [Fact]
    public void IntactCopyLoadsEverything()
    {
        var ds = ImageNetValDataset.LoadFolder(_root);
        Assert.Equal(Ids, ds.Records.Select(r => r.Id));
        Assert.Empty(ds.Issues);
    }

    [Fact]
    public void XmlWithoutObject()
    {
        var id = Ids[1];
        var xml = File.ReadAllText(XmlPath(id));
        int start = xml.IndexOf("<object>", StringComparison.Ordinal), end = xml.LastIndexOf("</object>", StringComparison.Ordinal);
        File.WriteAllText(XmlPath(id), xml[..start] + xml[(end + "</object>".Length)..]);
        Assert.Contains("no <object>", LoadExpectingOneIssue(id, XmlPath(id)).Reason);
    }

    [Fact]
    public void MalformedXml()
    {
        var id = Ids[2];
        File.WriteAllText(XmlPath(id), File.ReadAllText(XmlPath(id)).Replace("</annotation>", ""));
        Assert.Contains("malformed XML", LoadExpectingOneIssue(id, XmlPath(id)).Reason);
    }

    [Fact]
    public void UnknownWnid()
    {
        var id = Ids[0];
        File.WriteAllText(XmlPath(id), File.ReadAllText(XmlPath(id)).Replace("n01629819", "n00000001"));
        var issue = LoadExpectingOneIssue(id, XmlPath(id));
        Assert.Contains("n00000001", issue.Reason);
    }

    [Fact]
    public void SeveralClassesInOneImage()
    {
        var id = Ids[3]; // two n03590841 boxes; rename the first one only
        var xml = File.ReadAllText(XmlPath(id));
        int at = xml.IndexOf("n03590841", StringComparison.Ordinal);
        File.WriteAllText(XmlPath(id), xml[..at] + "n01440764" + xml[(at + 9)..]);
        Assert.Contains("2 different classes", LoadExpectingOneIssue(id, XmlPath(id)).Reason);
    }

    [Fact]
    public void BoxWithXmaxBelowXmin()
    {
        var id = Ids[0];
        File.WriteAllText(XmlPath(id), File.ReadAllText(XmlPath(id)).Replace("<xmax>187</xmax>", "<xmax>50</xmax>"));
        Assert.Contains("xmax < xmin", LoadExpectingOneIssue(id, XmlPath(id)).Reason);
    }

    [Fact]
    public void BoxOutsideTheStatedImageSize()
    {
        var id = Ids[0]; // <size> 227×227
        File.WriteAllText(XmlPath(id), File.ReadAllText(XmlPath(id)).Replace("<xmax>187</xmax>", "<xmax>300</xmax>"));
        var reason = LoadExpectingOneIssue(id, XmlPath(id)).Reason;
        Assert.Contains("(73, 9, 300, 193) lies outside the 227×227 image", reason);
    }

    [Fact]
    public void BoxWithANegativeCoordinate()
    {
        var id = Ids[0];
        File.WriteAllText(XmlPath(id), File.ReadAllText(XmlPath(id)).Replace("<xmin>73</xmin>", "<xmin>-4</xmin>"));
        Assert.Contains("negative coordinate", LoadExpectingOneIssue(id, XmlPath(id)).Reason);
    }

    [Fact]
    public void ImageOfAnotherSizeThanItsAnnotationIsACountedIssue()
    {
        // The XML states 227×227; the file under that id decodes to 100×80, so its boxes belong to another image.
        var id = Ids[2];
        Harness.Data.Imaging.JpegEncoder.Save(new Harness.Data.Imaging.RgbImage(100, 80, new byte[100 * 80 * 3]), ImagePath(id), 95);
        var issue = Assert.Single(LoadBatchIssues());
        Assert.Equal(id, issue.Id);
        Assert.Contains("states a 227×227 image but the file decodes to 100×80", issue.Reason);
    }

    [Fact]
    public void CsvBoxOutsideTheDecodedImageIsACountedIssue()
    {
        // The CSV states no image size, so the box is checked against the decoded 227×227 image.
        File.Delete(XmlPath(Ids[1]));
        File.WriteAllLines(Path.Combine(_root, "LOC_val_solution.csv"),
            ["ImageId,PredictionString", Ids[1] + ",n03125729 2 0 226 400"]);
        var issue = Assert.Single(LoadBatchIssues());
        Assert.Equal(Ids[1], issue.Id);
        Assert.Contains("box (2, 0, 226, 400) lies outside the 227×227 image", issue.Reason);
    }

    /// <summary>Loads the folder (expecting no annotation issue) and decodes every record; returns the decode-time issues.</summary>
    private List<DataIssue> LoadBatchIssues()
    {
        var ds = ImageNetValDataset.LoadFolder(_root);
        Assert.Empty(ds.Issues);
        var issues = new List<DataIssue>();
        var batch = ImageBatchLoader.Load(ds.Records, Harness.Data.Imaging.PreprocessConfig.ImageNet, Harness.Torch.Device.CPU, issues);
        using var images = batch.Images;
        Assert.Equal(ds.Records.Count - issues.Count, batch.Records.Count);
        return issues;
    }

    [Fact]
    public void ImageWithoutAnnotation()
    {
        var id = Ids[1];
        File.Delete(XmlPath(id));
        Assert.Contains("no annotation", LoadExpectingOneIssue(id, ImagePath(id)).Reason);
    }

    [Fact]
    public void AnnotationWithoutImage()
    {
        var id = Ids[2];
        File.Delete(ImagePath(id));
        Assert.Contains("no image", LoadExpectingOneIssue(id, XmlPath(id)).Reason);
    }

    [Fact]
    public void EmptyImageFile()
    {
        var id = Ids[3];
        File.WriteAllBytes(ImagePath(id), []);
        Assert.Contains("empty", LoadExpectingOneIssue(id, ImagePath(id)).Reason);
    }

    [Fact]
    public void TruncatedJpegIsACountedIssueNotAScore()
    {
        // libjpeg decodes the first 3,000 bytes with a warning and grey rows; PIL (torchvision) raises
        // "image file is truncated" for the same file. The loader leaves it out and says why.
        var id = Ids[3];
        File.WriteAllBytes(ImagePath(id), File.ReadAllBytes(ImagePath(id))[..3000]);
        var ds = ImageNetValDataset.LoadFolder(_root);
        Assert.Empty(ds.Issues); // the annotation side is intact; decoding finds the damage
        var issues = new List<DataIssue>();
        var batch = ImageBatchLoader.Load(ds.Records, Harness.Data.Imaging.PreprocessConfig.ImageNet, Harness.Torch.Device.CPU, issues);
        using var images = batch.Images;
        var issue = Assert.Single(issues);
        Assert.Equal(id, issue.Id);
        Assert.Contains("truncated JPEG", issue.Reason);
        Assert.Contains(ImageBatchLoader.TruncationWarning, issue.Reason);
        Assert.Equal(ds.Records.Count - 1, batch.Records.Count);
        Assert.DoesNotContain(batch.Records, r => r.Id == id);
    }

    [Fact]
    public void ImageSmallerThanTheCropIsUpscaledLikeTorchvision()
    {
        // A 100×80 JPEG under an existing id: Resize(224) scales its short side up to 224 (280×224), CenterCrop keeps 224².
        var id = Ids[2];
        var pixels = new byte[100 * 80 * 3];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 7 % 251);
        Harness.Data.Imaging.JpegEncoder.Save(new Harness.Data.Imaging.RgbImage(100, 80, pixels), ImagePath(id), 95);
        File.WriteAllText(XmlPath(id), File.ReadAllText(XmlPath(id))
            .Replace("<width>227</width>", "<width>100</width>").Replace("<height>227</height>", "<height>80</height>")
            .Replace("<xmax>183</xmax>", "<xmax>99</xmax>").Replace("<ymax>150</ymax>", "<ymax>79</ymax>"));
        var ds = ImageNetValDataset.LoadFolder(_root);
        var issues = new List<DataIssue>();
        var config = new Harness.Data.Imaging.PreprocessConfig(224, 224, [0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]);
        var batch = ImageBatchLoader.Load(ds.Records, config, Harness.Torch.Device.CPU, issues);
        using var images = batch.Images;
        Assert.Empty(issues);
        Assert.Equal(new long[] { ds.Records.Count, 3, 224, 224 }, images.shape);
        var small = batch.Decoded[batch.Records.ToList().FindIndex(r => r.Id == id)];
        Assert.Equal((100, 80), (small.Width, small.Height));
        var t = new Harness.Data.Imaging.ImageTransform(config, 100, 80);
        Assert.Equal((280, 224, 28, 0), (t.ResizedWidth, t.ResizedHeight, t.CropLeft, t.CropTop));
    }

    [Fact]
    public void CsvFillsInForMissingXmlAndReportsItsOwnRows()
    {
        // XML for all but one image, CSV for the missing one and for an image that does not exist.
        File.Delete(XmlPath(Ids[1]));
        var sampleCsv = File.ReadAllLines(Path.Combine(Sample, "LOC_val_solution.csv"));
        File.WriteAllLines(Path.Combine(_root, "LOC_val_solution.csv"),
            [sampleCsv[0], sampleCsv.Single(l => l.StartsWith(Ids[1] + ",")), "ILSVRC2012_val_99999999,n01440764 1 2 3 4"]);

        var ds = ImageNetValDataset.LoadFolder(_root);
        Assert.Equal(Ids, ds.Records.Select(r => r.Id));
        Assert.Null(ds.Records[1].AnnotatedWidth); // came from the CSV
        var issue = Assert.Single(ds.Issues);
        Assert.Equal("ILSVRC2012_val_99999999", issue.Id);
        Assert.Equal(Path.Combine(_root, "LOC_val_solution.csv") + ":3", issue.File);
    }

    [Fact]
    public void MissingImagesFolderThrowsNamingIt()
    {
        Directory.Delete(Path.Combine(_root, "images"), recursive: true);
        var e = Assert.Throws<DatasetException>(() => ImageNetValDataset.LoadFolder(_root));
        Assert.Equal(Path.Combine(_root, "images"), e.File);
        Assert.Contains(Path.Combine(_root, "images"), e.Message);
        Assert.Contains("Fix:", e.Message);
    }

    [Fact]
    public void MissingMappingThrowsNamingIt()
    {
        File.Delete(Path.Combine(_root, "LOC_synset_mapping.txt"));
        var e = Assert.Throws<DatasetException>(() => ImageNetValDataset.LoadFolder(_root));
        Assert.Contains(Path.Combine(_root, "LOC_synset_mapping.txt"), e.Message);
    }

    [Fact]
    public void NoAnnotationsAtAllThrows()
    {
        var e = Assert.Throws<DatasetException>(() => ImageNetValDataset.Load(new ImageNetValOptions(
            Path.Combine(_root, "images"), null, null, Path.Combine(_root, "LOC_synset_mapping.txt"))));
        Assert.Contains("BoxesDir", e.Message);
    }

    [Fact]
    public void MappingWithDuplicateOrMalformedLineThrowsWithLineNumber()
    {
        var dup = Assert.Throws<DatasetException>(() => SynsetMapping.Parse(
            ["n01440764 tench, Tinca tinca", "n01443537 goldfish", "n01440764 tench again"], "m.txt"));
        Assert.Equal(3, dup.Line);
        Assert.StartsWith("m.txt:3:", dup.Message);
        Assert.Contains("n01440764", dup.Message);

        var bad = Assert.Throws<DatasetException>(() => SynsetMapping.Parse(["n01440764 tench", "", "n01443537 goldfish"], "m.txt"));
        Assert.Equal(2, bad.Line);
        Assert.Equal(2, SynsetMapping.Parse(["n01440764 tench", "n01443537 goldfish", ""], "m.txt").Count);
    }
}
