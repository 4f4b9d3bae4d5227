using System.Text.Json;
using Harness.Data;
using Harness.Experiments;
using Xunit.Abstractions;

namespace Harness.Tests.Experiments;

/// <summary>
/// The experiment pipeline (spec → grains → embedded silo → CSV) scores Grad-CAM on the shipped sample exactly like
/// the independent PyTorch implementation in tools/reference/gradcam_localization.py (golden JSON), and Grad-CAM
/// beats the random baseline.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class GradCamReferenceTests(ITestOutputHelper output)
{
    [Fact]
    public void BoundingBoxAccuracyAndPointingGameMatchPyTorchReference()
    {
        using var experiment = new TempExperiment();
        var spec = experiment.WriteSpec("gradcam-reference", """
            methods: [gradcam, random]
            method_options:
              gradcam: { layer: features.18 }
            metrics: [bbox_accuracy, pointing_game]
            shard_size: 50
            batch_size: 25
            """);
        TempExperiment.Run(spec);

        var results = Path.Combine(experiment.Directory, "results", "gradcam-reference");
        var board = CsvTable.Read(Path.Combine(results, "leaderboard.csv"));
        double Mean(string method, string metric) =>
            double.Parse(board.Rows.Single(r => r[1] == method && r[3] == metric)[4], System.Globalization.CultureInfo.InvariantCulture);

        using var golden = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("Golden", "gradcam_localization.json")));
        var summary = golden.RootElement.GetProperty("summary").GetProperty("gradcam");
        var refBbox = summary.GetProperty("bbox_accuracy").GetProperty("mean").GetDouble();
        var refPointing = summary.GetProperty("pointing_game").GetProperty("mean").GetDouble();
        var gradcam = "gradcam[layer=features.18]";
        output.WriteLine($"bbox_accuracy: ours {Mean(gradcam, "bbox_accuracy"):F4}, PyTorch {refBbox:F4}; pointing_game: ours {Mean(gradcam, "pointing_game"):F4}, PyTorch {refPointing:F4}");
        output.WriteLine($"random: bbox {Mean("random", "bbox_accuracy"):F4}, pointing {Mean("random", "pointing_game"):F4}");
        Assert.InRange(Mean(gradcam, "bbox_accuracy") - refBbox, -0.01, 0.01);
        Assert.InRange(Mean(gradcam, "pointing_game") - refPointing, -0.01, 0.01);
        Assert.True(Mean(gradcam, "bbox_accuracy") > Mean("random", "bbox_accuracy"));
        Assert.True(Mean(gradcam, "pointing_game") > Mean("random", "pointing_game"));

        // The same 139 images are skipped (box over 33% of the input) as in the reference.
        var skipped = board.Rows.Single(r => r[1] == gradcam && r[3] == "bbox_accuracy")[9];
        Assert.Equal(summary.GetProperty("bbox_accuracy").GetProperty("skipped").GetInt32().ToString(), skipped);

        // Per image, pointing-game hits agree.
        var rows = ImageRow.Read(Path.Combine(results, "images.csv"), new[] { "bbox_accuracy", "pointing_game" })
            .Where(r => r.Method == gradcam).ToDictionary(r => r.ImageId);
        var agree = 0;
        var perImage = golden.RootElement.GetProperty("per_image").EnumerateArray().ToList();
        foreach (var image in perImage)
            if (rows[image.GetProperty("id").GetString()!].Values["pointing_game"] == image.GetProperty("pointing_game").GetDouble()) agree++;
        output.WriteLine($"pointing game agrees on {agree}/{perImage.Count} images");
        Assert.True(agree >= perImage.Count - 2, $"pointing game agrees on only {agree}/{perImage.Count} images");
    }
}
