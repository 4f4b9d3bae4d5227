using System.Runtime.CompilerServices;
using ScottPlot;
using SkiaSharp;

namespace Harness.Reports;

/// <summary>
/// The report's typeface, DejaVu Sans (regular and bold), carried inside this assembly (Fonts/*.ttf, Bitstream Vera
/// licence in Fonts/LICENSE-DejaVu.txt) so that plots and image-grid labels look the same on every machine and still
/// render on a fresh one whose fontconfig knows no fonts at all: nothing here asks the system for a font.
/// </summary>
/// <remarks>
/// <see cref="Regular"/> and <see cref="Bold"/> are loaded once, on first use, thread-safely, and live for the whole
/// process: use them, never dispose them. ScottPlot looks fonts up by family name through a process-wide list of
/// resolvers; <see cref="UseInScottPlot"/> puts one that answers <see cref="FamilyName"/> with the bundled faces at the
/// head of that list (once, before any system font is consulted) and points every text of a plot at that name.
/// </remarks>
public static class ReportFonts
{
    /// <summary>The family name of the bundled faces, as ScottPlot, SVG output and SkiaSharp report it.</summary>
    public const string FamilyName = "DejaVu Sans";

    private static readonly Lazy<SKData> RegularData = new(() => LoadData("DejaVuSans.ttf"));
    private static readonly Lazy<SKData> BoldData = new(() => LoadData("DejaVuSans-Bold.ttf"));
    private static readonly Lazy<SKTypeface> RegularFace = new(() => CreateTypeface(RegularData.Value, "DejaVuSans.ttf"));
    private static readonly Lazy<SKTypeface> BoldFace = new(() => CreateTypeface(BoldData.Value, "DejaVuSans-Bold.ttf"));

    // Typefaces this class made, so a test can tell the bundled faces from a system font of the same name.
    private static readonly ConditionalWeakTable<SKTypeface, object> Made = new();
    private static readonly object RegistrationGate = new();
    private static bool _registered;

    /// <summary>DejaVu Sans Book, from the embedded resource (shared: do not dispose).</summary>
    public static SKTypeface Regular => RegularFace.Value;

    /// <summary>DejaVu Sans Bold, from the embedded resource (shared: do not dispose).</summary>
    public static SKTypeface Bold => BoldFace.Value;

    /// <summary>
    /// Makes <paramref name="plot"/> draw every text (title, axis labels, tick labels, legend, and text added later)
    /// with the bundled faces. ScottPlot's font registry is global: the first call also registers the bundled faces
    /// for the whole process and makes <see cref="FamilyName"/> ScottPlot's default font.
    /// </summary>
    public static void UseInScottPlot(Plot plot)
    {
        ArgumentNullException.ThrowIfNull(plot);
        RegisterWithScottPlot();
        // Names only. ScottPlot's plot.Font.Set(...) is avoided on purpose: it disposes the typeface it looked up.
        plot.Axes.Title.Label.FontName = FamilyName;
        foreach (var axis in plot.Axes.GetAxes())
        {
            axis.Label.FontName = FamilyName;
            axis.TickLabelStyle.FontName = FamilyName;
        }
        plot.Legend.FontName = FamilyName;
    }

    /// <summary>Whether <paramref name="typeface"/> was made from the bundled font data (for tests).</summary>
    internal static bool IsBundled(SKTypeface? typeface) => typeface is not null && Made.TryGetValue(typeface, out _);

    private static void RegisterWithScottPlot()
    {
        lock (RegistrationGate)
        {
            if (_registered) return;
            // First in the list, so a system "DejaVu Sans" (or its absence) never matters.
            ScottPlot.Fonts.FontResolvers.Insert(0, new BundledFontResolver());
            ScottPlot.Fonts.Default = FamilyName;
            _registered = true;
        }
    }

    private static SKData LoadData(string file)
    {
        var name = $"Harness.Reports.Fonts.{file}";
        using var stream = typeof(ReportFonts).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded font {name} is missing from {typeof(ReportFonts).Assembly.GetName().Name}");
        return SKData.Create(stream);
    }

    private static SKTypeface CreateTypeface(SKData data, string file)
    {
        var typeface = SKTypeface.FromData(data) ?? throw new InvalidOperationException($"embedded font {file} is not a font SkiaSharp can read");
        Made.AddOrUpdate(typeface, file);
        return typeface;
    }

    // ScottPlot caches what a resolver returns and may dispose it (its FontStyler does), so each answer is a new
    // typeface over the shared font bytes, never Regular or Bold themselves. No italic face is bundled: italic
    // requests get the upright one rather than a system font.
    private sealed class BundledFontResolver : IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing)
        {
            if (!string.Equals(fontName, FamilyName, StringComparison.OrdinalIgnoreCase)) return null;
            var bold = weight >= FontWeight.SemiBold;
            return ReportFonts.CreateTypeface(bold ? BoldData.Value : RegularData.Value, bold ? "DejaVuSans-Bold.ttf" : "DejaVuSans.ttf");
        }

        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
            CreateTypeface(fontName, bold ? FontWeight.Bold : FontWeight.Normal, italic ? FontSlant.Italic : FontSlant.Upright, FontSpacing.Normal);
    }
}
