using Harness.Experiments;

namespace Harness.Tests.Experiments;

/// <summary>Specs are validated before any work starts; sweeps expand; overrides apply.</summary>
public sealed class SpecLoaderTests : IDisposable
{
    private readonly TempExperiment _experiment = new();

    public void Dispose() => _experiment.Dispose();

    private string Spec(string body) => _experiment.WriteSpec("spec", body);

    [Fact]
    public void SweepsExpandIntoOneVariantPerValue()
    {
        var spec = SpecLoader.Load(Spec("""
            methods: [gradcam, center]
            method_options:
              gradcam: { layer: [features.17, features.18] }
            """));
        Assert.Equal(new[] { "gradcam[layer=features.17]", "gradcam[layer=features.18]", "center" }, spec.Methods.Select(m => m.Label));
        Assert.Equal("features.17", spec.Methods[0].Layer);
        Assert.Equal(25, spec.ShardSize);
        Assert.Equal(new[] { "cpu" }, spec.Devices);
        Assert.Equal(224, spec.Models[0].Preprocess.CropSize); // from the model card
        Assert.Equal(0.5f, spec.Models[0].Preprocess.Mean[0]);
    }

    [Fact]
    public void AListOfOptionMappingsGivesOneVariantEach()
    {
        var spec = SpecLoader.Load(Spec("""
            methods: [mipin, center]
            method_options:
              mipin:
                - { layer: features.18 }
                - { layer: features.17, complete: [none, target] }
            """));
        Assert.Equal(new[] { "mipin[layer=features.18]", "mipin[complete=none,layer=features.17]", "mipin[complete=target,layer=features.17]", "center" },
            spec.Methods.Select(m => m.Label));
        var twice = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [mipin]\nmethod_options:\n  mipin: [{layer: features.18}, {layer: features.18}]\n"))).Message;
        Assert.Contains("the variant mipin[layer=features.18] is given twice", twice);
        var scalar = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [mipin]\nmethod_options:\n  mipin: features.18\n"))).Message;
        Assert.Contains("must be a mapping of options, or a list of such mappings", scalar);
    }

    [Fact]
    public void OverridesReplaceValuesListsAndListItems()
    {
        var spec = SpecLoader.Load(Spec("methods: [gradcam]\n"),
            new[] { "methods=[center,random]", "dataset.limit=7", "shard_size=3", "models.0.crop=200" });
        Assert.Equal(new[] { "center", "random" }, spec.Methods.Select(m => m.Name));
        Assert.Equal(7, spec.DatasetLimit);
        Assert.Equal(3, spec.ShardSize);
        Assert.Equal(200, spec.Models[0].Preprocess.CropSize);
        var e = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [gradcam]\n"), new[] { "models.3.crop=1" }));
        Assert.Contains("not an item of the list", e.Message);
    }

    [Fact]
    public void ReportReferenceMethodMustBeAListedMethod()
    {
        Assert.Equal("gradcam", SpecLoader.Load(Spec("methods: [gradcam, center]\n")).ReferenceMethod);
        Assert.Equal("center", SpecLoader.Load(Spec("methods: [gradcam, center]\nreport: { reference_method: center }\n")).ReferenceMethod);
        var e = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [gradcam, center]\nreport: { reference_method: mipin }\n")));
        Assert.Contains("report.reference_method 'mipin' is not among the methods (gradcam, center)", e.Message);
    }

    [Fact]
    public void TypoInAKeyNamesTheLineAndSuggestsTheKey()
    {
        var path = Spec("methdos: [gradcam]\n");
        var e = Assert.Throws<SpecException>(() => SpecLoader.Load(path));
        Assert.Contains($"{path}:8:", e.Message);
        Assert.Contains("unknown key 'methdos'", e.Message);
        Assert.Contains("did you mean 'methods'?", e.Message);
    }

