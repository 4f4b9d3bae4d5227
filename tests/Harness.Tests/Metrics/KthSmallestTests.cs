using Harness.Metrics;

namespace Harness.Tests.Metrics;

/// <summary><see cref="Ranking.KthSmallest"/> against the element a full <c>Array.Sort</c> puts at index k.</summary>
public sealed class KthSmallestTests
{
    [Theory]
    [InlineData(1, 0)]        // one value
    [InlineData(7, 0)]        // tiny, all distinct
    [InlineData(64, 3)]       // few distinct values: long runs of ties
    [InlineData(50176, 50)]   // a 224×224 map whose positive part is mostly zero, as bbox_accuracy sees it
    [InlineData(50176, 0)]
    public void EqualsTheSortedElement(int length, int distinctLevels)
    {
        var random = new Random(length * 31 + distinctLevels);
        var values = Enumerable.Range(0, length).Select(_ =>
            distinctLevels == 0 ? random.NextDouble() : random.Next(distinctLevels) < distinctLevels * 2 / 3 ? 0.0 : random.Next(distinctLevels) / 7.0).ToArray();
        var sorted = values.OrderBy(v => v).ToArray();
        var ks = length <= 64 ? Enumerable.Range(0, length) : new[] { 0, 1, length / 3, length / 2, length - 4000, length - 1 };
        foreach (var k in ks) Assert.Equal(sorted[k], Ranking.KthSmallest((double[])values.Clone(), k));
    }

    [Fact]
    public void RejectsAnIndexOutsideTheArray()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Ranking.KthSmallest(new[] { 1.0, 2.0 }, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ranking.KthSmallest(new[] { 1.0 }, -1));
    }
}
