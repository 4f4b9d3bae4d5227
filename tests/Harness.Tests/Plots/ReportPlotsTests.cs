using System.Xml.Linq;
using Harness.Experiments;
using Harness.Reports;
using Harness.Reports.Plots;
using SkiaSharp;

namespace Harness.Tests.Plots;

/// <summary>A small synthetic leaderboard and helpers to look at rendered plots by their pixels.</summary>
internal static class PlotFixtures
{
    public const string Vgg = "vgg16@vgg16-397923af";
    public const string ResNet = "resnet50@resnet50-0676ba61";
    public static readonly string[] Layers = { "features.10", "features.17", "features.24" };
    public static readonly string[] Metrics = { "pointing_game", "class_sensitivity" };

    public static LeaderboardRow Row(string model, string method, string layer, string metric, double mean, double half, int n = 50) =>
        new(model, method, layer, metric, mean, half * Math.Sqrt(n) / 1.96, mean - half, mean + half, n, 0, 0);

    /// <summary>2 models × (gradcam and mipin swept over 3 layers, gradient without a layer) × 2 metrics.</summary>
    public static List<LeaderboardRow> SweepBoard()
    {
        var board = new List<LeaderboardRow>();
        foreach (var (model, shift) in new[] { (Vgg, 0.0), (ResNet, 0.05) })
        {
            for (var l = 0; l < Layers.Length; l++)
                foreach (var metric in Metrics)
                {
                    var m = metric == "pointing_game" ? 0 : 0.1;
                    board.Add(Row(model, $"gradcam[layer={Layers[l]}]", Layers[l], metric, 0.45 + 0.15 * l + shift - m, 0.04));
                    board.Add(Row(model, $"mipin[complete=none,layer={Layers[l]}]", Layers[l], metric, 0.7 - 0.1 * l + shift - m, 0.05));
                }
            foreach (var metric in Metrics)
                board.Add(Row(model, "gradient", "-", metric, metric == "pointing_game" ? 0.3 + shift : 0.2, 0.03));
        }
        return board;
    }

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mipin-plots-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Share of pixels that are not (near) white, and the number of distinct colours.</summary>
    public static (double NonWhite, int Colours) Statistics(SKBitmap bitmap)
    {
        var nonWhite = 0;
        var colours = new HashSet<uint>();
        foreach (var p in bitmap.Pixels)
        {
            if (p.Red < 240 || p.Green < 240 || p.Blue < 240) nonWhite++;
            colours.Add((uint)p);
        }
        return ((double)nonWhite / bitmap.Pixels.Length, colours.Count);
    }

    /// <summary>Pixels of exactly <paramref name="colour"/> in each column.</summary>
    public static int[] ColumnCounts(SKBitmap bitmap, SKColor colour)
    {
        var counts = new int[bitmap.Width];
        for (var y = 0; y < bitmap.Height; y++)
            for (var x = 0; x < bitmap.Width; x++)
                if (bitmap.GetPixel(x, y) == colour) counts[x]++;
        return counts;
    }

    /// <summary>The peak of each run of columns that hold the colour (one run per bar).</summary>
    public static List<int> RunPeaks(int[] counts)
    {
        var peaks = new List<int>();
        var inRun = false;
        foreach (var c in counts)
        {
            if (c > 0 && !inRun) { peaks.Add(c); inRun = true; }
            else if (c > 0) peaks[^1] = Math.Max(peaks[^1], c);
            else inRun = false;
        }
        return peaks;
    }

    /// <summary>Runs of <paramref name="colour"/> along the row two pixels above its lowest pixel (the bars' feet).</summary>
    public static int BarsAboveAxis(SKBitmap bitmap, SKColor colour)
    {
        var lowest = -1;
        for (var y = 0; y < bitmap.Height; y++)
            for (var x = 0; x < bitmap.Width; x++)
                if (bitmap.GetPixel(x, y) == colour) lowest = y;
        Assert.True(lowest >= 2, $"no pixel of {colour}");
        var row = Enumerable.Range(0, bitmap.Width).Select(x => bitmap.GetPixel(x, lowest - 2) == colour ? 1 : 0).ToArray();
        return RunPeaks(row).Count;
    }

