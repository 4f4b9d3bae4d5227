using System.Text.Json;
using System.Text.Json.Serialization;
using Harness.Data;
using Harness.Torch.IO;

namespace Harness.Client.Engines;

/// <summary>
/// The lease of a cluster run's coordinator (the `mipin run --cluster` process, or `mipin coordinate` inside a Slurm
/// job): run/coordinator.json names its host, process and cluster, and is refreshed every few seconds while it runs,
/// so `mipin status` on any machine sharing the run folder knows the run is live (a lease not refreshed for
/// <see cref="Stale"/> belongs to a coordinator that was killed). `mipin cancel` asks it to stop through
/// run/cancel.requested: it starts no more grains, lets those in flight finish, and exits.
/// </summary>
public sealed class RunCoordinator : IDisposable
{
    public const string FileName = "coordinator.json";
    public const string CancelFileName = "cancel.requested";
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan Stale = TimeSpan.FromSeconds(30);

    /// <summary>What the lease file says.</summary>
    public sealed record Lease(
        [property: JsonPropertyName("host")] string Host,
        [property: JsonPropertyName("pid")] int Pid,
        [property: JsonPropertyName("cluster")] string Cluster,
        [property: JsonPropertyName("secret_file")] string? SecretFile,
        [property: JsonPropertyName("started_utc")] DateTime StartedUtc);

    private readonly string _path;
    private readonly string _cancelPath;
    private readonly CancellationTokenSource _cancel = new();
    private readonly Timer _timer;

    private RunCoordinator(string runDirectory, Lease lease)
    {
        _path = Path.Combine(runDirectory, FileName);
        _cancelPath = Path.Combine(runDirectory, CancelFileName);
        File.Delete(_cancelPath); // a request meant for an earlier coordinator
        AtomicFile.WriteAllText(_path, JsonSerializer.Serialize(lease));
        _timer = new Timer(_ => Beat(), null, Heartbeat, Heartbeat);
    }

    /// <summary>Takes the run's lease (the caller checked that no live coordinator holds it).</summary>
    public static RunCoordinator Take(string runDirectory, string cluster, string? secretFile) =>
        new(runDirectory, new Lease(Environment.MachineName, Environment.ProcessId, cluster, secretFile, DateTime.UtcNow));

    /// <summary>Cancelled when `mipin cancel` asked this run to stop.</summary>
    public CancellationToken CancelRequested => _cancel.Token;

    private void Beat()
    {
        try
        {
            if (File.Exists(_cancelPath) && !_cancel.IsCancellationRequested) _cancel.Cancel();
            File.SetLastWriteTimeUtc(_path, DateTime.UtcNow);
        }
        catch (IOException)
        {
            // A shared file system that hiccups: the next beat tries again.
        }
    }

    /// <summary>The lease of a coordinator that is running now, or null.</summary>
    public static Lease? Live(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        try
        {
            if (!File.Exists(path) || DateTime.UtcNow - File.GetLastWriteTimeUtc(path) > Stale) return null;
            var lease = JsonSerializer.Deserialize<Lease>(File.ReadAllText(path));
            // On this machine a killed coordinator is known at once, without waiting for its lease to go stale.
            return lease is not null && lease.Host == Environment.MachineName && !LocalProcess.IsRunning(lease.Pid) ? null : lease;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Asks the run's coordinator to stop (it notices within a heartbeat).</summary>
    public static void RequestCancel(string runDirectory) =>
        AtomicFile.WriteAllText(Path.Combine(runDirectory, CancelFileName), $"{DateTime.UtcNow:O} by {Environment.UserName}@{Environment.MachineName}\n");

    public void Dispose()
    {
        _timer.Dispose();
        _cancel.Dispose();
        File.Delete(_path);
        File.Delete(_cancelPath);
    }
}
