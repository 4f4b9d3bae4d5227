namespace Harness.Torch;

/// <summary>
/// How a 4-D tensor's elements are laid out in memory, numbered like c10::MemoryFormat so values cross the native ABI
/// unchanged (torch.contiguous_format, torch.channels_last, ...). The logical shape stays B×C×H×W either way.
/// </summary>
public enum MemoryFormat
{
    /// <summary>Row-major B×C×H×W (torch.contiguous_format), PyTorch's default.</summary>
    Contiguous = 0,

    /// <summary>Keep the input's layout (torch.preserve_format).</summary>
    Preserve = 1,

    /// <summary>B×H×W×C in memory (torch.channels_last): on the CPU, oneDNN convolutions run without reordering.</summary>
    ChannelsLast = 2,
}
