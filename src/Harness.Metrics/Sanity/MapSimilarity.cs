namespace Harness.Metrics.Sanity;

/// <summary>
/// How alike two saliency maps are, as the model-randomisation test compares them (Quantus's MPRT defaults): each
/// map is taken as |m| / max|m| (an all-zero map stays zero), then compared by SSIM or by Spearman's rank
/// correlation. Both are 1 for identical maps; all arithmetic is in doubles in index order, so results reproduce.
/// </summary>
public static class MapSimilarity
{
    /// <summary>SSIM's window side (scikit-image's default).</summary>
    public const int Window = 7;

    /// <summary>|m| / max|m|; zeros when max|m| = 0.</summary>
    public static double[] Normalise(float[] map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var max = 0.0;
        foreach (var v in map) max = Math.Max(max, Math.Abs((double)v));
        var result = new double[map.Length];
        if (max > 0)
            for (var k = 0; k < map.Length; k++) result[k] = Math.Abs((double)map[k]) / max;
        return result;
    }

    /// <summary>
    /// Structural similarity (Wang et al. 2004) as scikit-image's <c>structural_similarity</c> computes it by default:
    /// 7×7 uniform windows, K1 = 0.01, K2 = 0.03, sample covariances (×49/48), data range
    /// R = max(a, b) − min(a, b) over both maps, averaged over the windows that lie inside the image (scikit-image
    /// crops the border its filter padded). 1 when R = 0 (two equal constant maps).
    /// </summary>
    public static double Ssim(double[] a, double[] b, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Length != height * width || b.Length != height * width)
            throw new ArgumentException($"maps of {a.Length} and {b.Length} values are not {height}×{width}");
        if (height < Window || width < Window)
            throw new ArgumentException($"SSIM needs maps of at least {Window}×{Window}, got {height}×{width}");
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        for (var k = 0; k < a.Length; k++)
        {
            lo = Math.Min(lo, Math.Min(a[k], b[k]));
            hi = Math.Max(hi, Math.Max(a[k], b[k]));
        }
        var range = hi - lo;
        if (range == 0) return 1;
        double c1 = 0.01 * range * (0.01 * range), c2 = 0.03 * range * (0.03 * range);
        const double count = Window * Window, covNorm = count / (count - 1);
        // Window sums from 2-D prefix sums of a, b, a², b², ab: O(H·W) instead of O(H·W·49).
        var sa = Prefix(a, a, height, width, (x, _) => x);
        var sb = Prefix(b, b, height, width, (x, _) => x);
        var saa = Prefix(a, a, height, width, (x, y) => x * y);
        var sbb = Prefix(b, b, height, width, (x, y) => x * y);
        var sab = Prefix(a, b, height, width, (x, y) => x * y);
        var total = 0.0;
        for (var i = 0; i + Window <= height; i++)
            for (var j = 0; j + Window <= width; j++)
            {
                double ux = Box(sa, width, i, j) / count, uy = Box(sb, width, i, j) / count;
                double vx = covNorm * (Box(saa, width, i, j) / count - ux * ux);
                double vy = covNorm * (Box(sbb, width, i, j) / count - uy * uy);
                double vxy = covNorm * (Box(sab, width, i, j) / count - ux * uy);
                total += (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
            }
        return total / ((height - Window + 1) * (width - Window + 1));
    }

    /// <summary>
    /// Spearman's rank correlation: the Pearson correlation of the ranks, tied values sharing their average rank
    /// (as scipy's <c>spearmanr</c>). 0 when either map is constant (scipy returns NaN; no order means no correlation).
    /// </summary>
    public static double Spearman(double[] a, double[] b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Length != b.Length) throw new ArgumentException($"maps of {a.Length} and {b.Length} values cannot be compared");
        double[] ra = Ranking.Average(a), rb = Ranking.Average(b);
        double ma = ra.Average(), mb = rb.Average();
        double sab = 0, saa = 0, sbb = 0;
        for (var k = 0; k < a.Length; k++)
        {
            double da = ra[k] - ma, db = rb[k] - mb;
            sab += da * db;
            saa += da * da;
            sbb += db * db;
        }
        return saa == 0 || sbb == 0 ? 0 : sab / Math.Sqrt(saa * sbb);
    }

    // (H+1)×(W+1) inclusive prefix sums of f(a, b).
    private static double[] Prefix(double[] a, double[] b, int height, int width, Func<double, double, double> f)
    {
        var s = new double[(height + 1) * (width + 1)];
        for (var i = 0; i < height; i++)
        {
            var row = 0.0;
            for (var j = 0; j < width; j++)
            {
                row += f(a[i * width + j], b[i * width + j]);
                s[(i + 1) * (width + 1) + j + 1] = s[i * (width + 1) + j + 1] + row;
            }
        }
        return s;
    }

    private static double Box(double[] s, int width, int i, int j)
    {
        var w = width + 1;
        return s[(i + Window) * w + j + Window] - s[i * w + j + Window] - s[(i + Window) * w + j] + s[i * w + j];
    }
}
