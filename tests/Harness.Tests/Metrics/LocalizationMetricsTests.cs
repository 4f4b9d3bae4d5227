using Harness.Metrics;

namespace Harness.Tests.Metrics;

/// <summary>The metric registry: names, defaults, options and errors.</summary>
public sealed class LocalizationMetricsTests
{
    [Fact]
    public void DefaultsAreTheFourLocalizationMetrics()
    {
        string[] names = ["bbox_accuracy", "pointing_game", "energy_pointing_game", "localization_accuracy"];
        Assert.Equal(names, MetricRegistry.LocalizationNames);
        Assert.Equal(names, MetricRegistry.LocalizationDefaults.Select(m => m.Name));
        foreach (var name in names) Assert.Equal(name, MetricRegistry.CreateLocalization(name).Name);
    }

    [Fact]
    public void OptionsAreParsed()
    {
        var bbox = Assert.IsType<BoundingBoxAccuracy>(MetricRegistry.CreateLocalization("bbox_accuracy", new Dictionary<string, string> { ["max_box_fraction"] = "0.5" }));
        Assert.Equal(0.5, bbox.MaxBoxFraction);
        var pointing = Assert.IsType<PointingGame>(MetricRegistry.CreateLocalization("pointing_game", new Dictionary<string, string> { ["tolerance"] = " 7.5 " }));
        Assert.Equal(7.5, pointing.ToleranceOriginalPixels);
        var loc = Assert.IsType<LocalizationAccuracy>(MetricRegistry.CreateLocalization("localization_accuracy",
            new Dictionary<string, string> { ["threshold"] = "0.2", ["iou"] = "0.7" }));
        Assert.Equal((0.2, 0.7), (loc.Threshold, loc.IoUThreshold));
        var defaults = Assert.IsType<LocalizationAccuracy>(MetricRegistry.CreateLocalization("localization_accuracy"));
        Assert.Equal((0.15, 0.5), (defaults.Threshold, defaults.IoUThreshold));
        Assert.Equal(0.33, Assert.IsType<BoundingBoxAccuracy>(MetricRegistry.CreateLocalization("bbox_accuracy")).MaxBoxFraction);
        Assert.Equal(15.0, Assert.IsType<PointingGame>(MetricRegistry.CreateLocalization("pointing_game")).ToleranceOriginalPixels);
    }

    [Fact]
    public void UnknownNamesListTheValidOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => MetricRegistry.CreateLocalization("pointing"));
        foreach (var name in MetricRegistry.LocalizationNames) Assert.Contains(name, e.Message);
    }

    [Fact]
    public void UnknownOptionsListTheValidOnes()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            MetricRegistry.CreateLocalization("localization_accuracy", new Dictionary<string, string> { ["thresh"] = "0.2" }));
        Assert.Contains("thresh", e.Message);
        Assert.Contains("threshold, iou", e.Message);
        var none = Assert.Throws<ArgumentException>(() =>
            MetricRegistry.CreateLocalization("energy_pointing_game", new Dictionary<string, string> { ["x"] = "1" }));
        Assert.Contains("no options", none.Message);
    }

    [Theory]
    [InlineData("bbox_accuracy", "max_box_fraction", "0")]
    [InlineData("bbox_accuracy", "max_box_fraction", "1.5")]
    [InlineData("pointing_game", "tolerance", "-1")]
    [InlineData("pointing_game", "tolerance", "far")]
    [InlineData("localization_accuracy", "threshold", "2")]
    [InlineData("localization_accuracy", "iou", "0")]
    public void InvalidValuesAreRejected(string name, string key, string value)
    {
        var e = Assert.Throws<ArgumentException>(() => MetricRegistry.CreateLocalization(name, new Dictionary<string, string> { [key] = value }));
        Assert.Contains(key, e.Message);
    }
}
