using System.Diagnostics;
using Harness.Grains;
using Harness.Torch;

namespace Harness.Silo;

/// <summary>Progress of a run: grains finished (done or skipped) out of all, images scored, elapsed time.</summary>
public sealed record SiloProgress(int Done, int Total, int Skipped, long Images, TimeSpan Elapsed, string LastGrain)
{
    public double ImagesPerSecond => Elapsed.TotalSeconds > 0 ? Images / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Runs a grain graph in this process with one slot per device: a grain starts when its dependencies finished,
/// on a free slot. Finished grains (output present with the same input hash) are skipped, so a run interrupted at any
/// point resumes where it stopped without recomputing or duplicating shards. A failing grain stops the run after the
/// grains in flight finish; their outputs are kept. Each executed grain's stats go through <paramref name="runner"/>.
/// </summary>
public sealed class EmbeddedSilo(IReadOnlyList<Device> devices, Action<string> log, GrainRunner runner)
{
    /// <param name="grains">The grains to run.</param>
    /// <param name="finishedElsewhere">Keys of dependencies outside <paramref name="grains"/> that are already done (a
    /// cluster task runs one stage's grains after the stages before it finished).</param>
    public async Task RunAsync(IReadOnlyList<IGrain> grains, IProgress<SiloProgress>? progress, CancellationToken cancellation,
        IReadOnlyCollection<string>? finishedElsewhere = null)
    {
        if (devices.Count == 0) throw new ArgumentException("a silo needs at least one device", nameof(devices));
        var byKey = grains.ToDictionary(g => g.Key, StringComparer.Ordinal);
        var finished = new HashSet<string>(finishedElsewhere ?? Array.Empty<string>(), StringComparer.Ordinal);
        foreach (var g in grains)
            foreach (var d in g.DependsOn)
                if (!byKey.ContainsKey(d) && !finished.Contains(d)) throw new InvalidOperationException($"grain {g.Key} depends on unknown grain {d}");
        var running = new Dictionary<Task, (IGrain Grain, int Slot)>();
        var freeSlots = new Stack<int>(Enumerable.Range(0, devices.Count).Reverse());
        var contexts = devices.Select(d => new GrainContext(d, log, cancellation)).ToArray();
        var pending = grains.ToList();
        var clock = Stopwatch.StartNew();
        int skipped = 0;
        long images = 0;
        Exception? failure = null;
        try
        {
            foreach (var g in pending.ToList())
                if (g.IsDone())
                {
                    finished.Add(g.Key);
                    pending.Remove(g);
                    skipped++;
                }
            progress?.Report(new SiloProgress(skipped, grains.Count, skipped, 0, clock.Elapsed, ""));
            while (pending.Count > 0 || running.Count > 0)
            {
                while (failure is null && !cancellation.IsCancellationRequested && freeSlots.Count > 0)
                {
                    var next = pending.FirstOrDefault(g => g.DependsOn.All(finished.Contains));
                    if (next is null) break;
                    pending.Remove(next);
                    var slot = freeSlots.Pop();
                    var context = contexts[slot];
                    // Torch work runs on a dedicated thread per grain (dispose scopes and grad mode are per thread).
                    var task = Task.Factory.StartNew(() => runner.Execute(next, context), CancellationToken.None,
                        TaskCreationOptions.LongRunning, TaskScheduler.Default);
                    running[task] = (next, slot);
                }
                if (running.Count == 0)
                {
                    if (failure is not null || cancellation.IsCancellationRequested) break;
                    throw new InvalidOperationException($"grains cannot start (dependency cycle?): {string.Join(", ", pending.Select(p => p.Key))}");
                }
                var done = await Task.WhenAny(running.Keys).ConfigureAwait(false);
                var (grain, freed) = running[done];
                running.Remove(done);
                freeSlots.Push(freed);
                if (done.IsFaulted && done.Exception!.InnerException is OperationCanceledException && cancellation.IsCancellationRequested)
                    continue; // interrupted: the grain wrote nothing, the rerun does it
                if (done.IsFaulted)
                {
                    failure ??= new GrainFailedException(grain.Key, done.Exception!.InnerException!);
                    log($"grain {grain.Key} failed: {done.Exception!.InnerException!.Message}");
                    continue;
                }
                finished.Add(grain.Key);
                images += grain.Images;
                progress?.Report(new SiloProgress(grains.Count - pending.Count - running.Count, grains.Count, skipped, images, clock.Elapsed, grain.Key));
            }
        }
        finally
        {
            foreach (var c in contexts) c.Dispose();
        }
        if (failure is not null) throw failure;
        cancellation.ThrowIfCancellationRequested();
    }
}

/// <summary>A grain threw; the message names the grain, the cause is the inner exception.</summary>
public sealed class GrainFailedException(string grain, Exception inner) : Exception($"grain {grain} failed: {inner.Message}", inner)
{
    public string Grain { get; } = grain;
}
