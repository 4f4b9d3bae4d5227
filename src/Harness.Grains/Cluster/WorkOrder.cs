namespace Harness.Grains.Cluster;

/// <summary>
/// What a device slot is asked to run: one grain of the plan of an experiment, named by the spec file and its
/// overrides (every silo plans the same graph from them: planning is deterministic) and the grain's key. Tensors never
/// cross a grain call; paths and keys do.
/// </summary>
/// <param name="SpecPath">The experiment spec (absolute path, readable by every silo).</param>
/// <param name="Overrides">The --set overrides, KEY.PATH=VALUE.</param>
/// <param name="GrainKey">The key of the grain to run, e.g. "score/mobilenet_v2@coral/0003".</param>
/// <param name="Engine">The engine name recorded in the grain's stats.</param>
[GenerateSerializer, Immutable]
public sealed record WorkOrder(
    [property: Id(0)] string SpecPath,
    [property: Id(1)] string[] Overrides,
    [property: Id(2)] string GrainKey,
    [property: Id(3)] string Engine);

/// <summary>What a slot reports back after a grain: where it ran, how long, and whether it had to load the model.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkResult(
    [property: Id(0)] string GrainKey,
    [property: Id(1)] string Silo,
    [property: Id(2)] string Device,
    [property: Id(3)] double Seconds,
    [property: Id(4)] int Images,
    [property: Id(5)] int ModelLoads);

/// <summary>A device slot of a silo, as the scheduler sees it.</summary>
/// <param name="Key">The slot grain's key: "SILO|DEVICE|INDEX".</param>
/// <param name="Silo">The silo's name.</param>
/// <param name="Device">"cpu", "cuda:0", ...</param>
[GenerateSerializer, Immutable]
public sealed record SlotInfo(
    [property: Id(0)] string Key,
    [property: Id(1)] string Silo,
    [property: Id(2)] string Device)
{
    /// <summary>The slot grain key of slot <paramref name="index"/> of <paramref name="silo"/> on <paramref name="device"/>.</summary>
    public static string KeyOf(string silo, string device, int index) => $"{silo}|{device}|{index}";

    /// <summary>The silo name a slot or silo grain key starts with.</summary>
    public static string SiloOf(string key) => key.Split('|')[0];
}

/// <summary>What a slot is doing now, for `mipin status --watch`.</summary>
/// <param name="Slot">The slot's key.</param>
/// <param name="Silo">Its silo.</param>
/// <param name="Device">Its device.</param>
/// <param name="Grain">The grain it runs ("" when idle).</param>
/// <param name="SpecPath">The spec of that grain's run ("" when idle).</param>
/// <param name="Since">When the current grain started (UTC), or when the slot went idle.</param>
/// <param name="Finished">Grains this slot has finished since its silo started.</param>
/// <param name="Images">Images of those grains.</param>
[GenerateSerializer, Immutable]
public sealed record SlotActivity(
    [property: Id(0)] string Slot,
    [property: Id(1)] string Silo,
    [property: Id(2)] string Device,
    [property: Id(3)] string Grain,
    [property: Id(4)] string SpecPath,
    [property: Id(5)] DateTime Since,
    [property: Id(6)] int Finished,
    [property: Id(7)] long Images);
