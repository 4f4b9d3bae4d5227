using Harness.Torch;
using Harness.Torch.Modules;

namespace Harness.Attribution;

/// <summary>
/// Guided backpropagation ("guided_backprop", Springenberg et al. 2015): the input gradient of y_t where every
/// ReLU passes back only positive gradients at positive inputs, grad_in = ReLU(grad_out) ⊙ 1[x > 0] (for ReLU6
/// the module's own mask 1[0 &lt; x &lt; 6]), as the usual hook implementations (clamp of the ReLU's input gradient
/// at 0). Reduced over channels like the gradient (default max_abs; option "reduction").
/// Computed stage by stage: one forward pass keeping each stage's input, then vector-Jacobian products backwards
/// through each stage with torch.autograd.grad, clamping at stages that are ReLU/ReLU6 modules.
/// Approximation: the rule is applied only at top-level ReLU stages. Residual blocks (ResNet BasicBlock/Bottleneck,
/// MobileNetV2 InvertedResidual) are single stages whose inner ReLUs pass plain gradients, so for ResNet and
/// MobileNetV2 this differs from hook-based guided backprop (exact for VGG, AlexNet and the small CNN, whose ReLUs
/// are all stages). Costs one forward and one backward pass; it does not use the batch's shared pass.
/// </summary>
public sealed class GuidedBackpropMethod : IAttributionMethod
{
    public GuidedBackpropMethod(ChannelReduction reduction = ChannelReduction.MaxAbs) => Reduction = reduction;

    public string Name => "guided_backprop";

    public ChannelReduction Reduction { get; }

    public Tensor Explain(AttributionBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        var stages = batch.Model.Stages;
        var inputs = new Tensor[stages.Count];
        var outputs = new Tensor[stages.Count];
        using (torch.enable_grad())
        {
            var x = batch.Images;
            for (var i = 0; i < stages.Count; i++)
            {
                // Each stage gets a fresh leaf, so each backward step below is one stage's vector-Jacobian product.
                inputs[i] = x.detach();
                inputs[i].requires_grad = true;
                outputs[i] = stages[i].Module.forward(inputs[i]);
                x = outputs[i];
            }
        }
        var logits = outputs[^1];
        var classes = torch.arange(logits.size(1), device: logits.device).unsqueeze(0);
        var g = classes.eq(batch.TargetIndex.unsqueeze(1)).to(logits.dtype); // one-hot: d Σ_b y_t(b) / d logits
        for (var i = stages.Count - 1; i >= 0; i--)
        {
            var gIn = torch.autograd.grad(new[] { outputs[i] }, new[] { inputs[i] }, new Tensor?[] { g }, allow_unused: true)[0]
                      ?? torch.zeros_like(inputs[i]);
            if (stages[i].Module is ReLU or ReLU6) gIn = gIn.clamp(min: 0);
            g = gIn;
            outputs[i].Dispose(); // free each stage's graph and activation as soon as it is used
        }
        return ChannelReductions.Reduce(g, Reduction).MoveToOuterDisposeScope();
    }
}
