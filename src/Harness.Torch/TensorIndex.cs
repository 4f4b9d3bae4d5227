namespace Harness.Torch;

/// <summary>What one position of a <see cref="Tensor"/> index does.</summary>
public enum TensorIndexKind
{
    Single,
    Slice,
    None,
    Ellipsis,
    Tensor,
}

/// <summary>
/// One entry of a tensor index: an integer, a slice (C# ranges convert: <c>1..3</c>, <c>..^1</c>), a new axis
/// (<see cref="None"/>), an ellipsis, or an index/mask tensor.
/// </summary>
public readonly struct TensorIndex
{
    private TensorIndex(TensorIndexKind kind, long? start = null, long? stop = null, long step = 1, Tensor? tensor = null)
    {
        Kind = kind;
        Start = start;
        Stop = stop;
        Step = step;
        Tensor = tensor;
    }

    public TensorIndexKind Kind { get; }
    public long? Start { get; }
    public long? Stop { get; }
    public long Step { get; }
    public Tensor? Tensor { get; }

    public static TensorIndex Single(long index) => new(TensorIndexKind.Single, start: index);

    public static TensorIndex Slice(long? start = null, long? stop = null, long step = 1) =>
        step > 0 ? new(TensorIndexKind.Slice, start, stop, step) : throw new ArgumentOutOfRangeException(nameof(step), "slice step must be positive");

    public static TensorIndex None { get; } = new(TensorIndexKind.None);
    public static TensorIndex Ellipsis { get; } = new(TensorIndexKind.Ellipsis);
    public static TensorIndex Colon { get; } = Slice();

    public static implicit operator TensorIndex(long index) => Single(index);
    public static implicit operator TensorIndex(int index) => Single(index);
    public static implicit operator TensorIndex(Index index) => Single(index.IsFromEnd ? -index.Value : index.Value);
    public static implicit operator TensorIndex(Tensor tensor) => new(TensorIndexKind.Tensor, tensor: tensor);

    public static implicit operator TensorIndex(Range range)
    {
        long? start = range.Start.IsFromEnd ? -range.Start.Value : range.Start.Value;
        if (start == 0) start = null;
        long? stop = range.End.IsFromEnd ? (range.End.Value == 0 ? null : -range.End.Value) : range.End.Value;
        return Slice(start, stop);
    }
}
