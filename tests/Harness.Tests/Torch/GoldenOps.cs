using Harness.Torch;

namespace Harness.Tests.Torch;

/// <summary>
/// The reference tensors written by Golden/make_golden_ops.py with Debian's PyTorch 1.13 (inputs and PyTorch's
/// outputs, keyed "case.name"). Loaded once per test class.
/// </summary>
public sealed class GoldenOps : IDisposable
{
    public GoldenOps() => Tensors = StateDict.Load(TestPaths.Fixture("Golden", "ops.safetensors"));

    public StateDict Tensors { get; }

    public Tensor this[string key] => Tensors[key];

    public void Dispose() => Tensors.Dispose();
}
