using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Attribution.MipIn;

/// <summary>Inverse of Linear(in → out): a learned Linear(out → in), initialised with the forward weight's transpose and zero bias.</summary>
public sealed class LinearInverse : InverseLayer
{
    public LinearInverse(Linear forward)
    {
        using var noGrad = torch.no_grad();
        RegisterParameter("weight", forward.weight.t().contiguous());
        RegisterParameter("bias", torch.zeros(new[] { forward.InFeatures }, device: forward.weight.device));
    }

    public Tensor weight => GetParameter("weight")!;
    public Tensor bias => GetParameter("bias")!;

    public override Tensor Invert(Tensor signal, Tensor input, Tensor output) => torch.nn.functional.linear(signal, weight, bias);

    public override bool SupportsRidge => true;

    /// <summary>[W b] = argmin ‖X − S Wᵀ − b‖² + λ‖W‖², solved exactly (the bias is not penalised).</summary>
    public override void FitRidge(Tensor signals, Tensor targets, double lambda)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var s = signals.to(ScalarType.Float64);
        var x = targets.to(ScalarType.Float64);
        var ones = torch.ones(new[] { s.size(0), 1L }, ScalarType.Float64, s.device);
        var a = torch.cat(new[] { s, ones }, 1);                      // N × (out+1)
        var penalty = torch.eye(a.size(1), ScalarType.Float64, s.device) * lambda;
        penalty[^1, ^1] = torch.scalar_tensor(0.0, s.device);          // no penalty on the bias
        var solution = torch.linalg.solve(a.t().matmul(a) + penalty, a.t().matmul(x)); // (out+1) × in
        weight.copy_(solution[..^1].t().to(ScalarType.Float32));
        bias.copy_(solution[^1].to(ScalarType.Float32));
    }
}
