using Harness.Metrics.Sanity;
using Harness.Attribution;
using Harness.Attribution.MipIn;
using Harness.Metrics;

namespace Harness.Tests.Metrics;

/// <summary>Both metric kinds in one registry: names, defaults, kinds, applicability and the zero-map count.</summary>
public sealed class MetricRegistryTests
{
    [Fact]
    public void NamesKindsAndDefaults()
    {
        Assert.Equal(new[] { "bbox_accuracy", "pointing_game", "energy_pointing_game", "localization_accuracy", "class_sensitivity", "completeness", "minimality",
                "deletion_auc", "insertion_auc", "mprt_ssim", "mprt_spearman" },
            MetricRegistry.Names);
        Assert.Equal(new[] { "bbox_accuracy", "pointing_game", "energy_pointing_game", "localization_accuracy", "class_sensitivity" }, MetricRegistry.DefaultNames);
        foreach (var name in new[] { "class_sensitivity", "completeness", "minimality", "deletion_auc", "insertion_auc", "mprt_ssim", "mprt_spearman" })
        {
            Assert.True(MetricRegistry.IsModelMetric(name));
            Assert.Equal(name, MetricRegistry.CreateModelMetric(name).Name);
            Assert.Throws<ArgumentException>(() => MetricRegistry.CreateLocalization(name));
        }
        Assert.False(MetricRegistry.IsModelMetric("pointing_game"));
        Assert.Throws<ArgumentException>(() => MetricRegistry.CreateModelMetric("pointing_game"));
        var unknown = Assert.Throws<ArgumentException>(() => MetricRegistry.Create("deletion_score")).Message;
        foreach (var name in MetricRegistry.Names) Assert.Contains(name, unknown);
    }

    [Fact]
    public void SanityMetricOptionsAreReadAndChecked()
    {
        var deletion = (DeletionAuc)MetricRegistry.Create("deletion_auc");
        Assert.Equal((PerturbationBaseline.Mean, 1568), (deletion.Baseline, deletion.Step));
        var insertion = (InsertionAuc)MetricRegistry.Create("insertion_auc", new Dictionary<string, string> { ["baseline"] = "mean", ["step"] = "224" });
        Assert.Equal((PerturbationBaseline.Mean, 224), (insertion.Baseline, insertion.Step));
        Assert.Equal(PerturbationBaseline.Blur, ((InsertionAuc)MetricRegistry.Create("insertion_auc")).Baseline);
        Assert.Equal(3, ((MprtSsim)MetricRegistry.Create("mprt_ssim", new Dictionary<string, string> { ["layers"] = "3" })).Layers);
        var bad = Assert.Throws<ArgumentException>(() => MetricRegistry.Create("deletion_auc", new Dictionary<string, string> { ["baseline"] = "zeros" })).Message;
        Assert.Contains("blur, mean", bad);
        Assert.Throws<ArgumentException>(() => MetricRegistry.Create("mprt_spearman", new Dictionary<string, string> { ["layers"] = "-1" }));
        Assert.Throws<ArgumentException>(() => MetricRegistry.Create("deletion_auc", new Dictionary<string, string> { ["step"] = "0" }));
    }

    [Fact]
    public void SourceSignalMetricsApplyOnlyToSourceSignalMethods()
    {
        Assert.True(typeof(ISourceSignalMethod).IsAssignableFrom(AttributionMethods.MethodType("mipin")));
        Assert.Equal(typeof(MipInMethod), AttributionMethods.MethodType("mipin"));
        foreach (var metric in new[] { "completeness", "minimality" })
        {
            Assert.True(MetricRegistry.AppliesTo(metric, typeof(MipInMethod)));
            foreach (var method in new[] { "gradient", "gradcam", "center", "random", "smoothgrad" })
                Assert.False(MetricRegistry.AppliesTo(metric, AttributionMethods.MethodType(method)), $"{metric} on {method}");
        }
        foreach (var method in AttributionMethods.Names)
        {
            Assert.True(MetricRegistry.AppliesTo("class_sensitivity", AttributionMethods.MethodType(method)));
            Assert.True(MetricRegistry.AppliesTo("bbox_accuracy", AttributionMethods.MethodType(method)));
        }
    }

    [Fact]
    public void OnlyClassSensitivityCountsZeroMaps()
    {
        Assert.Equal(new[] { "class_sensitivity" }, MetricRegistry.Names.Where(MetricRegistry.CountsZeroMaps));
    }
}