    public static List<string> SvgTexts(string svgPath)
    {
        var svg = XDocument.Load(svgPath);
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", svg.Root!.Name);
        return svg.Descendants(ns + "text").Select(t => t.Value.Trim()).ToList();
    }
}

public sealed class ReportPlotsTests
{
    private static string Safe(string s) => s.Replace('@', '_');

    [Fact]
    public void WriteAllWritesEveryPlotAsPngAndSvg()
    {
        var dir = PlotFixtures.TempDir();
        try
        {
            var plots = ReportPlots.WriteAll(dir, PlotFixtures.SweepBoard(), PlotFixtures.Metrics);

            var expected = new List<string> { "bar_pointing_game", "bar_class_sensitivity" };
            foreach (var model in new[] { PlotFixtures.Vgg, PlotFixtures.ResNet })
                foreach (var metric in PlotFixtures.Metrics)
                    expected.Add($"layers_{Safe(model)}_{metric}");
            expected.Add($"loc_vs_sens_{Safe(PlotFixtures.Vgg)}");
            expected.Add($"loc_vs_sens_{Safe(PlotFixtures.ResNet)}");

            Assert.Equal(expected, plots.Select(p => Path.GetFileNameWithoutExtension(p.PngPath)));
            Assert.Equal(expected.SelectMany(e => new[] { e + ".png", e + ".svg" }).Order(StringComparer.Ordinal),
                Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            foreach (var plot in plots)
            {
                Assert.Equal(File.ReadAllBytes(plot.PngPath), plot.Png);
                Assert.Equal(Path.ChangeExtension(plot.PngPath, ".svg"), plot.SvgPath);
                Assert.False(string.IsNullOrWhiteSpace(plot.Title));
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void EveryPngDecodesAtTheRequestedSizeAndIsNotBlank()
    {
        var dir = PlotFixtures.TempDir();
        try
        {
            foreach (var plot in ReportPlots.WriteAll(dir, PlotFixtures.SweepBoard(), PlotFixtures.Metrics))
            {
                using var bitmap = SKBitmap.Decode(plot.Png);
                Assert.NotNull(bitmap);
                Assert.Equal((800, 450), (bitmap.Width, bitmap.Height));
                var (nonWhite, colours) = PlotFixtures.Statistics(bitmap);
                Assert.True(nonWhite > 0.03, $"{Path.GetFileName(plot.PngPath)}: only {nonWhite:P1} of the pixels are not white");
                Assert.True(colours >= 50, $"{Path.GetFileName(plot.PngPath)}: only {colours} distinct colours");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void SvgsParseAndCarryTheLabelsAsText()
    {
        var dir = PlotFixtures.TempDir();
        try
        {
            var plots = ReportPlots.WriteAll(dir, PlotFixtures.SweepBoard(), PlotFixtures.Metrics);
            var byName = plots.ToDictionary(p => Path.GetFileNameWithoutExtension(p.SvgPath), p => PlotFixtures.SvgTexts(p.SvgPath));

            // Bar chart: every method variant under its group, both models in the legend, the direction on the value axis.
            var bar = byName["bar_pointing_game"];
            foreach (var layer in PlotFixtures.Layers)
            {
                Assert.Contains($"gradcam[layer={layer}]", bar);
                Assert.Contains($"mipin[complete=none,layer={layer}]", bar);
            }
            Assert.Contains("gradient", bar);
            Assert.Contains(PlotFixtures.Vgg, bar);
            Assert.Contains(PlotFixtures.ResNet, bar);
            Assert.Contains("mean (↑ higher is better)", bar);
            Assert.Contains("pointing_game: mean and 95% CI", bar);

            // Layer chart: layers on x, one line per method without its layer option, the layer-less method as baseline.
            var layers = byName[$"layers_{Safe(PlotFixtures.Vgg)}_class_sensitivity"];
            Assert.All(PlotFixtures.Layers, l => Assert.Contains(l, layers));
            Assert.Contains("gradcam", layers);
            Assert.Contains("mipin[complete=none]", layers);
            Assert.Contains("gradient", layers);

            var scatter = byName[$"loc_vs_sens_{Safe(PlotFixtures.ResNet)}"];
            Assert.Contains("mipin[complete=none,layer=features.24]", scatter);
            Assert.Contains("class_sensitivity (↑ higher is better)", scatter);
            Assert.Contains("pointing_game (↑ higher is better)", scatter);

            // Text is set in the bundled family.
            foreach (var plot in plots)
            {
                var families = XDocument.Load(plot.SvgPath).Descendants().Select(e => (string?)e.Attribute("font-family")).OfType<string>().Distinct().ToList();
                Assert.Equal(new[] { ReportFonts.FamilyName }, families);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void TheSameBoardGivesTheSameFiles()
    {
        var (a, b) = (PlotFixtures.TempDir(), PlotFixtures.TempDir());
        try
        {
            var first = ReportPlots.WriteAll(a, PlotFixtures.SweepBoard(), PlotFixtures.Metrics);
            var second = ReportPlots.WriteAll(b, PlotFixtures.SweepBoard(), PlotFixtures.Metrics);
            Assert.Equal(first.Count, second.Count);
            for (var i = 0; i < first.Count; i++)
            {
                Assert.Equal(first[i].Png, second[i].Png);
                Assert.Equal(File.ReadAllText(first[i].SvgPath), File.ReadAllText(second[i].SvgPath));
            }
            Assert.Contains("id=\"cl_1\"", File.ReadAllText(second[0].SvgPath));
        }
        finally
        {
            Directory.Delete(a, recursive: true);
            Directory.Delete(b, recursive: true);
        }
    }

    [Fact]
    public void PlotsOfAnEarlierRunThatAreNoLongerMadeAreRemoved()
    {
        var dir = PlotFixtures.TempDir();
        try
        {
            File.WriteAllText(Path.Combine(dir, "bar_insertion_auc.png"), "old");
            File.WriteAllText(Path.Combine(dir, "layers_old_model_pointing_game.svg"), "old");
            File.WriteAllText(Path.Combine(dir, "grid_cat.png"), "not ours");
            ReportPlots.WriteAll(dir, PlotFixtures.SweepBoard(), PlotFixtures.Metrics);
            Assert.False(File.Exists(Path.Combine(dir, "bar_insertion_auc.png")));
            Assert.False(File.Exists(Path.Combine(dir, "layers_old_model_pointing_game.svg")));
            Assert.True(File.Exists(Path.Combine(dir, "grid_cat.png")));
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void UnsafeAndCollidingNamesAreMadeSafeAndDistinct()
    {
        var dir = PlotFixtures.TempDir();
        try
        {
            var board = new List<LeaderboardRow>
            {
                PlotFixtures.Row("a/b", "gradcam", "-", "pointing_game", 0.5, 0.1),
                PlotFixtures.Row("a/b", "gradcam", "-", "class_sensitivity", 0.5, 0.1),
                PlotFixtures.Row("a:b", "gradcam", "-", "pointing_game", 0.4, 0.1),
                PlotFixtures.Row("a:b", "gradcam", "-", "class_sensitivity", 0.4, 0.1),
            };
            var names = ReportPlots.WriteAll(dir, board, PlotFixtures.Metrics).Select(p => Path.GetFileName(p.PngPath)).ToList();
            Assert.Contains("loc_vs_sens_a_b.png", names);
            Assert.Contains("loc_vs_sens_a_b-2.png", names);
            Assert.All(names, n => Assert.Matches("^[A-Za-z0-9._-]+$", n));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

public sealed class MetricBarChartPlotTests
{
    [Fact]
    public void TallerBarsFillTallerColumns()
    {
        // One model, two methods, no spread: no error bars, just bars of 0.2 and 0.8 in the first palette colour.
        var board = new List<LeaderboardRow>
        {
            PlotFixtures.Row("m", "low", "-", "pointing_game", 0.2, 0),
            PlotFixtures.Row("m", "high", "-", "pointing_game", 0.8, 0),
        };
        using var plot = MetricBarChart.Create(board, "pointing_game");
        using var bitmap = SKBitmap.Decode(plot.GetImageBytes(800, 450, ScottPlot.ImageFormat.Png));
        var barColour = new SKColor(0x1F, 0x77, 0xB4); // tab10 blue
        var peaks = PlotFixtures.RunPeaks(PlotFixtures.ColumnCounts(bitmap, barColour));

        Assert.Equal(2, peaks.Count);
        Assert.True(peaks[1] >= 3 * peaks[0], $"bar heights in pixels: {peaks[0]} and {peaks[1]}");
        Assert.InRange((double)peaks[1] / peaks[0], 3.8, 4.2); // 0.8 / 0.2, bars on the axis
    }

    [Fact]
    public void ModelsGetTheirOwnColourAndMissingValuesNoBar()
    {
        var board = new List<LeaderboardRow>
        {
            PlotFixtures.Row("m1", "a", "-", "deletion_auc", 0.3, 0.05),
            PlotFixtures.Row("m2", "a", "-", "deletion_auc", 0.6, 0.05),
            PlotFixtures.Row("m1", "b", "-", "deletion_auc", double.NaN, double.NaN, n: 0),
            PlotFixtures.Row("m2", "b", "-", "deletion_auc", 0.5, 0.05),
        };
        using var plot = MetricBarChart.Create(board, "deletion_auc");
        using var bitmap = SKBitmap.Decode(plot.GetImageBytes(800, 450, ScottPlot.ImageFormat.Png));
        // Along a row just above the axis, where every bar stands and no legend swatch is: m1 has one bar, m2 two.
        Assert.Equal(1, PlotFixtures.BarsAboveAxis(bitmap, new SKColor(0x1F, 0x77, 0xB4)));
        Assert.Equal(2, PlotFixtures.BarsAboveAxis(bitmap, new SKColor(0xFF, 0x7F, 0x0E)));
        var svg = plot.GetSvgXml(800, 450);
        Assert.Contains("mean (↓ lower is better)", svg);
    }
}

public sealed class LayerLineChartPlotTests
{
    [Fact]
    public void AppliesOnlyWhenAMethodIsSweptOverLayers()
    {
        var board = PlotFixtures.SweepBoard();
        Assert.True(LayerLineChart.Applies(board, PlotFixtures.Vgg));

        // Each variant at one layer (two variants that differ in another option are still no sweep).
        var noSweep = new List<LeaderboardRow>
        {
            PlotFixtures.Row("m", "gradcam[layer=features.17]", "features.17", "pointing_game", 0.5, 0.1),
            PlotFixtures.Row("m", "mipin[complete=none,layer=features.24]", "features.24", "pointing_game", 0.5, 0.1),
            PlotFixtures.Row("m", "mipin[complete=full,layer=features.17]", "features.17", "pointing_game", 0.5, 0.1),
            PlotFixtures.Row("m", "gradient", "-", "pointing_game", 0.5, 0.1),
        };
        Assert.False(LayerLineChart.Applies(noSweep, "m"));
        Assert.Null(LayerLineChart.Create(noSweep, "m", "pointing_game"));
        Assert.False(LayerLineChart.Applies(board, "no such model"));

        var dir = PlotFixtures.TempDir();
        try
        {
            Assert.DoesNotContain(ReportPlots.WriteAll(dir, noSweep, PlotFixtures.Metrics), p => Path.GetFileName(p.PngPath).StartsWith("layers_", StringComparison.Ordinal));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void LinesDropOnlyTheLayerOption()
    {
        Assert.Equal("gradcam", PlotStyle.WithoutOption("gradcam[layer=features.18]", "layer"));
        Assert.Equal("mipin[complete=none]", PlotStyle.WithoutOption("mipin[complete=none,layer=features.17]", "layer"));
        Assert.Equal("mipin[a=1,complete=none]", PlotStyle.WithoutOption("mipin[a=1,layer=x,complete=none]", "layer"));
        Assert.Equal("gradient", PlotStyle.WithoutOption("gradient", "layer"));
    }
}

public sealed class LocalisationVsSensitivityPlotTests
{
    [Fact]
    public void PrefersThePointingGameAndNeedsClassSensitivity()
    {
        var board = PlotFixtures.SweepBoard();
        Assert.Equal("pointing_game", LocalisationVsSensitivity.LocalisationMetric(board, PlotFixtures.Vgg));
        Assert.True(LocalisationVsSensitivity.Applies(board, PlotFixtures.Vgg));

        var boxesOnly = new List<LeaderboardRow>
        {
            PlotFixtures.Row("m", "gradcam", "-", "bbox_accuracy", 0.5, 0.1),
            PlotFixtures.Row("m", "gradcam", "-", "localization_accuracy", 0.4, 0.1),
            PlotFixtures.Row("m", "gradcam", "-", "class_sensitivity", 0.3, 0.1),
        };
        Assert.Equal("localization_accuracy", LocalisationVsSensitivity.LocalisationMetric(boxesOnly, "m"));
        Assert.False(LocalisationVsSensitivity.Applies(boxesOnly.Where(r => r.Metric != "class_sensitivity").ToList(), "m"));
        Assert.Null(LocalisationVsSensitivity.Create(boxesOnly.Take(2).ToList(), "m"));
        using var plot = LocalisationVsSensitivity.Create(boxesOnly, "m");
        Assert.NotNull(plot);
    }
}

public sealed class ReportFontsPlotTests
{
    [Fact]
    public void TheBundledFacesAreDejaVuSans()
    {
        Assert.Equal("DejaVu Sans", ReportFonts.Regular.FamilyName);
        Assert.Equal("DejaVu Sans", ReportFonts.Bold.FamilyName);
        Assert.Equal(ReportFonts.FamilyName, ReportFonts.Regular.FamilyName);
        Assert.True(ReportFonts.Bold.FontStyle.Weight >= (int)SKFontStyleWeight.Bold);
        Assert.True(ReportFonts.Regular.FontStyle.Weight < (int)SKFontStyleWeight.SemiBold);
        Assert.Same(ReportFonts.Regular, ReportFonts.Regular); // loaded once, not per call
        Assert.True(ReportFonts.IsBundled(ReportFonts.Regular));
        Assert.False(ReportFonts.IsBundled(SKTypeface.Default));
        using var font = new SKFont(ReportFonts.Regular, 12);
        Assert.InRange(font.MeasureText("gradcam"), 30, 70); // real glyphs, not an empty face
    }

    [Fact]
    public void ScottPlotDrawsWithTheBundledTypeface()
    {
        using var plot = new ScottPlot.Plot();
        ReportFonts.UseInScottPlot(plot);
        Assert.Equal(ReportFonts.FamilyName, plot.Axes.Title.Label.FontName);
        Assert.Equal(ReportFonts.FamilyName, plot.Axes.Bottom.TickLabelStyle.FontName);
        Assert.Equal(ReportFonts.FamilyName, plot.Legend.FontName);
        Assert.Equal(ReportFonts.FamilyName, ScottPlot.Fonts.Default);
        // What ScottPlot resolves the name to is ours, regular and bold, whatever the system has.
        var regular = ScottPlot.Fonts.GetTypeface(ReportFonts.FamilyName, bold: false, italic: false);
        var bold = ScottPlot.Fonts.GetTypeface(ReportFonts.FamilyName, bold: true, italic: false);
        Assert.True(ReportFonts.IsBundled(regular));
        Assert.True(ReportFonts.IsBundled(bold));
        Assert.True(bold.FontStyle.Weight >= (int)SKFontStyleWeight.Bold);
    }
}
