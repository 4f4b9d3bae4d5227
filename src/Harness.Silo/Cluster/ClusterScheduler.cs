using System.Diagnostics;
using Harness.Grains;
using Harness.Grains.Cluster;
using Orleans;
using Orleans.Runtime;

namespace Harness.Silo.Cluster;

/// <summary>
/// The run's coordinator on the Orleans client: starts each grain of a plan as soon as its dependencies finished, on a
/// free device slot of any silo of the cluster (<see cref="IDeviceSlotGrain"/>), preferring a slot that already holds
/// the grain's model. Finished grains (output present with the same input hash) are skipped, so a run interrupted at
/// any point resumes where it stopped. When a silo disappears mid-grain (killed, its node lost), its slots leave the
/// pool and the grain runs again elsewhere: outputs are atomic files, so nothing is duplicated. A call that is lost on
/// the way (its message died with the gateway silo it went through) is found by asking its slot what it runs, and sent
/// again. A grain that fails by itself stops the run after the grains in flight finish.
/// </summary>
public sealed class ClusterScheduler(IClusterClient client, Action<string> log)
{
    /// <summary>How often the slot list is refreshed while work waits (silos may join a standing cluster).</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Before the first grain, wait until at least this many silos are active (0: start on whatever has joined). A
    /// cluster started for one run (the Slurm job) passes its silo count: Orleans lets a silo join only once it has
    /// reached every silo listed as active, and only active silos can declare a silo dead, so a silo killed while the
    /// others are still joining would stay listed, and block them, until they give up joining (five minutes).
    /// </summary>
    public int WaitForSilos { get; init; }

