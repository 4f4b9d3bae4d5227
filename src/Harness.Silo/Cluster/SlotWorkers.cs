using System.Collections.Concurrent;
using Harness.Experiments;
using Harness.Grains;
using Harness.Grains.Cluster;

namespace Harness.Silo.Cluster;

/// <summary>
/// The silo-side state of its device slots, kept outside the Orleans scheduler: per slot a <see cref="GrainContext"/>
/// holding the models loaded on its device (at most <see cref="SiloIdentity.ModelsPerSlot"/>), and a cache of the
/// <see cref="MaxPlans"/> experiment plans used last, by spec and overrides (a plan lists every image of its dataset, and
/// a standing silo serves run after run). Work runs on a
/// dedicated thread per grain (libtorch's dispose scopes and grad mode are per thread; a shard runs for minutes and
/// must not block Orleans' scheduler threads).
/// </summary>
public sealed class SlotWorkers(SiloIdentity identity, Action<string> log) : IDisposable
{
    private readonly ConcurrentDictionary<string, GrainContext> _contexts = new(StringComparer.Ordinal);
    // Plans by spec and overrides; guarded by _planLock (a plan is built lazily, outside it).
    private readonly LeastRecentlyUsed<Lazy<PlanEntry>> _plans = new();
    private readonly Lock _planLock = new();

    /// <summary>How many experiment plans the silo keeps; a run whose plan went is planned again from its spec.</summary>
    public const int MaxPlans = 8;

    private sealed record PlanEntry(IReadOnlyDictionary<string, IWorkGrain> Grains, string StatsDirectory);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, SlotActivity> _activity = new(StringComparer.Ordinal);

    /// <summary>What slot <paramref name="slot"/> is doing.</summary>
    public SlotActivity Activity(string slot) => _activity.GetValueOrDefault(slot)
        ?? new SlotActivity(slot, identity.Name, identity.DeviceOf(slot).ToString(), "", "", DateTime.UtcNow, 0, 0);

    /// <summary>Makes an in-memory plan known (the embedded silo plans once for both sides).</summary>
    public void Seed(string specPath, IReadOnlyList<string> overrides, IEnumerable<IWorkGrain> grains, string statsDirectory)
    {
        var byKey = grains.ToDictionary(g => g.Key, StringComparer.Ordinal);
        lock (_planLock)
            Keep(PlanKey(specPath, overrides), new Lazy<PlanEntry>(new PlanEntry(byKey, statsDirectory)));
    }

    /// <summary>The number of experiment plans the silo holds now.</summary>
    public int PlansHeld
    {
        get
        {
            lock (_planLock) return _plans.Count;
        }
    }

    /// <summary>Model ids loaded on slot <paramref name="slot"/>.</summary>
    public string[] LoadedModels(string slot) => _contexts.TryGetValue(slot, out var c) ? c.LoadedModels.ToArray() : [];

    /// <summary>Runs <paramref name="order"/> on slot <paramref name="slot"/>.</summary>
    public Task<WorkResult> RunAsync(string slot, WorkOrder order)
    {
        var context = _contexts.GetOrAdd(slot, s => new GrainContext(identity.DeviceOf(s), log, _stopping.Token, identity.ModelsPerSlot));
        var plan = Plan(order);
        var grain = plan.Grains.TryGetValue(order.GrainKey, out var g) ? g
            : throw new InvalidOperationException($"grain {order.GrainKey} is not in the plan of {order.SpecPath} (the spec changed since the run was planned?)");
        var before = Activity(slot);
        _activity[slot] = before with { Grain = grain.Key, SpecPath = order.SpecPath, Since = DateTime.UtcNow };
        return Task.Factory.StartNew(() =>
        {
            GrainStats stats;
            try
            {
                stats = new GrainRunner(order.Engine, plan.StatsDirectory).Execute(grain, context, identity.Name);
            }
            finally
            {
                _activity[slot] = before with { Grain = "", SpecPath = "", Since = DateTime.UtcNow, Finished = before.Finished + 1, Images = before.Images + grain.Images };
            }
            return new WorkResult(grain.Key, identity.Name, stats.Device, stats.Seconds, stats.Images, stats.ModelLoads);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private PlanEntry Plan(WorkOrder order)
    {
        var key = PlanKey(order.SpecPath, order.Overrides);
        Lazy<PlanEntry> plan;
        lock (_planLock)
        {
            plan = _plans.TryGet(key, out var held) ? held : new Lazy<PlanEntry>(() =>
            {
                var grains = new ExperimentGrains(SpecLoader.Load(order.SpecPath, order.Overrides));
                return new PlanEntry(grains.All.ToDictionary(g => g.Key, StringComparer.Ordinal), grains.StatsDirectory);
            });
            Keep(key, plan);
        }
        try
        {
            return plan.Value;  // planned here, outside the lock, once per plan
        }
        catch
        {
            // A spec that failed to plan (a typo, a missing file) is planned again when asked again, after a fix.
            lock (_planLock)
                if (_plans.TryGet(key, out var held) && ReferenceEquals(held, plan)) _plans.Remove(key);
            throw;
        }
    }

    // Holds `plan` under `key` as the plan used last and drops the least recently used plans beyond MaxPlans (a grain
    // running from a dropped plan keeps its own reference). Called under _planLock.
    private void Keep(string key, Lazy<PlanEntry> plan)
    {
        _plans.Set(key, plan);
        while (_plans.Count > MaxPlans) _plans.TryRemoveLeastRecent(out _, out _);
    }

    private static string PlanKey(string specPath, IReadOnlyList<string> overrides) => specPath + "\n" + string.Join("\n", overrides);

    public void Dispose()
    {
        _stopping.Cancel();
        foreach (var c in _contexts.Values) c.Dispose();
        _contexts.Clear();
        _stopping.Dispose();
    }
}
