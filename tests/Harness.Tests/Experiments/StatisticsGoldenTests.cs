using System.Text.Json;
using Harness.Experiments.Statistics;

namespace Harness.Tests.Experiments;

/// <summary>
/// The paired comparisons of comparisons.csv against Debian's scipy 1.10 (Golden/make_golden_statistics.py):
/// Wilcoxon signed-rank statistics and p-values (exact and normal-approximation cases, with zeros and ties), and the
/// seeded bootstrap interval against the same resampling reimplemented in numpy (and, loosely, scipy's own bootstrap).
/// </summary>
public sealed class StatisticsGoldenTests
{
    public static TheoryData<string> Cases => new() { "exact_n20", "pointing_n80", "ties_n30", "approx_n120" };

    private static JsonElement Case(string name) =>
        JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("Golden", "statistics.json"))).RootElement.GetProperty(name);

    [Theory]
    [MemberData(nameof(Cases))]
    public void WilcoxonMatchesScipy(string name)
    {
        var c = Case(name);
        var d = c.GetProperty("differences").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var result = WilcoxonSignedRank.Test(d);
        Assert.Equal(c.GetProperty("exact").GetBoolean(), result.Exact);
        Assert.Equal(c.GetProperty("wilcoxon_statistic").GetDouble(), result.Statistic, 9);
        Assert.Equal(c.GetProperty("p_value").GetDouble(), result.PValue, 12);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BootstrapIntervalMatchesTheReference(string name)
    {
        var c = Case(name);
        var d = c.GetProperty("differences").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var (low, high) = PairedBootstrap.MeanCi95(d, seed: 0);
        Assert.Equal(c.GetProperty("ci95_low").GetDouble(), low, 12);
        Assert.Equal(c.GetProperty("ci95_high").GetDouble(), high, 12);
        // scipy.stats.bootstrap draws other resamples: the same interval up to Monte-Carlo error.
        var width = high - low;
        Assert.InRange(low - c.GetProperty("scipy_bootstrap_low").GetDouble(), -0.05 * width, 0.05 * width);
        Assert.InRange(high - c.GetProperty("scipy_bootstrap_high").GetDouble(), -0.05 * width, 0.05 * width);
    }

    [Fact]
    public void ExactNullDistributionByHand()
    {
        // n = 3, differences 1, 2, −3: W+ = 3, W− = 3; of the 8 sign patterns, W+ ≤ 3 in 5 (0,1,2,3,3) → p = min(1, 2·5/8) = 1.
        Assert.Equal(1.0, WilcoxonSignedRank.Test([1, 2, -3]).PValue, 12);
        // n = 4 all positive: W+ = 10 only for the all-positive pattern: p = 2·(1/16) = 0.125.
        Assert.Equal(0.125, WilcoxonSignedRank.Test([0.5, 1, 2, 3]).PValue, 12);
        Assert.Equal((0, 1.0), (WilcoxonSignedRank.Test([0, 0]).Count, WilcoxonSignedRank.Test([0, 0]).PValue));
    }
}
