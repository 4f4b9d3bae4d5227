using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Harness.Data;
using Harness.Experiments;

namespace Harness.Grains;

/// <summary>
/// What a silo measured while executing one grain: where it ran (engine, host, device, the GPUs Slurm assigned),
/// how long it took, its throughput and the process's peak resident memory. One JSON file per grain under
/// <c>{results}/grains/</c>; the aggregate grain collects them into <c>throughput.csv</c> next to the leaderboard.
/// </summary>
public sealed record GrainStats(
    [property: JsonPropertyName("grain")] string Grain,
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("engine")] string Engine,
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("device")] string Device,
    [property: JsonPropertyName("slurm_task")] string SlurmTask,
    [property: JsonPropertyName("assigned_gpus")] string AssignedGpus,
    [property: JsonPropertyName("started_utc")] DateTime StartedUtc,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("images")] int Images,
    [property: JsonPropertyName("peak_rss_mb")] double PeakRssMb,
    [property: JsonPropertyName("silo")] string Silo = "",
    [property: JsonPropertyName("model_loads")] int ModelLoads = 0)
{
    public static readonly string[] CsvHeader =
        { "grain", "stage", "engine", "host", "device", "slurm_task", "assigned_gpus", "images", "seconds", "images_per_s", "peak_rss_mb", "silo", "model_loads" };

    [JsonIgnore]
    public double ImagesPerSecond => Seconds > 0 ? Images / Seconds : 0;

    /// <summary>The file of a grain's stats: the key with '/' and '@' made file-safe.</summary>
    public static string PathFor(string directory, string grainKey) =>
        Path.Combine(directory, ExperimentPlan.Safe(grainKey) + ".json");

    public void Write(string directory) => AtomicFile.WriteAllText(PathFor(directory, Grain), JsonSerializer.Serialize(this));

    /// <summary>Every stats file in <paramref name="directory"/>, sorted by grain key (none when the folder is missing).</summary>
    public static IReadOnlyList<GrainStats> ReadAll(string directory)
    {
        if (!Directory.Exists(directory)) return Array.Empty<GrainStats>();
        var all = new List<GrainStats>();
        foreach (var file in Directory.GetFiles(directory, "*.json"))
        {
            try
            {
                if (JsonSerializer.Deserialize<GrainStats>(File.ReadAllText(file)) is { } s) all.Add(s);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{file}: not a grain stats file ({e.Message}); delete it, the next run of that grain rewrites it");
            }
        }
        return all.OrderBy(s => s.Grain, StringComparer.Ordinal).ToList();
    }

    public string[] ToCsvRow() => new[]
    {
        Grain, Stage, Engine, Host, Device, SlurmTask, AssignedGpus, Images.ToString(CultureInfo.InvariantCulture),
        Seconds.ToString("F3", CultureInfo.InvariantCulture), ImagesPerSecond.ToString("F3", CultureInfo.InvariantCulture),
        PeakRssMb.ToString("F1", CultureInfo.InvariantCulture), Silo, ModelLoads.ToString(CultureInfo.InvariantCulture),
    };
}
