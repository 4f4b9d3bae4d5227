using Harness.Metrics;

namespace Harness.Tests.Metrics;

/// <summary>class_sensitivity: the normalised distance between two maps and the seeded draw of two classes.</summary>
public sealed class ClassSensitivityTests
{
    [Fact]
    public void IdenticalMapsAreAtDistanceZero()
    {
        float[] a = [0.5f, 2f, 0f, 7f];
        Assert.Equal(0.0, ClassSensitivity.Distance(a, (float[])a.Clone()));
    }

    [Fact]
    public void DisjointNonNegativeMapsAreAtRootTwo()
    {
        // [3, 4, 0, 0] / 5 = [0.6, 0.8, 0, 0] and [0, 0, 1, 0]: squared distance 0.36 + 0.64 + 1 = 2.
        Assert.Equal(Math.Sqrt(2), ClassSensitivity.Distance([3f, 4f, 0f, 0f], [0f, 0f, 2.5f, 0f]), 12);
    }

    [Fact]
    public void ZeroMapAgainstNonZeroIsAtOne()
    {
        // The zero map stays zero (its norm is floored at 1e-12); the other has unit norm.
        Assert.Equal(1.0, ClassSensitivity.Distance([0f, 0f, 0f], [0f, 5f, 0f]));
        Assert.Equal(1.0, ClassSensitivity.Distance([1f, 1f, 1f, 1f], [0f, 0f, 0f, 0f]), 15); // [½, ½, ½, ½] has norm 1
        Assert.Equal(0.0, ClassSensitivity.Distance([0f, 0f], [0f, 0f]));
    }

    [Fact]
    public void DistanceIsScaleInvariant()
    {
        // a = [1, 0] and b = [1, 1]: b̂ = [1/√2, 1/√2], squared distance (1 − 1/√2)² + ½ = 2 − √2.
        var expected = Math.Sqrt(2 - Math.Sqrt(2));
        Assert.Equal(expected, ClassSensitivity.Distance([1f, 0f], [1f, 1f]), 12);
        Assert.Equal(expected, ClassSensitivity.Distance([8f, 0f], [0.25f, 0.25f]), 12);
        Assert.Equal(0.0, ClassSensitivity.Distance([1f, 2f, 3f], [4f, 8f, 12f]), 12);
    }

    [Fact]
    public void OnlyThePositivePartCounts()
    {
        // max([1, −3], 0) = [1, 0] equals [2, 0] up to scale.
        Assert.Equal(0.0, ClassSensitivity.Distance([1f, -3f], [2f, 0f]), 12);
        // A map with only negative values is a zero map.
        Assert.Equal(1.0, ClassSensitivity.Distance([-1f, -2f], [0f, 3f]));
    }

    [Fact]
    public void IsZeroLooksAtThePositivePart()
    {
        Assert.True(ClassSensitivity.IsZero([0f, 0f, -0f]));
        Assert.True(ClassSensitivity.IsZero([-1f, -5f]));
        Assert.False(ClassSensitivity.IsZero([0f, 1e-30f]));
        Assert.False(ClassSensitivity.IsZero([float.NaN]));
    }

    [Fact]
    public void MapsOfDifferentSizesAreRejected() =>
        Assert.Throws<ArgumentException>(() => ClassSensitivity.Distance([1f, 2f], [1f]));

    [Fact]
    public void DrawnClassesAreDistinctAndInRange()
    {
        for (var k = 0; k < 2000; k++)
        {
            var (a, b) = ClassSensitivity.DrawClasses(7, $"img{k}", 5);
            Assert.NotEqual(a, b);
            Assert.InRange(a, 0, 4);
            Assert.InRange(b, 0, 4);
        }
        // Two classes: always 0 and 1, in either order.
        for (var k = 0; k < 100; k++)
        {
            var (a, b) = ClassSensitivity.DrawClasses(0, $"img{k}", 2);
            Assert.Equal(1, a + b);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassSensitivity.DrawClasses(0, "x", 1));
    }

    [Fact]
    public void DrawIsAFunctionOfSeedAndIdOnly()
    {
        // Pinned values of the documented algorithm, cross-checked with an independent Python implementation
        // (hashlib.sha256 → first 8 bytes little-endian, XOR the first SplitMix64 output of the seed, then
        // SplitMix64 draws with rejection).
        Assert.Equal((415, 687), ClassSensitivity.DrawClasses(0, "ILSVRC2012_val_00000890", 1000));
        Assert.Equal((160, 487), ClassSensitivity.DrawClasses(1, "ILSVRC2012_val_00000890", 1000));
        Assert.Equal((238, 707), ClassSensitivity.DrawClasses(0, "ILSVRC2012_val_00000947", 1000));
        Assert.Equal((7, 6), ClassSensitivity.DrawClasses(42, "img", 10));
        Assert.Equal((1, 0), ClassSensitivity.DrawClasses(0, "", 2));
        // Repeated calls agree.
        Assert.Equal(ClassSensitivity.DrawClasses(3, "abc", 1000), ClassSensitivity.DrawClasses(3, "abc", 1000));
    }

    [Fact]
    public void DrawsDifferAcrossIdsAndSeeds()
    {
        var byId = Enumerable.Range(0, 100).Select(k => ClassSensitivity.DrawClasses(0, $"ILSVRC2012_val_{k:D8}", 1000)).Distinct().Count();
        Assert.True(byId >= 95, $"only {byId} distinct pairs for 100 ids");
        var bySeed = Enumerable.Range(0, 100).Select(s => ClassSensitivity.DrawClasses((ulong)s, "ILSVRC2012_val_00000001", 1000)).Distinct().Count();
        Assert.True(bySeed >= 95, $"only {bySeed} distinct pairs for 100 seeds");
    }

    [Fact]
    public void OrderedPairsAreDrawnUniformly()
    {
        // 3 classes → 6 ordered pairs; 6000 ids → 1000 each expected (σ ≈ 29), so ±150 is over 5σ.
        var counts = new Dictionary<(int, int), int>();
        for (var k = 0; k < 6000; k++)
        {
            var pair = ClassSensitivity.DrawClasses(11, $"img{k}", 3);
            counts[pair] = counts.GetValueOrDefault(pair) + 1;
        }
        Assert.Equal(6, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 850, 1150));
    }
}
