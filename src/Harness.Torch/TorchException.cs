namespace Harness.Torch;

/// <summary>Why a native call failed.</summary>
public enum TorchStatus
{
    /// <summary>libtorch raised an error (shape mismatch, wrong dtype, out of memory, ...).</summary>
    Error = 1,
    /// <summary>The shim was called with arguments it cannot pass on.</summary>
    InvalidArgument = 2,
    /// <summary>The operator is not registered in the loaded libtorch.</summary>
    NotFound = 3,
}

/// <summary>
/// An error reported by libtorch or the native shim. The message is libtorch's own, prefixed with the operator
/// name (for example "aten::conv2d: Given groups=1, weight of size [...], expected input[...] ...").
/// </summary>
public sealed class TorchException : Exception
{
    public TorchException(string message, TorchStatus status) : base(message) => Status = status;

    /// <summary>The native status code.</summary>
    public TorchStatus Status { get; }
}
