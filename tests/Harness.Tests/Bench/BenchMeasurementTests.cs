using Harness.Bench;

namespace Harness.Tests.Bench;

/// <summary>Several rounds of one cell reduce to the median round (hand-computed figures).</summary>
public sealed class BenchMeasurementTests
{
    [Fact]
    public void TheMedianRoundIsReportedWithEveryRoundsIterationsAndTheHighestPeak()
    {
        var rounds = new[]
        {
            new BenchMeasurement(10, 3.2, 3, 700),
            new BenchMeasurement(30, 1.1, 3, 900, PeakIsSinceStart: true),
            new BenchMeasurement(20, 1.6, 2, null),
        };
        var median = BenchMeasurement.MedianOf(rounds)!;
        Assert.Equal(20, median.ImagesPerSecond);
        Assert.Equal(1.6, median.MedianSeconds);
        Assert.Equal(8, median.Iterations);
        Assert.Equal(900, median.PeakRssBytes);
        Assert.True(median.PeakIsSinceStart);
        Assert.Null(median.PeakCudaBytes);
    }

    [Fact]
    public void AnEvenCountTakesTheMeanOfTheMiddleTwoAndOneRoundIsItself()
    {
        var two = BenchMeasurement.MedianOf(new[] { new BenchMeasurement(10, 3.2, 3, 700), new BenchMeasurement(30, 1.0, 3, 800) })!;
        Assert.Equal(20, two.ImagesPerSecond);
        Assert.Equal(2.1, two.MedianSeconds, 12);
        var one = new BenchMeasurement(12, 2.5, 3, 600);
        Assert.Same(one, BenchMeasurement.MedianOf(new[] { one }));
        Assert.Null(BenchMeasurement.MedianOf(Array.Empty<BenchMeasurement>()));
    }
}
