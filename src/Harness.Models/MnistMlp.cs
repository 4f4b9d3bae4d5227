using Harness.Torch.Modules;

namespace Harness.Models;

/// <summary>
/// The MIP-IN paper's three-layer MLP for MNIST: flatten → fc1 (784 → 512) → relu1 → fc2 (512 → 256) → relu2 →
/// fc3 (256 → 10). Hidden sizes are options. Stages carry the module names.
/// </summary>
public sealed class MnistMlp : ClassifierModel
{
    public MnistMlp(int numClasses = 10, int inputSize = 28 * 28, int hidden1 = 512, int hidden2 = 256)
        : base("mnist_mlp", numClasses)
    {
        AddStage("flatten", new Flatten());
        AddStage("fc1", RegisterModule("fc1", new Linear(inputSize, hidden1)));
        AddStage("relu1", new ReLU());
        AddStage("fc2", RegisterModule("fc2", new Linear(hidden1, hidden2)));
        AddStage("relu2", new ReLU());
        AddStage("fc3", RegisterModule("fc3", new Linear(hidden2, numClasses)));
    }
}
