using Harness.Grains.Cluster;
using Harness.Torch;

namespace Harness.Silo.Cluster;

/// <summary>Who this silo is: its name in the cluster and the device slots it offers (one per entry, e.g. cpu, cpu, cuda:0).</summary>
public sealed class SiloIdentity
{
    public SiloIdentity(string name, IReadOnlyList<Device> devices)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Contains('|')) throw new ArgumentException($"silo name '{name}' must be non-empty and without '|'", nameof(name));
        if (devices.Count == 0) throw new ArgumentException("a silo needs at least one device slot", nameof(devices));
        Name = name;
        Devices = devices;
        Slots = devices.Select((d, i) => new SlotInfo(SlotInfo.KeyOf(name, d.ToString(), i), name, d.ToString())).ToArray();
    }

    public string Name { get; }
    public IReadOnlyList<Device> Devices { get; }
    public SlotInfo[] Slots { get; }

    /// <summary>How many models each slot keeps loaded between grains (<see cref="Harness.Grains.GrainContext.MaxModels"/>).</summary>
    public int ModelsPerSlot { get; init; } = Harness.Grains.GrainContext.DefaultMaxModels;

    /// <summary>The device of slot <paramref name="key"/>.</summary>
    public Device DeviceOf(string key)
    {
        var index = Array.FindIndex(Slots, s => s.Key == key);
        if (index < 0) throw new ArgumentException($"slot {key} is not one of silo {Name}'s ({string.Join(", ", Slots.Select(s => s.Key))})", nameof(key));
        return Devices[index];
    }
}
