using Harness.Models;
using Harness.Torch;

namespace Harness.Attribution;

/// <summary>
/// The result of one forward and one backward pass of Σ_b logits[b, target_b]: logits, d/d(input), and for each
/// requested layer its activation A and gradient dA. Computed with torch.autograd.grad, so no parameter's .grad is
/// touched and the frozen model needs no requires_grad.
/// </summary>
public sealed class GradientPass : IDisposable
{
    private readonly List<Tensor> _owned = new();

    private GradientPass(Tensor logits, Tensor? inputGradient, Dictionary<string, (Tensor A, Tensor Grad)> layers)
    {
        Logits = logits;
        InputGradient = inputGradient;
        Layers = layers;
        _owned.Add(logits);
        if (inputGradient is not null) _owned.Add(inputGradient);
        foreach (var (a, g) in layers.Values)
        {
            _owned.Add(a);
            _owned.Add(g);
        }
    }

    public Tensor Logits { get; }

    /// <summary>d Σ y_target / d input (B×C×H×W), or null if no method asked for it.</summary>
    public Tensor? InputGradient { get; }

    /// <summary>Activation and gradient per requested layer.</summary>
    public IReadOnlyDictionary<string, (Tensor A, Tensor Grad)> Layers { get; }

    internal static GradientPass Run(ClassifierModel model, Tensor images, Tensor targets, IReadOnlyCollection<string> layers, bool inputGradient)
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        var names = layers.ToList();
        var input = images.detach();
        Tensor logits;
        IReadOnlyDictionary<string, Tensor> captured;
        if (inputGradient || names.Count == 0)
        {
            // Track the input: with a frozen model it is the only leaf that makes autograd record the graph.
            input.requires_grad = true;
            (logits, captured) = model.Capture(input, names);
        }
        else
        {
            // Only layer gradients: the stages below the lowest requested layer run without recording a graph
            // (as pytorch-grad-cam's hook does with a frozen model), and its output becomes the leaf. Same values,
            // less time and memory: no autograd bookkeeping or saved tensors below that layer.
            var lowest = names.OrderBy(model.IndexOf).First();
            Tensor start;
            using (torch.no_grad()) start = model.ForwardTo(images, lowest);
            var leaf = start.detach();
            leaf.requires_grad = true;
            (logits, captured) = model.CaptureFrom(leaf, lowest, names);
        }
        var wrt = new List<Tensor>();
        if (inputGradient) wrt.Add(input);
        wrt.AddRange(names.Select(n => captured[n]));
        var selected = logits.gather(1, targets.unsqueeze(1)).sum();
        var grads = wrt.Count == 0 ? Array.Empty<Tensor?>() : torch.autograd.grad(new[] { selected }, wrt.ToArray(), allow_unused: true);
        Tensor Keep(Tensor t) => t.detach().DetachFromDisposeScope();
        Tensor GradOrZeros(Tensor? g, Tensor like) => g is null ? torch.zeros_like(like) : g;
        var offset = inputGradient ? 1 : 0;
        var result = new Dictionary<string, (Tensor, Tensor)>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
            result[names[i]] = (Keep(captured[names[i]]), Keep(GradOrZeros(grads[offset + i], captured[names[i]])));
        return new GradientPass(Keep(logits), inputGradient ? Keep(GradOrZeros(grads[0], input)) : null, result);
    }

    /// <summary>
    /// d Σ_b logits[b, targetIndex_b] / d images (same shape as <paramref name="images"/>, detached), for methods
    /// that need gradients at inputs other than the batch's (SmoothGrad's noisy copies, Integrated Gradients' path
    /// points). One forward and one backward pass; the result is in the caller's dispose scope.
    /// </summary>
    internal static Tensor InputGradientAt(ClassifierModel model, Tensor images, Tensor targetIndex)
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        var input = images.detach();
        input.requires_grad = true;
        var selected = model.forward(input).gather(1, targetIndex.unsqueeze(1)).sum();
        var g = torch.autograd.grad(new[] { selected }, new[] { input }, allow_unused: true)[0];
        return (g ?? torch.zeros_like(input)).detach().MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var t in _owned) t.Dispose();
    }
}
