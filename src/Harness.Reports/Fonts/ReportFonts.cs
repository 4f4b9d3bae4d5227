using SkiaSharp;

namespace Harness.Reports;

/// <summary>
/// The typefaces every picture uses: DejaVu Sans, bundled as embedded resources (Debian's fonts-dejavu-core, licence in
/// Fonts/LICENSE-DejaVu.txt), so grids and plots look the same on a fresh machine without any system font.
/// </summary>
public static class ReportFonts
{
    public const string FamilyName = "DejaVu Sans";

    private static readonly Lazy<SKTypeface> s_regular = new(() => Load("DejaVuSans.ttf"));
    private static readonly Lazy<SKTypeface> s_bold = new(() => Load("DejaVuSans-Bold.ttf"));

    public static SKTypeface Regular => s_regular.Value;
    public static SKTypeface Bold => s_bold.Value;

    private static SKTypeface Load(string file)
    {
        var name = "Harness.Reports.Fonts." + file;
        using var stream = typeof(ReportFonts).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"the embedded font {name} is missing from {typeof(ReportFonts).Assembly.GetName().Name}");
        return SKTypeface.FromStream(stream) ?? throw new InvalidOperationException($"SkiaSharp could not load the embedded font {name}");
    }
}