    /// <summary>How long <see cref="WaitForSilos"/> waits before starting with the silos that did join; by default
    /// Orleans' own limit on a silo's join (<c>ClusterMembershipOptions.MaxJoinAttemptTime</c>, five minutes).</summary>
    public TimeSpan JoinPatience { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Counts what happened, for tests and the run summary.</summary>
    public sealed record Outcome(int Executed, int Skipped, int Retried, int ModelLoads, IReadOnlyDictionary<string, int> ModelLoadsPerSilo);

    /// <param name="specPath">The spec every silo plans from.</param>
    /// <param name="overrides">Its --set overrides.</param>
    /// <param name="grains">The grains to run (the client's own plan of the same spec).</param>
    /// <param name="engine">Recorded in each grain's stats.</param>
    /// <param name="finishedElsewhere">Dependencies outside <paramref name="grains"/> known to be done.</param>
    public async Task<Outcome> RunAsync(string specPath, IReadOnlyList<string> overrides, IReadOnlyList<IWorkGrain> grains, string engine,
        IProgress<SiloProgress>? progress, CancellationToken cancellation, IReadOnlyCollection<string>? finishedElsewhere = null)
    {
        var byKey = grains.ToDictionary(g => g.Key, StringComparer.Ordinal);
        var finished = new HashSet<string>(finishedElsewhere ?? Array.Empty<string>(), StringComparer.Ordinal);
        foreach (var g in grains)
            foreach (var d in g.DependsOn)
                if (!byKey.ContainsKey(d) && !finished.Contains(d)) throw new InvalidOperationException($"grain {g.Key} depends on unknown grain {d}");

        var clock = Stopwatch.StartNew();
        var pending = grains.Where(g => !g.IsDone()).ToList();
        if (pending.Count > 0 && WaitForSilos > 0) await WaitForSilosAsync(cancellation).ConfigureAwait(false);
        var skipped = grains.Count - pending.Count;
        foreach (var g in grains.Except(pending)) finished.Add(g.Key);
        progress?.Report(new SiloProgress(skipped, grains.Count, skipped, 0, clock.Elapsed, ""));

        var slots = new Dictionary<string, SlotInfo>(StringComparer.Ordinal);
        var busy = new HashSet<string>(StringComparer.Ordinal);
        var heldModels = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var running = new Dictionary<Task<WorkResult>, InFlight>();
        var loadsPerSilo = new Dictionary<string, int>(StringComparer.Ordinal);
        int executed = 0, retried = 0;
        long images = 0;
        Exception? failure = null;
        TimeSpan? lastRefresh = null; // null: refresh before the next dispatch
        var overrideArray = overrides.ToArray();

        // A call that ended or was given up on: it leaves the calls in flight and its slot is free again.
        InFlight Release(Task<WorkResult> call)
        {
            var work = running[call];
            running.Remove(call);
            busy.Remove(work.Slot.Key);
            return work;
        }

        // A call given up on: its task is never awaited, so observe its exception.
        InFlight Abandon(Task<WorkResult> call)
        {
            _ = call.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
            return Release(call);
        }

        void CountDone(IWorkGrain grain)
        {
            finished.Add(grain.Key);
            executed++;
            images += grain.Images;
            progress?.Report(new SiloProgress(grains.Count - pending.Count - running.Count, grains.Count, skipped, images, clock.Elapsed, grain.Key));
        }

        // A grain sent again, first in line (its output, if any, is atomic).
        void Requeue(IWorkGrain grain, string why)
        {
            log(why);
            pending.Insert(0, grain);
            retried++;
        }

        // A grain whose silo is gone runs again elsewhere; the silo's slots leave the pool.
        void RunAgain(IWorkGrain grain, SlotInfo slot, string why)
        {
            foreach (var k in slots.Keys.Where(k => slots[k].Silo == slot.Silo).ToList()) slots.Remove(k);
            Requeue(grain, $"silo {slot.Silo} {why} while running {grain.Key}: running it again on another slot");
        }

        while (pending.Count > 0 || running.Count > 0)
        {
            if (failure is null && !cancellation.IsCancellationRequested && pending.Count > 0 && (lastRefresh is not { } last || clock.Elapsed - last > RefreshInterval))
            {
                await RefreshSlotsAsync(slots).ConfigureAwait(false);
                lastRefresh = clock.Elapsed;
            }
            while (failure is null && !cancellation.IsCancellationRequested)
            {
                var ready = pending.Where(g => g.DependsOn.All(finished.Contains)).ToList();
                var free = slots.Values.Where(s => !busy.Contains(s.Key)).ToList();
                if (ready.Count == 0 || free.Count == 0) break;
                // Prefer (grain, slot) pairs where the slot already holds the grain's model; else the first ready grain.
                var (grain, slot) = ready.SelectMany(g => free.Select(s => (g, s)))
                    .FirstOrDefault(p => ModelOf(p.g) is { } m && heldModels.TryGetValue(p.s.Key, out var held) && held.Contains(m));
                if (grain is null) (grain, slot) = (ready[0], PreferEmpty(free, heldModels));
                pending.Remove(grain);
                busy.Add(slot.Key);
                var order = new WorkOrder(specPath, overrideArray, grain.Key, engine);
                running[client.GetGrain<IDeviceSlotGrain>(slot.Key).Run(order)] = new InFlight(grain, slot, clock.Elapsed);
            }
            if (running.Count == 0)
            {
                if (failure is not null || cancellation.IsCancellationRequested) break;
                if (pending.Count > 0 && !pending.Any(g => g.DependsOn.All(finished.Contains)))
                    throw new InvalidOperationException($"grains cannot start (dependency cycle?): {string.Join(", ", pending.Select(p => p.Key))}");
                if (slots.Count == 0) log("waiting for a silo with a free device slot to join the cluster ...");
                await PauseAsync(RefreshInterval, cancellation).ConfigureAwait(false);
                lastRefresh = null;
                continue;
            }
            // Wake up every refresh interval even when nothing finished: a call to a silo that died mid-grain is not
            // answered (a gateway forwarded it; the client only learns of the death from membership), so check it.
            var tick = Task.Delay(RefreshInterval);
            var first = await Task.WhenAny(running.Keys.Cast<Task>().Append(tick)).ConfigureAwait(false);
            if (first == tick)
            {
                // One membership query serves both: drop lost silos' calls and refresh the slot pool.
                var active = await RefreshSlotsAsync(slots).ConfigureAwait(false);
                lastRefresh = clock.Elapsed;
                foreach (var call in running.Where(r => !active.Contains(r.Value.Slot.Silo)).Select(r => r.Key).ToList())
                {
                    var lost = Abandon(call);
                    RunAgain(lost.Grain, lost.Slot, "left the cluster");
                }
                // A call whose message died with the gateway silo it went through is never answered, although its slot's
                // silo is alive: the slot sits idle. Send the grain again (or count it, if it finished and only the answer was lost).
                foreach (var call in await UnansweredCallsAsync(running, clock.Elapsed).ConfigureAwait(false))
                {
                    var lost = Abandon(call);
                    if (lost.Grain.IsDone())
                    {
                        log($"slot {lost.Slot.Key} finished {lost.Grain.Key} but its answer was lost; counting it as done");
                        CountDone(lost.Grain);
                    }
                    else
                    {
                        Requeue(lost.Grain, $"slot {lost.Slot.Key} is idle {(clock.Elapsed - lost.Sent).TotalSeconds:0} s after {lost.Grain.Key} was sent to it " +
                            "(the call was lost on the way, e.g. with a gateway silo that died): sending it again");
                    }
                }
                continue;
            }
            var done = (Task<WorkResult>)first;
            var doneWork = Release(done);
            var (doneGrain, doneSlot) = (doneWork.Grain, doneWork.Slot);
            if (done.IsFaulted && IsSiloLoss(done.Exception!.InnerException!))
            {
                RunAgain(doneGrain, doneSlot, $"lost ({done.Exception!.InnerException!.GetType().Name})");
                lastRefresh = null;
                continue;
            }
            if (done.IsFaulted)
            {
                var cause = done.Exception!.InnerException!;
                failure ??= new GrainFailedException(doneGrain.Key, cause);
                log($"grain {doneGrain.Key} failed ({cause.GetType().FullName}): {cause.Message}");
                continue;
            }
            var result = done.Result;
            loadsPerSilo[result.Silo] = loadsPerSilo.GetValueOrDefault(result.Silo) + result.ModelLoads;
            if (ModelOf(doneGrain) is { } model)
            {
                if (!heldModels.TryGetValue(doneSlot.Key, out var held)) heldModels[doneSlot.Key] = held = new HashSet<string>(StringComparer.Ordinal);
                held.Add(model);
            }
            CountDone(doneGrain);
        }
        if (failure is not null) throw failure;
        cancellation.ThrowIfCancellationRequested();
        return new Outcome(executed, skipped, retried, loadsPerSilo.Values.Sum(), loadsPerSilo);
    }

    /// <summary>A slot call in flight: its grain and slot, when it was sent, and how many checks in a row found the slot idle.</summary>
    private sealed class InFlight(IWorkGrain grain, SlotInfo slot, TimeSpan sent)
    {
        public IWorkGrain Grain { get; } = grain;
        public SlotInfo Slot { get; } = slot;
        public TimeSpan Sent { get; } = sent;
        public int IdleChecks { get; set; }
    }

    /// <summary>How old an unanswered call must be before its slot is asked whether it runs it.</summary>
    public static readonly TimeSpan UnansweredGrace = TimeSpan.FromSeconds(15);

    /// <summary>How long the answer to a slot's <see cref="IDeviceSlotGrain.Activity"/> is waited for.</summary>
    private static readonly TimeSpan ActivityPatience = TimeSpan.FromSeconds(3);

    // The calls whose slot was idle at two checks in a row (a refresh interval apart), long after the call was sent.
    // Idle, not merely busy with another grain: on a standing cluster a call may wait behind another run's grain.
    private async Task<List<Task<WorkResult>>> UnansweredCallsAsync(Dictionary<Task<WorkResult>, InFlight> running, TimeSpan now)
    {
        var old = running.Where(r => !r.Key.IsCompleted && now - r.Value.Sent > UnansweredGrace).ToList();
        var grains = await Task.WhenAll(old.Select(async r =>
        {
            try
            {
                return (await client.GetGrain<IDeviceSlotGrain>(r.Value.Slot.Key).Activity().WaitAsync(ActivityPatience).ConfigureAwait(false)).Grain;
            }
            catch (Exception e) when (IsSiloLoss(e))
            {
                return null; // no answer this time: decide at a later check
            }
        })).ConfigureAwait(false);
        var lost = new List<Task<WorkResult>>();
        for (var i = 0; i < old.Count; i++)
        {
            var (call, work) = (old[i].Key, old[i].Value);
            if (grains[i] is not { } grain) continue;
            work.IdleChecks = grain.Length == 0 && !call.IsCompleted ? work.IdleChecks + 1 : 0;
            if (work.IdleChecks >= 2) lost.Add(call);
        }
        return lost;
    }

    /// <summary>The model id a grain works on: the second part of "train/MODEL/..." and "score/MODEL/..." keys.</summary>
    public static string? ModelOf(IWorkGrain grain)
    {
        var parts = grain.Key.Split('/');
        return parts.Length >= 3 && parts[0] is "train" or "score" ? parts[1] : null;
    }

    // For a grain whose model no free slot holds: a slot that holds no model yet, so models spread over the slots.
    private static SlotInfo PreferEmpty(List<SlotInfo> free, Dictionary<string, HashSet<string>> held) =>
        free.FirstOrDefault(s => !held.ContainsKey(s.Key)) ?? free[0];

    /// <summary>
    /// Waits until <see cref="WaitForSilos"/> silos are active, at most <see cref="JoinPatience"/>; returns how many are.
    /// </summary>
    public async Task<int> WaitForSilosAsync(CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan? lastReport = null;
        while (!cancellation.IsCancellationRequested)
        {
            var active = await ActiveSilosAsync().ConfigureAwait(false);
            if (active.Count >= WaitForSilos) return active.Count;
            if (clock.Elapsed > JoinPatience)
            {
                log($"only {active.Count} of {WaitForSilos} silos joined within {JoinPatience.TotalSeconds:0} s; starting with them");
                return active.Count;
            }
            if (lastReport is not { } last || clock.Elapsed - last >= TimeSpan.FromSeconds(10))
            {
                log($"waiting for the cluster's silos to join: {active.Count} of {WaitForSilos} active");
                lastReport = clock.Elapsed;
            }
            await PauseAsync(TimeSpan.FromSeconds(1), cancellation).ConfigureAwait(false);
        }
        cancellation.ThrowIfCancellationRequested();
        return 0;
    }

    // A delay that ends early, without throwing, when the run is cancelled (the caller then stops starting grains).
    private static Task PauseAsync(TimeSpan delay, CancellationToken cancellation) =>
        Task.Delay(delay, cancellation).ContinueWith(_ => { }, TaskScheduler.Default);

    /// <summary>How often a failed membership query is tried at least before the store is declared gone.</summary>
    private const int MembershipAttempts = 4;

    /// <summary>
    /// How long a membership query that fails as a call through a lost silo does (<see cref="IsSiloLoss"/>) is tried
    /// again, beyond <see cref="MembershipAttempts"/>: the query travels through one gateway silo, and after that silo is
    /// killed the client keeps reaching for it until the cluster declares it dead, which takes longer on a loaded machine
    /// (CI saw four attempts over 7.5 s fail while the other silo was active).
    /// </summary>
    public TimeSpan SiloLossPatience { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The pause before a failed membership query is asked again.</summary>
    public TimeSpan MembershipRetryDelay { get; init; } = RefreshInterval / 2;

    /// <summary>
    /// How long the answer to a membership query or to a silo's slot list is waited for; a question not answered in
    /// time counts as one lost with a silo (<see cref="IsSiloLoss"/>: asked again, or the silo left out). Without it the
    /// coordinator could wait for days: an Orleans client never learns that a call it sent through a gateway silo
    /// that was then killed will not be answered, so the call waits for the grain-call timeout
    /// (<see cref="OrleansSetup.GrainCallTimeout"/>, which a slot's grain needs); CI saw a run stop making progress
    /// for five minutes after a silo kill this way.
    /// </summary>
    public TimeSpan ControlCallPatience { get; init; } = TimeSpan.FromSeconds(20);

    private async Task<HashSet<string>> ActiveSilosAsync()
    {
        MembershipEntry[] hosts;
        var clock = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                hosts = await client.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true).WaitAsync(ControlCallPatience).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException && (attempt < MembershipAttempts || IsSiloLoss(e) && clock.Elapsed < SiloLossPatience))
            {
                // The query travels through one gateway silo: when that silo has just died the call fails, or is never
                // answered, although the membership store is fine. The client moves to another gateway; ask again before giving up.
                log($"membership query failed ({ClusterUnavailableException.RootCause(e).GetType().Name}); asking again");
                await Task.Delay(MembershipRetryDelay).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // E.g. Redis restarted without its data: the membership table is gone and no silo can be trusted to be there.
                var root = ClusterUnavailableException.RootCause(e);
                throw new ClusterUnavailableException($"no silo of the cluster answers the membership query ({root.GetType().Name}: {root.Message}): " +
                    "the cluster's membership store stopped answering (e.g. Redis restarted without its data), or every silo it lists as " +
                    "active is gone (a silo killed while no other silo was active stays listed). Finished grains are kept; grains in flight finish or are redone. " +
                    "Restart the silos (`mipin silo --cluster ...`) once the membership store is back, then run the same command again " +
                    "(or `mipin resume RUN`): finished grains are skipped", e);
            }
        }
        return hosts.Where(h => h.Status == SiloStatus.Active).Select(h => h.SiloName).ToHashSet(StringComparer.Ordinal);
    }

    // Drops the slots of silos that left, adds those of silos that joined; returns the active silos' names.
    private async Task<HashSet<string>> RefreshSlotsAsync(Dictionary<string, SlotInfo> slots)
    {
        var active = await ActiveSilosAsync().ConfigureAwait(false);
        foreach (var k in slots.Keys.Where(k => !active.Contains(slots[k].Silo)).ToList()) slots.Remove(k);
        foreach (var name in active)
        {
            if (slots.Values.Any(s => s.Silo == name)) continue;
            try
            {
                foreach (var slot in await client.GetGrain<ISiloSlotsGrain>(name).Slots().WaitAsync(ControlCallPatience).ConfigureAwait(false)) slots[slot.Key] = slot;
            }
            catch (Exception e) when (IsSiloLoss(e))
            {
                log($"silo {name} did not answer ({e.GetType().Name}); leaving it out");
            }
        }
        return active;
    }

    /// <summary>Whether an exception from a slot call means its silo is gone (the grain did not fail by itself).</summary>
    public static bool IsSiloLoss(Exception e) => e is SiloGoneException or SiloUnavailableException or OrleansMessageRejectionException
        or TimeoutException or OrleansException { InnerException: SiloGoneException }
        || e.GetType().Name is "ConnectionFailedException" or "ClientNotAvailableException" or "GatewayTooBusyException";
}
