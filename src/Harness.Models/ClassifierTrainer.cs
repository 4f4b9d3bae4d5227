using Harness.Models;
using Harness.Torch;
using Harness.Torch.Optim;

namespace Harness.Models;

/// <summary>
/// Minimal supervised training (cross-entropy, Adam, shuffling from a seeded generator; the model is initialised by its creator) for the small models MIP-IN experiments train
/// themselves, such as the paper's MNIST MLP. Deterministic given the seed.
/// </summary>
public static class ClassifierTrainer
{
    public sealed record Options(int Epochs = 10, int BatchSize = 64, double LearningRate = 1e-3, ulong Seed = 0);

    /// <summary>Trains <paramref name="model"/> in place on images (N×…) and int64 labels (N); returns the last epoch's mean loss.</summary>
    public static double Fit(ClassifierModel model, Tensor images, Tensor labels, Options options, IProgress<(int Epoch, double Loss)>? progress = null)
    {
        using var generator = new Generator(options.Seed);
        var n = images.size(0);
        model.train();
        double mean = double.NaN;
        using var optimizer = new Adam(model.parameters(), lr: options.LearningRate);
        try
        {
            for (var epoch = 1; epoch <= options.Epochs; epoch++)
            {
                using var epochScope = torch.NewDisposeScope();
                var order = torch.randperm(n, generator: generator).to(images.device);
                double total = 0;
                var batches = 0;
                for (long start = 0; start < n; start += options.BatchSize)
                {
                    using var scope = torch.NewDisposeScope();
                    var index = order.narrow(0, start, Math.Min(options.BatchSize, n - start));
                    var loss = torch.nn.functional.cross_entropy(model.forward(images.index_select(0, index)), labels.index_select(0, index));
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                    total += loss.item<double>();
                    batches++;
                }
                mean = total / batches;
                progress?.Report((epoch, mean));
            }
        }
        finally
        {
            optimizer.zero_grad();
            model.eval();
        }
        return mean;
    }

    /// <summary>Fraction of images whose arg-max logit equals the label.</summary>
    public static double Accuracy(ClassifierModel model, Tensor images, Tensor labels, int batchSize = 1000)
    {
        using var noGrad = torch.no_grad();
        long correct = 0;
        var n = images.size(0);
        for (long start = 0; start < n; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var count = Math.Min(batchSize, n - start);
            var predicted = model.forward(images.narrow(0, start, count)).argmax(1);
            correct += predicted.eq(labels.narrow(0, start, count)).sum().item<long>();
        }
        return (double)correct / n;
    }
}
