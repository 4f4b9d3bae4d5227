using Harness.Models;
using Harness.Torch;
using Harness.Torch.Optim;

namespace Harness.Attribution.MipIn;

/// <summary>
/// Recursive, layer-wise MIP-IN training on a frozen classifier. The training images' forward activations from
/// layer k to the output are computed once and cached; the signal starts as the logits, S_L = y; then for each
/// stage l from the top down to k+1, g_l is fitted to minimise ‖X_{l-1} − g_l(S_l ⊙ 1[X_l &gt; 0])‖² over the
/// training set, and the signal is passed down through the fitted g_l before the next stage is trained.
/// </summary>
public static class MipInTrainer
{
    public sealed record Result(InverseNetwork Network, IReadOnlyList<LayerReport> Layers);

    /// <param name="batches">Preprocessed training images on the model's device, in a fixed order.</param>
    public static Result Train(ClassifierModel model, string layer, IReadOnlyList<Tensor> batches, MipInTrainingOptions options,
        IProgress<TrainingProgress>? progress = null)
    {
        options.Validate();
        if (batches.Count == 0) throw new ArgumentException("MIP-IN training needs at least one batch of images", nameof(batches));
        using var generator = new Generator(options.Seed);
        var activations = new List<Dictionary<string, Tensor>>();
        var signals = new List<Tensor>();
        // Per stage: the gated signals, and the trained inverse's reconstructions from the final error measurement,
        // which become the next signals (so the inverse is not applied to the training set a second time). Held out
        // here so that a failure anywhere frees them too.
        var gated = new List<Tensor>();
        var reconstructions = new List<Tensor>();
        InverseNetwork? network = null;
        try
        {
            CacheActivations(model, layer, batches, options, activations, signals);
            // The first batch's cached activations give the shapes the inverse needs: no extra forward pass.
            network = InverseNetwork.Create(model, layer, activations[0], options.PoolInverse == "proportional");
            var reports = new List<LayerReport>();
            foreach (var (stage, inverse) in network.Inverses)
            {
                var name = model.Stages[stage].Name;
                var inputName = model.Stages[stage - 1].Name;
                using (torch.no_grad())
                    for (var b = 0; b < batches.Count; b++)
                    {
                        gated.Add(network.Gate(stage, signals[b], activations[b][name]).DetachFromDisposeScope());
                        signals[b].Dispose(); // read only through the gated signal (an alias when not rectified) from here on
                    }

                double? initial = null, final = null;
                var keptInitialisation = false;
                if (inverse.IsTrainable)
                {
                    initial = RelativeError(inverse, gated, activations, name, inputName);
                    using var snapshot = inverse.state_dict();
                    if (options.Optimizer == "ridge" && inverse.SupportsRidge)
                        FitClosedForm(inverse, gated, activations, inputName, options.RidgeLambda, pseudoInverse: false);
                    else if (options.Optimizer == "pinv" && inverse.SupportsPseudoInverseFit)
                        FitClosedForm(inverse, gated, activations, inputName, options.RidgeLambda, pseudoInverse: true);
                    else
                        FitAdam(inverse, gated, activations, name, inputName, options, generator, progress);
                    final = RelativeError(inverse, gated, activations, name, inputName, reconstructions);
                    if (!(final <= initial))
                    {
                        // A few Adam steps on a badly scaled signal can overshoot: never return worse than the start.
                        inverse.load_state_dict(snapshot);
                        final = initial;
                        keptInitialisation = true;
                        DisposeAll(reconstructions);
                    }
                }
                reports.Add(new LayerReport(name, inverse.GetType().Name, inverse.IsTrainable, initial, final, keptInitialisation));

                using (torch.no_grad())
                    for (var b = 0; b < batches.Count; b++)
                    {
                        using var scope = torch.NewDisposeScope();
                        signals[b] = reconstructions.Count > 0
                            ? reconstructions[b]
                            : inverse.Invert(gated[b], activations[b][inputName], activations[b][name]).detach().DetachFromDisposeScope();
                    }
                reconstructions.Clear(); // now owned by signals
                DisposeAll(gated);
            }
            network.requires_grad_(false);
            return new Result(network, reports);
        }
        catch
        {
            network?.Dispose();
            throw;
        }
        finally
        {
            foreach (var dict in activations)
                foreach (var t in dict.Values) t.Dispose();
            foreach (var s in signals) s.Dispose();
            DisposeAll(gated);
            DisposeAll(reconstructions);
        }
    }

