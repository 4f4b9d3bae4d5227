using System.Text.Json;
using System.Text.Json.Serialization;
using Harness.Data;
using Harness.Experiments;

namespace Harness.Experiments;

/// <summary>One stage of a run: its grains in plan order (one grain per task).</summary>
public sealed record RunStage(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("tasks")] IReadOnlyList<IReadOnlyList<string>> Tasks,
    [property: JsonPropertyName("depends_on")] IReadOnlyList<string> DependsOn);

/// <summary>One submitted job (a Slurm job, say): the stage and task indices it was submitted for ("run": the whole plan).</summary>
public sealed record RunJob(
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("job_id")] string JobId,
    [property: JsonPropertyName("tasks")] IReadOnlyList<int> Tasks,
    [property: JsonPropertyName("submitted_utc")] DateTime SubmittedUtc);

/// <summary>Options of cluster engines, kept with the run so that resume submits the same way.</summary>
public sealed record ClusterOptions
{
    [JsonPropertyName("partition")] public string? Partition { get; init; }
    [JsonPropertyName("account")] public string? Account { get; init; }
    [JsonPropertyName("time")] public string? Time { get; init; }
    [JsonPropertyName("gpus_per_silo")] public int GpusPerSilo { get; init; }
    [JsonPropertyName("cpus_per_silo")] public int CpusPerSilo { get; init; } = 1;
    [JsonPropertyName("mem")] public string? Memory { get; init; }

    /// <summary>Slurm: nodes of the run's job.</summary>
    [JsonPropertyName("nodes")] public int Nodes { get; init; } = 1;

    /// <summary>Slurm: silo processes per node (each owns <see cref="GpusPerSilo"/> of the node's GPUs).</summary>
    [JsonPropertyName("silos_per_node")] public int SilosPerNode { get; init; } = 1;

    /// <summary>Slurm: the redis-server the job starts on its first node as the run's membership store.</summary>
    [JsonPropertyName("redis_server")] public string RedisServer { get; init; } = "redis-server";
    [JsonPropertyName("retries")] public int Retries { get; init; } = 2;
    [JsonPropertyName("extra_args")] public IReadOnlyList<string> ExtraArgs { get; init; } = Array.Empty<string>();
    [JsonPropertyName("setup")] public IReadOnlyList<string> Setup { get; init; } = Array.Empty<string>();

    /// <summary>The standing Orleans cluster of the "cluster" engine, redis://HOST:PORT (its membership store).</summary>
    [JsonPropertyName("cluster")] public string? Cluster { get; init; }

    /// <summary>The file holding the cluster's secret (the Redis password), mode 0600; the secret itself is never stored.</summary>
    [JsonPropertyName("secret_file")] public string? SecretFile { get; init; }
}

/// <summary>
/// The manifest of a run (<c>{results}/{experiment}/run/run.json</c>): which engine ran it, the config it was planned
/// from (a snapshot copied into the run folder, so later edits of the original do not change a queued run), the
/// working directory its relative paths resolve against, the stages with their grain keys, and the jobs submitted.
/// The client writes it; silos started by a cluster engine read it to find their grains.
/// </summary>
public sealed record RunManifest
{
    [JsonPropertyName("engine")] public required string Engine { get; init; }
    [JsonPropertyName("experiment")] public required string Experiment { get; init; }
    [JsonPropertyName("config")] public required string Config { get; init; }
    [JsonPropertyName("source_config")] public required string SourceConfig { get; init; }
    [JsonPropertyName("overrides")] public required IReadOnlyList<string> Overrides { get; init; }
    [JsonPropertyName("working_directory")] public required string WorkingDirectory { get; init; }
    [JsonPropertyName("created_utc")] public DateTime CreatedUtc { get; init; }
    [JsonPropertyName("stages")] public required IReadOnlyList<RunStage> Stages { get; init; }
    [JsonPropertyName("options")] public ClusterOptions Options { get; init; } = new();
    [JsonPropertyName("jobs")] public IReadOnlyList<RunJob> Jobs { get; init; } = Array.Empty<RunJob>();

    /// <summary>
    /// Per grain key, the file its grain writes last (IWorkGrain.DoneFile), recorded at submit: `mipin status` reads
    /// the run's progress from these alone, without re-planning (empty in manifests written before it existed).
    /// </summary>
    [JsonPropertyName("done_files")] public IReadOnlyDictionary<string, string> DoneFiles { get; init; } = new Dictionary<string, string>();

    public const string FileName = "run.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public RunStage Stage(string name) => Stages.FirstOrDefault(s => s.Name == name)
        ?? throw new InvalidDataException($"the run has no stage '{name}'; stages: {string.Join(", ", Stages.Select(s => s.Name))}");

    /// <summary>Loads the spec the run was planned from, with relative paths resolved against the run's working directory.</summary>
    public ExperimentSpec LoadSpec()
    {
        Directory.SetCurrentDirectory(WorkingDirectory);
        return SpecLoader.Load(Config, Overrides);
    }

    public void Save(string runDirectory) =>
        AtomicFile.WriteAllText(Path.Combine(runDirectory, FileName), JsonSerializer.Serialize(this, Json));

    public static RunManifest Load(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} not found: not a run folder (mipin submit creates {{results}}/{{experiment}}/run/)", path);
        try
        {
            return JsonSerializer.Deserialize<RunManifest>(File.ReadAllText(path), Json)
                   ?? throw new InvalidDataException($"{path} is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a valid run manifest ({e.Message}); submit the experiment again", e);
        }
    }

    /// <summary>The run folder of an experiment's results directory.</summary>
    public static string DirectoryFor(ExperimentSpec spec) => Path.Combine(spec.ResultsDir, "run");

    /// <summary>
    /// Finds a run folder from what a user typed: the run folder itself, an experiment's results folder (holding
    /// run/), or the experiment's config file.
    /// </summary>
    public static string Resolve(string pathOrConfig)
    {
        var full = Path.GetFullPath(pathOrConfig);
        if (Directory.Exists(full))
        {
            if (File.Exists(Path.Combine(full, FileName))) return full;
            if (File.Exists(Path.Combine(full, "run", FileName))) return Path.Combine(full, "run");
            throw new DirectoryNotFoundException($"{full} holds no {FileName}: give the run folder ({{results}}/{{experiment}}/run), the experiment's results folder, or its config");
        }
        if (File.Exists(full))
        {
            var dir = DirectoryFor(SpecLoader.Load(full, Array.Empty<string>()));
            if (File.Exists(Path.Combine(dir, FileName))) return dir;
            throw new DirectoryNotFoundException($"{full}: the experiment has no run yet ({dir} missing); start one with mipin submit {pathOrConfig}");
        }
        throw new FileNotFoundException($"{full} not found: give the run folder ({{results}}/{{experiment}}/run), the experiment's results folder, or its config", full);
    }
}
