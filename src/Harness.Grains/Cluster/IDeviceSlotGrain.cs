using Orleans.Concurrency;

namespace Harness.Grains.Cluster;

/// <summary>
/// One device slot of one silo (a CPU slot or a GPU), as an Orleans grain pinned to its silo. Orleans grains run one
/// call at a time, so a slot never runs two grains at once; the slot keeps the models it loaded between grains (at most
/// its silo's models per slot, the least recently used going first), so shards of one model on one slot load it once.
/// </summary>
public interface IDeviceSlotGrain : IGrainWithStringKey
{
    /// <summary>Runs one grain of a plan on this slot and returns when its output is written.</summary>
    Task<WorkResult> Run(WorkOrder order);

    /// <summary>The model ids this slot holds loaded (for diagnostics and tests; the scheduler keeps its own record).</summary>
    [AlwaysInterleave]
    Task<string[]> LoadedModels();

    /// <summary>The name of the silo this slot's activation runs on (an empty call: placement checks, round trips).</summary>
    Task<string> Silo();

    /// <summary>What the slot is doing; answered while a grain runs (interleaved with <see cref="Run"/>).</summary>
    [AlwaysInterleave]
    Task<SlotActivity> Activity();
}

/// <summary>A silo's directory of its own device slots, pinned to that silo (key: the silo's name).</summary>
public interface ISiloSlotsGrain : IGrainWithStringKey
{
    /// <summary>The silo's slots.</summary>
    Task<SlotInfo[]> Slots();
}