    private static void DisposeAll(List<Tensor> tensors)
    {
        foreach (var t in tensors) t.Dispose();
        tensors.Clear();
    }

    private static void CacheActivations(ClassifierModel model, string layer, IReadOnlyList<Tensor> batches,
        MipInTrainingOptions options, List<Dictionary<string, Tensor>> activations, List<Tensor> signals)
    {
        long bytes = 0;
        var required = InverseNetwork.RequiredStagesOf(model, layer);
        using var noGrad = torch.no_grad();
        foreach (var batch in batches)
        {
            using var scope = torch.NewDisposeScope();
            var (logits, captured) = model.Capture(batch, required);
            var kept = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var name in required)
            {
                kept[name] = captured[name].detach().DetachFromDisposeScope();
                bytes += kept[name].numel() * 4;
            }
            activations.Add(kept);
            var signal = options.TrainingSignal switch
            {
                "target" => logits * torch.nn.functional.one_hot(logits.argmax(1), logits.size(1)).to(logits.dtype),
                "logits_no_bias" => logits - OutputBias(model, logits),
                _ => logits,
            };
            signals.Add(signal.detach().DetachFromDisposeScope());
            if (bytes > options.CacheLimitMb * 1024 * 1024)
                throw new InvalidOperationException(
                    $"MIP-IN training activations from {layer} up need more than {options.CacheLimitMb} MiB; " +
                    "use fewer training images, a layer nearer the output, or raise the cache limit (mipin.cache_mb).");
        }
    }

    private static void FitAdam(InverseLayer inverse, List<Tensor> gated, List<Dictionary<string, Tensor>> activations,
        string name, string inputName, MipInTrainingOptions options, Generator generator, IProgress<TrainingProgress>? progress)
    {
        using var optimizer = new Adam(inverse.parameters(), lr: options.LearningRate);
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            long[] order;
            using (torch.NewDisposeScope()) order = torch.randperm(gated.Count, generator: generator).ToArray<long>();
            double total = 0;
            foreach (var b in order)
            {
                using var scope = torch.NewDisposeScope();
                var target = activations[(int)b][inputName];
                var loss = torch.nn.functional.mse_loss(inverse.Invert(gated[(int)b], target, activations[(int)b][name]), target);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                total += loss.item<double>();
            }
            progress?.Report(new TrainingProgress(name, epoch, options.Epochs, total / gated.Count));
        }
        optimizer.zero_grad();
    }

    private static void FitClosedForm(InverseLayer inverse, List<Tensor> gated, List<Dictionary<string, Tensor>> activations,
        string inputName, double lambda, bool pseudoInverse)
    {
        using var scope = torch.NewDisposeScope();
        var s = torch.cat(gated.Select(g => g.flatten(1)).ToArray());
        var x = torch.cat(activations.Select(a => a[inputName].flatten(1)).ToArray());
        if (pseudoInverse) inverse.FitPseudoInverse(s, x, lambda);
        else inverse.FitRidge(s, x, lambda);
    }

    /// <summary>
    /// The bias of the model's output layer as a 1 × classes tensor like <paramref name="logits"/> (zeros when the last
    /// stage is not a Linear with a bias): the class-independent part of every logit.
    /// </summary>
    public static Tensor OutputBias(ClassifierModel model, Tensor logits) =>
        model.Stages[^1].Module is Harness.Torch.Modules.Linear { bias: { } bias }
            ? bias.detach().unsqueeze(0)
            : torch.zeros_like(logits.narrow(0, 0, 1));

    /// <summary>‖g(S) − X‖² / ‖X‖² over the training set; adds each batch's reconstruction g(S) to <paramref name="reconstructions"/> when given.</summary>
    private static double RelativeError(InverseLayer inverse, List<Tensor> gated, List<Dictionary<string, Tensor>> activations,
        string name, string inputName, List<Tensor>? reconstructions = null)
    {
        using var noGrad = torch.no_grad();
        double error = 0, norm = 0;
        for (var b = 0; b < gated.Count; b++)
        {
            using var scope = torch.NewDisposeScope();
            var target = activations[b][inputName];
            var reconstruction = inverse.Invert(gated[b], target, activations[b][name]);
            if (reconstructions is not null) reconstructions.Add(reconstruction.detach().DetachFromDisposeScope());
            var diff = reconstruction - target;
            error += diff.pow(2).sum().item<double>();
            norm += target.pow(2).sum().item<double>();
        }
        return norm > 0 ? error / norm : 0;
    }
}
