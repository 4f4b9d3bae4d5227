using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Tests.Models;

/// <summary>
/// The weight rule of Golden/make_golden_models.py, re-implemented: every state-dict tensor, in order, drawn from
/// the seeded global generator (libtorch's matches PyTorch's for the same seed).
/// </summary>
public static class DeterministicWeights
{
    public static void Fill(Module model, ulong seed)
    {
        torch.manual_seed(seed);
        using var noGrad = torch.no_grad();
        foreach (var (name, t) in model.named_state())
        {
            using var scope = torch.NewDisposeScope();
            var leaf = name[(name.LastIndexOf('.') + 1)..];
            var shape = t.shape;
            if (leaf == "num_batches_tracked") continue;
            Tensor value;
            if (leaf == "running_var") value = torch.rand(shape) * 0.5 + 0.75;
            else if (leaf is "running_mean" or "bias") value = torch.randn(shape) * 0.1;
            else if (shape.Length == 1) value = torch.randn(shape) * 0.1 + 1;
            else
            {
                long fanIn = 1;
                for (var i = 1; i < shape.Length; i++) fanIn *= shape[i];
                value = torch.randn(shape) * Math.Sqrt(2.0 / fanIn);
            }
            t.copy_(value);
        }
    }
}
