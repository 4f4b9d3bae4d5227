using System.Text.RegularExpressions;
using Harness.Data;
using Harness.Data.Imaging;

namespace Harness.Tests.Data;

/// <summary>The ImageNet validation sample shipped in data/imagenet-val-sample loads completely and correctly.</summary>
public sealed class ImageNetValSampleTests
{
    private static readonly string Root = TestPaths.Repo("data", "imagenet-val-sample");

    [Fact]
    public void ShippedSampleLoadsAllImagesWithoutIssues()
    {
        var ds = ImageNetValDataset.LoadFolder(Root);

        Assert.Equal(200, ds.Records.Count);
        Assert.Empty(ds.Issues);
        Assert.Equal(1000, ds.Mapping.Count);
        Assert.Equal("200 images, 1,000 classes, 0 skipped", ds.Summary());
        Assert.Equal(Path.GetFullPath(Root), ds.Root);
        var ids = ds.Records.Select(r => r.Id).ToArray();
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.All(ds.Records, r =>
        {
            Assert.True(File.Exists(r.ImagePath));
            Assert.Equal((227, 227), (r.AnnotatedWidth, r.AnnotatedHeight));
            Assert.NotEmpty(r.Boxes);
        });
    }

    [Fact]
    public void ClassesEqualTheXmlNamesAndMappingLines()
    {
        var ds = ImageNetValDataset.LoadFolder(Root);
        // Independent of the loader: wnid from the XML text, class index = 0-based line of the mapping file.
        var lines = File.ReadAllLines(Path.Combine(Root, "LOC_synset_mapping.txt"));
        foreach (var r in ds.Records)
        {
            var xml = File.ReadAllText(Path.Combine(Root, "boxes", r.Id + ".xml"));
            var names = Regex.Matches(xml, "<name>(n\\d{8})</name>").Select(m => m.Groups[1].Value).Distinct().ToArray();
            Assert.Equal(new[] { r.Wnid }, names);
            Assert.StartsWith(r.Wnid + " ", lines[r.ClassIndex]);
            Assert.Equal(r.ClassIndex, ds.Mapping.IndexOf(r.Wnid));
            Assert.Equal(r.Wnid, ds.Mapping.Wnid(r.ClassIndex));
        }
    }

    [Fact]
    public void HandCheckedRecordsMatchTheirXml()
    {
        var ds = ImageNetValDataset.LoadFolder(Root);
        var byId = ds.Records.ToDictionary(r => r.Id);

        // boxes/ILSVRC2012_val_00000890.xml: n01629819, <xmin>73 <ymin>9 <xmax>187 <ymax>193; mapping line 26.
        var r = byId["ILSVRC2012_val_00000890"];
        Assert.Equal(("n01629819", 25), (r.Wnid, r.ClassIndex));
        Assert.Equal("European fire salamander", ds.Mapping.Name(25));
        Assert.Equal(new[] { new BoundingBox(73, 9, 188, 194) }, r.Boxes);

        // ILSVRC2012_val_00003913.xml: two n03590841 boxes (133,127,189,208) and (65,105,106,183); line 608.
        r = byId["ILSVRC2012_val_00003913"];
        Assert.Equal(("n03590841", 607), (r.Wnid, r.ClassIndex));
        Assert.Equal(new[] { new BoundingBox(133, 127, 190, 209), new BoundingBox(65, 105, 107, 184) }, r.Boxes);

        // ILSVRC2012_val_00006816.xml: four n03773504 (missile) boxes; line 658.
        r = byId["ILSVRC2012_val_00006816"];
        Assert.Equal(("n03773504", 657), (r.Wnid, r.ClassIndex));
        Assert.Equal(new[]
        {
            new BoundingBox(22, 44, 189, 118), new BoundingBox(0, 79, 227, 215),
            new BoundingBox(166, 131, 227, 227), new BoundingBox(204, 53, 227, 77),
        }, r.Boxes);
        Assert.Equal(Path.Combine(Path.GetFullPath(Root), "images", "ILSVRC2012_val_00006816.JPEG"), r.ImagePath);
    }

    [Fact]
    public void CsvOnlyGivesTheSameRecordsAsXml()
    {
        var xml = ImageNetValDataset.LoadFolder(Root);
        var csv = ImageNetValDataset.Load(new ImageNetValOptions(
            Path.Combine(Root, "images"), null, Path.Combine(Root, "LOC_val_solution.csv"), Path.Combine(Root, "LOC_synset_mapping.txt")));

        Assert.Empty(csv.Issues);
        Assert.Equal(xml.Records.Count, csv.Records.Count);
        foreach (var (a, b) in xml.Records.Zip(csv.Records))
        {
            Assert.Equal((a.Id, a.ImagePath, a.ClassIndex, a.Wnid), (b.Id, b.ImagePath, b.ClassIndex, b.Wnid));
            Assert.Equal(a.Boxes, b.Boxes);
            Assert.Null(b.AnnotatedWidth); // the CSV states no image size
        }
    }

    [Fact]
    public void SynsetMappingLooksUpBothWays()
    {
        var m = SynsetMapping.Load(Path.Combine(Root, "LOC_synset_mapping.txt"));
        Assert.Equal(1000, m.Count);
        Assert.Equal(0, m.IndexOf("n01440764"));
        Assert.Equal("tench", m.Name(0));
        Assert.Equal("goldfish", m.Name(1));
        Assert.False(m.TryIndexOf("n99999999", out _));
        var e = Assert.Throws<DatasetException>(() => m.IndexOf("n99999999"));
        Assert.Contains("n99999999", e.Message);
        Assert.Contains("LOC_synset_mapping.txt", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Wnid(1000));
    }
}
