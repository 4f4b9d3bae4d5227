namespace Harness.Torch.Serialization;

/// <summary>
/// A Python global that <see cref="RestrictedUnpickler"/> agreed to resolve. It is only a name:
/// nothing is imported or called; REDUCE interprets the few known names itself.
/// </summary>
public sealed record PickleGlobal(string Module, string Name)
{
    /// <summary>For <c>torch.FloatStorage</c> and friends, the element type; otherwise null.</summary>
    public ScalarType? StorageDType { get; init; }

    public string QualifiedName => $"{Module}.{Name}";

    public override string ToString() => QualifiedName;

    public static readonly PickleGlobal OrderedDict = new("collections", "OrderedDict");
    public static readonly PickleGlobal RebuildTensorV2 = new("torch._utils", "_rebuild_tensor_v2");

    // The legacy typed-storage classes torch.save still names in persistent ids (torch <= 2.x).
    private static readonly Dictionary<string, ScalarType> StorageTypes = new()
    {
        ["FloatStorage"] = ScalarType.Float32,
        ["DoubleStorage"] = ScalarType.Float64,
        ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16,
        ["LongStorage"] = ScalarType.Int64,
        ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8,
        ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    /// <summary>The allow-list: returns the global for an accepted name, or null for anything else.</summary>
    public static PickleGlobal? TryResolve(string module, string name)
    {
        if (module == OrderedDict.Module && name == OrderedDict.Name) return OrderedDict;
        if (module == RebuildTensorV2.Module && name == RebuildTensorV2.Name) return RebuildTensorV2;
        if (module == "torch" && StorageTypes.TryGetValue(name, out var dtype))
            return new PickleGlobal(module, name) { StorageDType = dtype };
        return null;
    }
}
