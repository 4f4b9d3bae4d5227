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
            new BenchMeasurement(30, 32 / 30.0, 3, 900, PeakIsSinceStart: true),
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
    public void AnEvenCountTakesTheSlowerOfTheMiddleTwoAndOneRoundIsItself()
    {
        // Batch 32: 10 images/s is 3.2 s per iteration, 40 is 0.8 s; the reported pair stays one round's.
        var rounds = new[]
        {
            new BenchMeasurement(40, 0.8, 3, 800), new BenchMeasurement(10, 3.2, 3, 700),
            new BenchMeasurement(16, 2.0, 3, 600), new BenchMeasurement(32, 1.0, 3, 500),
        };
        var four = BenchMeasurement.MedianOf(rounds)!;
        Assert.Equal(16, four.ImagesPerSecond);
        Assert.Equal(2.0, four.MedianSeconds);
        Assert.Equal(12, four.Iterations);
        Assert.Equal(800, four.PeakRssBytes);
        var one = new BenchMeasurement(12, 2.5, 3, 600);
        Assert.Same(one, BenchMeasurement.MedianOf(new[] { one }));
        Assert.Null(BenchMeasurement.MedianOf(Array.Empty<BenchMeasurement>()));
    }
}
