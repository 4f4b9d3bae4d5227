using Harness.Experiments;
using Harness.Grains;
using Harness.Silo;
using Harness.Silo.Cluster;
using Harness.Torch;

namespace Harness.Tests.Experiments;

/// <summary>Writes small experiment specs into a temporary folder and runs them on the embedded silo.</summary>
public sealed class TempExperiment : IDisposable
{
    public TempExperiment()
    {
        Directory = Path.Combine(Path.GetTempPath(), $"mipin-exp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    /// <summary>A spec file with repository paths made absolute and results inside the temporary folder.</summary>
    public string WriteSpec(string name, string body)
    {
        var path = Path.Combine(Directory, name + ".yaml");
        File.WriteAllText(path, $"""
            name: {name}
            models:
              - architecture: mobilenet_v2
                weights: {TestPaths.Repo("data", "models", "mobilenet_v2_coral.pth")}
            dataset:
              root: {TestPaths.Repo("data", "imagenet-val-sample")}
            results: {Path.Combine(Directory, "results")}
            {body}
            """);
        return path;
    }

    /// <summary>
    /// A copy of the first <paramref name="count"/> sample images (by id) with their XML boxes and the synset mapping in
    /// an ImageNet-val folder under the temporary folder, to damage or change; returns the folder and the ids.
    /// </summary>
    public (string Root, string[] Ids) CopySample(int count, string name = "val")
    {
        var sample = TestPaths.Repo("data", "imagenet-val-sample");
        var root = Path.Combine(Directory, name);
        System.IO.Directory.CreateDirectory(Path.Combine(root, "images"));
        System.IO.Directory.CreateDirectory(Path.Combine(root, "boxes"));
        File.Copy(Path.Combine(sample, "LOC_synset_mapping.txt"), Path.Combine(root, "LOC_synset_mapping.txt"));
        var ids = System.IO.Directory.GetFiles(Path.Combine(sample, "images")).Select(f => Path.GetFileNameWithoutExtension(f)!)
            .Order(StringComparer.Ordinal).Take(count).ToArray();
        foreach (var id in ids)
        {
            File.Copy(Path.Combine(sample, "images", id + ".JPEG"), Path.Combine(root, "images", id + ".JPEG"));
            File.Copy(Path.Combine(sample, "boxes", id + ".xml"), Path.Combine(root, "boxes", id + ".xml"));
        }
        return (root, ids);
    }

    public static void Run(string specPath, params string[] overrides)
    {
        var spec = SpecLoader.Load(specPath, overrides);
        var plan = new ExperimentGrains(spec);
        EmbeddedCluster.RunAsync(spec.SourceFile, overrides, plan.All, plan.StatsDirectory, spec.Devices.Select(Device.Parse).ToList(),
            "local", _ => { }, null).GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }
}
