namespace Harness.Reports;

/// <summary>
/// The colours of signed maps: blue (negative) through white (zero) to red (positive), ColorBrewer's RdBu end points
/// (#2166AC, #B2182B) interpolated linearly in RGB, so the sign reads at a glance and zero is neutral.
/// </summary>
public static class DivergingColormap
{
    private static readonly (double R, double G, double B) Negative = (0x21, 0x66, 0xAC);
    private static readonly (double R, double G, double B) Zero = (0xF7, 0xF7, 0xF7);
    private static readonly (double R, double G, double B) Positive = (0xB2, 0x18, 0x2B);

    /// <summary>The colour of <paramref name="t"/> in [−1, 1] (clamped; NaN is black).</summary>
    public static (byte R, byte G, byte B) Map(float t)
    {
        if (float.IsNaN(t)) return (0, 0, 0);
        var v = Math.Clamp((double)t, -1, 1);
        var end = v < 0 ? Negative : Positive;
        var w = Math.Abs(v);
        return (Mix(Zero.R, end.R, w), Mix(Zero.G, end.G, w), Mix(Zero.B, end.B, w));
    }

    private static byte Mix(double from, double to, double w) => (byte)Math.Round(from + (to - from) * w, MidpointRounding.AwayFromZero);
}
