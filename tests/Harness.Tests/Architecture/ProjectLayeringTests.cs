using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;

namespace Harness.Tests.Architecture;

/// <summary>
/// The dependency drawing of docs/architecture.md, enforced: every project under src/ has a layer, and a project
/// may reference (in its .csproj) only projects of lower layers. A reference that points up the drawing, or a new
/// project nobody placed, fails here.
/// </summary>
public sealed class ProjectLayeringTests
{
    /// <summary>The layers of docs/architecture.md, bottom up. Projects on one layer do not reference each other.</summary>
    public static readonly string[][] Layers =
    {
        new[] { "Harness.Torch" },
        new[] { "Harness.Data" },
        new[] { "Harness.Models" },
        new[] { "Harness.Attribution" },
        new[] { "Harness.Metrics" },
        new[] { "Harness.Experiments" },
        new[] { "Harness.Reports", "Harness.Bench" },
        new[] { "Harness.Grains" },
        new[] { "Harness.Silo" },
        new[] { "Harness.Client" },
    };

    private static int LayerOf(string project)
    {
        for (var i = 0; i < Layers.Length; i++)
            if (Layers[i].Contains(project)) return i;
        return -1;
    }

    private static IEnumerable<(string Project, string Path)> SourceProjects() =>
        Directory.GetDirectories(TestPaths.Repo("src"))
            .Select(d => (Project: Path.GetFileName(d), Path: Path.Combine(d, Path.GetFileName(d) + ".csproj")))
            .Where(p => File.Exists(p.Path));

    private static IEnumerable<string> ReferencesOf(string csproj) =>
        XDocument.Load(csproj).Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')));

    [Fact]
    public void EveryProjectUnderSrcHasALayer()
    {
        var unplaced = SourceProjects().Select(p => p.Project).Where(p => LayerOf(p) < 0).ToList();
        Assert.True(unplaced.Count == 0, $"place {string.Join(", ", unplaced)} in docs/architecture.md and ProjectLayeringTests.Layers");
        Assert.Equal(Layers.SelectMany(l => l).Order(), SourceProjects().Select(p => p.Project).Order());
    }

    [Fact]
    public void ProjectReferencesPointOnlyDownTheDrawing()
    {
        var violations = new List<string>();
        foreach (var (project, path) in SourceProjects())
            foreach (var reference in ReferencesOf(path))
                if (LayerOf(reference) >= LayerOf(project))
                    violations.Add($"{project} (layer {LayerOf(project)}) references {reference} (layer {LayerOf(reference)})");
        Assert.True(violations.Count == 0, string.Join("\n", violations));
    }

    [Fact]
    public void TheCheckCatchesAnUpwardReference()
    {
        // The rule on a made-up reference, so the test above cannot pass by reading nothing.
        Assert.True(LayerOf("Harness.Data") < LayerOf("Harness.Grains"));
        Assert.NotEmpty(ReferencesOf(TestPaths.Repo("src", "Harness.Grains", "Harness.Grains.csproj")));
        Assert.Contains("Harness.Experiments", ReferencesOf(TestPaths.Repo("src", "Harness.Grains", "Harness.Grains.csproj")));
    }

    /// <summary>
    /// Trainable methods are reached through ITrainableMethod, source-signal metrics through ISourceSignalMethod: no
    /// compiled assembly above Harness.Attribution refers to a type of the MIP-IN namespace, except the benchmark,
    /// whose mipin-explain and mipin-train workloads time MIP-IN's inversion itself against its PyTorch twin.
    /// </summary>
    [Theory]
    [InlineData("Harness.Metrics")]
    [InlineData("Harness.Experiments")]
    [InlineData("Harness.Reports")]
    [InlineData("Harness.Grains")]
    [InlineData("Harness.Silo")]
    [InlineData("mipin")]
    public void NoAssemblyAboveAttributionNamesMipInTypes(string assembly)
    {
        var names = TypeReferenceNamespaces(Path.Combine(AppContext.BaseDirectory, assembly + ".dll"));
        Assert.NotEmpty(names);
        Assert.DoesNotContain(names, n => n.StartsWith("Harness.Attribution.MipIn", StringComparison.Ordinal));
    }

    [Fact]
    public void TheMipInTypeCheckSeesMipInReferencesWhereTheyExist()
    {
        Assert.Contains(TypeReferenceNamespaces(Path.Combine(AppContext.BaseDirectory, "Harness.Bench.dll")),
            n => n == "Harness.Attribution.MipIn");
    }

    // The namespaces of every type an assembly references from other assemblies (its TypeRef table).
    private static HashSet<string> TypeReferenceNamespaces(string dll)
    {
        using var stream = File.OpenRead(dll);
        using var pe = new PEReader(stream);
        var reader = pe.GetMetadataReader();
        return reader.TypeReferences.Select(h => reader.GetString(reader.GetTypeReference(h).Namespace)).ToHashSet(StringComparer.Ordinal);
    }
}
