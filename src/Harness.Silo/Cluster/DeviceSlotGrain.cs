using Harness.Grains.Cluster;

namespace Harness.Silo.Cluster;

/// <summary>
/// A device slot as an Orleans grain, pinned to the silo that owns the device (<see cref="PinnedToSiloAttribute"/>).
/// Not reentrant: one grain at a time per slot. The work itself is done by the silo's <see cref="SlotWorkers"/>.
/// </summary>
[PinnedToSilo]
public sealed class DeviceSlotGrain(SlotWorkers workers, SiloIdentity identity) : Grain, IDeviceSlotGrain
{
    public Task<string> Silo() => Task.FromResult(identity.Name);

    public Task<SlotActivity> Activity() => Task.FromResult(workers.Activity(this.GetPrimaryKeyString()));

    public Task<WorkResult> Run(WorkOrder order) => workers.RunAsync(this.GetPrimaryKeyString(), order);

    public Task<string[]> LoadedModels() => Task.FromResult(workers.LoadedModels(this.GetPrimaryKeyString()));
}

/// <summary>A silo's list of its own slots, pinned to it (key: the silo's name).</summary>
[PinnedToSilo]
public sealed class SiloSlotsGrain(SiloIdentity identity) : Grain, ISiloSlotsGrain
{
    public Task<SlotInfo[]> Slots() => Task.FromResult(identity.Slots);
}
