using Harness.Grains.Cluster;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace Harness.Silo.Cluster;

/// <summary>
/// Placement for grains that belong to one silo: a device slot (<see cref="IDeviceSlotGrain"/>) must run on the silo
/// that owns the device, so its key starts with that silo's name ("SILO|cuda:0|0") and the director places it there.
/// This is what makes placement GPU-aware: a CUDA slot exists only on a silo that advertised that GPU, so a CUDA grain
/// never lands on a silo without one.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class PinnedToSiloPlacement : PlacementStrategy
{
    public static readonly PinnedToSiloPlacement Instance = new();
}

/// <summary>Marks a grain class as <see cref="PinnedToSiloPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class PinnedToSiloAttribute() : PlacementAttribute(PinnedToSiloPlacement.Instance);

/// <summary>Places a pinned grain on the active silo whose name its key starts with; fails when that silo is gone.</summary>
public sealed class PinnedToSiloDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString() ?? "";
        var name = SlotInfo.SiloOf(key);
        var members = membership.CurrentSnapshot.Members;
        foreach (var silo in context.GetCompatibleSilos(target))
            if (members.TryGetValue(silo, out var member) && member.Name == name && member.Status == SiloStatus.Active)
                return Task.FromResult(silo);
        throw new SiloGoneException($"silo '{name}' is not an active member of the cluster, so its slot {key} cannot run");
    }
}

/// <summary>The silo that owns a slot has left the cluster (stopped, killed, or never joined); the work goes elsewhere.</summary>
[GenerateSerializer]
public sealed class SiloGoneException : Exception
{
    public SiloGoneException(string message) : base(message) { }
}
