using Harness.Data;
using Harness.Experiments;
using Harness.Metrics;
using Harness.Models;

namespace Harness.Tests.Experiments;

/// <summary>
/// <c>metric_options</c> and <c>training</c> in a spec: validated like method options (file:line, valid names,
/// did-you-mean) and applied when shards are scored.
/// </summary>
public sealed class MetricOptionsTests : IDisposable
{
    private readonly TempExperiment _experiment = new();

    public void Dispose() => _experiment.Dispose();

    private string Spec(string body) => _experiment.WriteSpec("spec", body);

    [Fact]
    public void MetricOptionsAreReadForListedMetrics()
    {
        var spec = SpecLoader.Load(Spec("""
            methods: [center]
            metrics: [bbox_accuracy, pointing_game]
            metric_options:
              bbox_accuracy: { max_box_fraction: 0.5 }
            """));
        Assert.Equal("0.5", spec.OptionsOf("bbox_accuracy")!["max_box_fraction"]);
        Assert.Null(spec.OptionsOf("pointing_game"));
        var bbox = Assert.IsType<BoundingBoxAccuracy>(MetricRegistry.CreateLocalization("bbox_accuracy", spec.OptionsOf("bbox_accuracy")));
        Assert.Equal(0.5, bbox.MaxBoxFraction);
    }

    [Fact]
    public void BadMetricOptionsNameTheLineAndTheValidChoices()
    {
        var path = Spec("methods: [center]\nmetrics: [bbox_accuracy]\nmetric_options:\n  bbox_accuracy: { max_box_frac: 0.5 }\n");
        var unknown = Assert.Throws<SpecException>(() => SpecLoader.Load(path)).Message;
        Assert.Contains($"{path}:11:", unknown); // the line of the option mapping (7 header lines + 4)
        Assert.Contains("unknown option max_box_frac", unknown);
        Assert.Contains("valid options: max_box_fraction", unknown);

        var value = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [center]\nmetrics: [bbox_accuracy]\nmetric_options:\n  bbox_accuracy: { max_box_fraction: 2 }\n"))).Message;
        Assert.Contains("max_box_fraction='2' is not valid", value);

        var notListed = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [center]\nmetrics: [bbox_accuracy]\nmetric_options:\n  pointing_game: { tolerance: 5 }\n"))).Message;
        Assert.Contains("'pointing_game' is not in 'metrics'", notListed);
        Assert.Contains("add it to 'metrics'", notListed);

        var typo = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [center]\nmetrics: [pointing_game]\nmetric_options:\n  pointing_gme: { tolerance: 5 }\n"))).Message;
        Assert.Contains("did you mean 'pointing_game'?", typo);

        var noOptions = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [center]\nmetrics: [class_sensitivity]\nmetric_options:\n  class_sensitivity: { seed: 5 }\n"))).Message;
        Assert.Contains("it takes no options", noOptions);

        var sweep = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [center]\nmetrics: [pointing_game]\nmetric_options:\n  pointing_game: { tolerance: [5, 10] }\n"))).Message;
        Assert.Contains("must be one value (sweeps are for method options)", sweep);
    }

    [Fact]
    public void TrainingImagesComeFromTrainingOrTheLegacyMipInKey()
    {
        Assert.Equal(100, SpecLoader.Load(Spec("methods: [center]\n")).TrainImages);
        Assert.Equal(5, SpecLoader.Load(Spec("methods: [mipin]\ntraining: { images: 5 }\n")).TrainImages);
        Assert.Equal(7, SpecLoader.Load(Spec("methods: [mipin]\nmipin: { train_images: 7 }\n")).TrainImages);
        var disagree = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [mipin]\ntraining: { images: 5 }\nmipin: { train_images: 7 }\n"))).Message;
        Assert.Contains("disagree", disagree);
        var typo = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [mipin]\ntraining: { imgs: 5 }\n"))).Message;
        Assert.Contains("did you mean 'images'?", typo);
    }

    [Fact]
    public void TheScorerAppliesMetricOptions()
    {
        // On the shipped sample most boxes cover more than 33% of the crop: with the IBA default those images are
        // skipped as box_too_large; with max_box_fraction 1 none is. The same 8 images, the centre baseline.
        int TooLarge(string? fraction)
        {
            var options = fraction is null ? "" : $"metric_options:\n  bbox_accuracy: {{ max_box_fraction: {fraction} }}\n";
            var spec = SpecLoader.Load(Spec($"methods: [center]\nmetrics: [bbox_accuracy]\n{options}"));
            var data = new ExperimentData(spec);
            using var model = ModelZoo.Load(spec.Models[0].Architecture, spec.Models[0].Weights);
            var rows = new ShardScorer(spec, spec.Models[0], model, training: null).Score(data.Scored.Take(8).ToList());
            Assert.Equal(8, rows.Count);
            Assert.All(rows.Where(r => r.Skipped.Length == 0), r => Assert.NotNull(r.Values["bbox_accuracy"]));
            return rows.Count(r => r.Skipped == "bbox_accuracy:box_too_large");
        }
        Assert.True(TooLarge(null) > 0, "the default should skip some of the first 8 sample images");
        Assert.Equal(0, TooLarge("1"));
    }
}
