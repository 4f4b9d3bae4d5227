using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Attribution.MipIn;

/// <summary>Inverse of Linear(in → out): a learned Linear(out → in), initialised with the forward weight's transpose and zero bias.</summary>
public sealed class LinearInverse : InverseLayer
{
    private readonly Linear _forward;

    public LinearInverse(Linear forward)
    {
        _forward = forward;
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

    public override bool SupportsPseudoInverseFit => true;

    /// <summary>
    /// G = argmin Σ‖x − G s‖² + λ‖G − W⁺‖² with no bias, where W⁺ = Wᵀ(WWᵀ)⁻¹ is the forward weight's pseudo-inverse:
    /// G = (XᵀS + λW⁺)(SᵀS + λI)⁻¹, λ = <paramref name="lambda"/>·tr(SᵀS)/out (relative to the signal's scale). The data
    /// fit where the training signals span, the minimum-norm inverse elsewhere; and when the signals are the layer's
    /// own pre-bias outputs (S = XWᵀ), WG = I exactly for any λ &gt; 0, so the inverse reproduces every logit.
    /// </summary>
    public override void FitPseudoInverse(Tensor signals, Tensor targets, double lambda)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var s = signals.to(ScalarType.Float64);                        // N × out
        var x = targets.to(ScalarType.Float64);                        // N × in
        var w = _forward.weight.to(ScalarType.Float64);                // out × in
        var outFeatures = w.size(0);
        var eye = torch.eye(outFeatures, ScalarType.Float64, s.device);
        // W⁺ through the normal equations, with a tiny ridge so a rank-deficient W still has one.
        var gram = w.matmul(w.t());
        var pinv = w.t().matmul(torch.linalg.solve(gram + eye * (1e-10 * w.pow(2).sum().item<double>() / outFeatures), eye)); // in × out
        var ss = s.t().matmul(s);
        var scale = Math.Max(lambda * s.pow(2).sum().item<double>() / outFeatures, 1e-12); // tr(SᵀS) = ‖S‖²
        // G (in × out) = (XᵀS + λW⁺)(SᵀS + λI)⁻¹, solved as (SᵀS + λI) Gᵀ = (XᵀS + λW⁺)ᵀ (the matrix is symmetric).
        var rhs = (x.t().matmul(s) + pinv * scale).t();               // out × in
        var g = torch.linalg.solve(ss + eye * scale, rhs).t();       // in × out
        weight.copy_(g.to(ScalarType.Float32));
        bias.zero_();
    }
}