    [Fact]
    public void UnknownMethodMetricLayerAndBadValuesAreRejectedWithChoices()
    {
        Assert.Contains("did you mean 'gradcam'?", Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [gradcma]\n"))).Message);
        Assert.Contains("valid: bbox_accuracy", Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [center]\nmetrics: [iou]\n"))).Message);
        var layer = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [gradcam]\nmethod_options:\n  gradcam: { layer: features.99 }\n"))).Message;
        Assert.Contains("features.99", layer);
        Assert.Contains("Valid layers", layer);
        Assert.Contains("must be an integer ≥ 1", Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [center]\nshard_size: zero\n"))).Message);
        var optimizer = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [mipin]\nmethod_options:\n  mipin: { optimizer: sgd }\n"))).Message;
        Assert.Contains("optimizer", optimizer);
        Assert.Contains("adam", optimizer);
        Assert.Contains("gpu0", Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [center]\ndevices: [gpu0]\n"))).Message);
    }

    [Fact]
    public void MemoryFormatIsOptionalAndCheckedAgainstTheValidLayouts()
    {
        Assert.Null(SpecLoader.Load(Spec("methods: [center]\n")).Models[0].MemoryFormat);
        var spec = SpecLoader.Load(Spec("methods: [center]\n"), new[] { "models.0.memory_format=contiguous" });
        Assert.Equal(Harness.Torch.MemoryFormat.Contiguous, spec.Models[0].MemoryFormat);
        var e = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [center]\n"), new[] { "models.0.memory_format=channel_last" })).Message;
        Assert.Contains("unknown memory_format 'channel_last'", e);
        Assert.Contains("did you mean 'channels_last'?", e);
    }

    [Fact]
    public void MissingFilesAreNamed()
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Load(Spec("methods: [center]\n"), new[] { "dataset.root=/no/such/folder" }));
        Assert.Contains("/no/such/folder", e.Message);
        Assert.Contains("does not exist", e.Message);
        Assert.Contains("not found", Assert.Throws<SpecException>(() => SpecLoader.Load("/no/such/spec.yaml")).Message);
    }

    [Fact]
    public void ShippedConfigsParse()
    {
        // The paper configs point at data that is not shipped; everything else in them must be valid.
        var quickstart = SpecLoader.Load(TestPaths.Repo("configs", "quickstart.yaml"),
            new[] { $"dataset.root={TestPaths.Repo("data", "imagenet-val-sample")}", $"models.0.weights={TestPaths.Repo("data", "models", "mobilenet_v2_coral.pth")}" });
        Assert.Equal(5, quickstart.Methods.Count);
        foreach (var name in new[] { "paper-vgg19", "paper-resnet50", "layer-sweep-vgg19" })
        {
            var e = Assert.Throws<SpecException>(() => SpecLoader.Load(TestPaths.Repo("configs", name + ".yaml")));
            Assert.Contains("does not exist", e.Message); // the first problem is the missing weights file, not a spec error
        }
    }
}

/// <summary>Leaderboard statistics on hand-computed rows.</summary>
public sealed class LeaderboardTests
{
    [Fact]
    public void MeanStdConfidenceIntervalAndSkipsByHand()
    {
        ImageRow Row(string method, double? v, string skipped = "") =>
            new("m", method, "-", Guid.NewGuid().ToString(), 1, new Dictionary<string, double?> { ["pointing_game"] = v }, skipped, 0);
        var rows = new[] { Row("gradcam", 1), Row("gradcam", 0), Row("gradcam", 1), Row("gradcam", 1), Row("gradcam", null, "pointing_game:no_boxes") };
        // Completeness does not apply to Grad-CAM (no source signal), so it gets no line.
        var applicability = new MetricApplicability(new[] { new MethodSpec("gradcam", new Dictionary<string, string>()) });
        var line = Leaderboard.Compute(rows, new[] { "pointing_game", "completeness" }, applicability).Single();
        // mean 3/4; sample variance ((1/4)²·3 + (3/4)²)/3 = 0.25; std 0.5; CI 0.75 ± 1.96·0.5/2 = 0.75 ± 0.49
        Assert.Equal(0.75, line.Mean, 12);
        Assert.Equal(0.5, line.Std, 12);
        Assert.Equal(0.26, line.Ci95Low, 12);
        Assert.Equal(1.24, line.Ci95High, 12);
        Assert.Equal(4, line.N);
        Assert.Equal(1, line.Skipped);
        Assert.Equal("m,gradcam,-,pointing_game,0.750000,0.500000,0.260000,1.240000,4,1,0\n", Leaderboard.ToCsv(new[] { line }).Split('\n', 2)[1]);
    }
}
