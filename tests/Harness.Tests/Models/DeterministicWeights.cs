using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Tests.Models;

/// <summary>
/// The weight rule of Golden/make_golden_models.py, re-implemented: every state-dict tensor, in order, drawn from
/// a generator seeded like the script's global one (libtorch's stream matches PyTorch's for the same seed).
/// </summary>
public static class DeterministicWeights
{
    public static void Fill(Module model, ulong seed)
    {
        using var g = new Generator(seed);
        using var noGrad = torch.no_grad();
        foreach (var (name, t) in model.named_state())
        {
            using var scope = torch.NewDisposeScope();
            var leaf = name[(name.LastIndexOf('.') + 1)..];
            var shape = t.shape;
            if (leaf == "num_batches_tracked") continue;
            Tensor value;
            if (leaf == "running_var") value = torch.rand(shape, generator: g) * 0.5 + 0.75;
            else if (leaf is "running_mean" or "bias") value = torch.randn(shape, generator: g) * 0.1;
            else if (shape.Length == 1) value = torch.randn(shape, generator: g) * 0.1 + 1;
            else
            {
                long fanIn = 1;
                for (var i = 1; i < shape.Length; i++) fanIn *= shape[i];
                value = torch.randn(shape, generator: g) * Math.Sqrt(2.0 / fanIn);
            }
            t.copy_(value);
        }
    }
}
