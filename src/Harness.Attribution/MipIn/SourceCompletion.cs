using Harness.Models;
using Harness.Torch;

namespace Harness.Attribution.MipIn;

/// <summary>
/// Adapts an inverted source signal S_k to its sample so that, pushed forward from layer k through the real network,
/// it reproduces the target logit: y_c(S_k) = y_c (MIP-IN option <c>complete: target</c>). The inverse is shared by
/// every image (a class average); this is the smallest step that makes it exact for this image, taken along
/// d = (X_k / X̄_k) ⊙ ∇y_c(S_k), where X̄_k is each channel's spatial mean (for a vector layer X_k / X̄_k is 1[X_k &gt; 0]) —
/// the sample's own activation pattern, spread like the proportional pooling inverse and weighted by the logit's
/// sensitivity, so S_k stays zero where X_k is (the rectifier's gate is kept) — by Newton's method on the scalar α of
/// S_k + α·d. Above a layer whose
/// head is affine (pooling, flatten, dropout, linear: MobileNetV2 features.18, ResNet layer4) the first step is exact;
/// through rectifiers (VGG's classifier, the MNIST MLP) a few steps converge unless the rectifiers' pattern flips.
/// Completeness then holds by construction, and minimality measures what the distractor X_k − S_k still carries.
/// </summary>
public static class SourceCompletion
{
    /// <summary>Newton steps at most; each is one forward and one backward pass from layer k.</summary>
    public const int MaxSteps = 8;

    /// <summary>Stop when every image's |y_c(S) − y_c| ≤ this × max(|y_c|, 1).</summary>
    public const double Tolerance = 1e-6;

    /// <returns>The completed source (a new tensor in the caller's scope).</returns>
    public static Tensor Complete(ClassifierModel model, string layer, Tensor source, Tensor activation, Tensor targets, Tensor targetLogits)
    {
        using var scope = torch.NewDisposeScope();
        var s = source.detach().to(ScalarType.Float32);
        var index = targets.unsqueeze(1);
        var goal = targetLogits.detach().to(ScalarType.Float32);
        var reduce = Enumerable.Range(1, (int)s.ndim - 1).Select(d => (long)d).ToArray();
        var scale = goal.abs().clamp(min: 1.0);
        var perImage = new long[s.ndim]; // α per image, broadcast over the other axes
        Array.Fill(perImage, 1L);
        perImage[0] = s.size(0);
        // The sample's activation pattern, each channel scaled to spatial mean 1 (for a vector layer: 1[X > 0]), so the
        // correction spreads like the proportional pooling inverse and weak channels count as much as strong ones.
        var channelMean = activation.ndim == 4 ? activation.mean(new long[] { 2, 3 }, keepdim: true) : activation;
        var pattern = torch.where(channelMean.gt(0), activation / torch.where(channelMean.gt(0), channelMean, torch.ones_like(channelMean)),
            torch.zeros_like(activation));
        for (var step = 0; step < MaxSteps; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            Tensor y, grad;
            using (torch.enable_grad())
            {
                var input = s.detach().requires_grad_();
                y = model.ForwardFrom(input, layer).gather(1, index).squeeze(1);
                grad = torch.autograd.grad(new[] { y.sum() }, new[] { input })[0]!;
            }
            var residual = goal - y.detach();
            if ((residual.abs() / scale).max().item<float>() <= Tolerance) break;
            var direction = pattern * grad;
            var slope = (grad * direction).sum(reduce);
            // Images whose logit does not move along d (no active unit reaches it) keep their source.
            var alpha = torch.where(slope.abs().gt(1e-20), residual / torch.where(slope.abs().gt(1e-20), slope, torch.ones_like(slope)), torch.zeros_like(slope));
            s = (s + alpha.reshape(perImage) * direction).MoveToOuterDisposeScope();
        }
        return s.MoveToOuterDisposeScope();
    }
}
