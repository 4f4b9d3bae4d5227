using Harness.Torch.Modules;

namespace Harness.Models;

/// <summary>
/// A small VGG-style CNN for tests and MNIST-sized inputs: two conv–ReLU–maxpool blocks (8 and 16 channels),
/// adaptive average pool to 2×2, then Linear(64 → 32) – ReLU – Linear(32 → classes). Same stage naming as VGG.
/// </summary>
public sealed class SmallCnn : ClassifierModel
{
    public SmallCnn(int numClasses = 10, int inChannels = 3) : base("small_cnn", numClasses)
    {
        var features = new Sequential(
            new Conv2d(inChannels, 8, 3, padding: 1), new ReLU(), new MaxPool2d(2),
            new Conv2d(8, 16, 3, padding: 1), new ReLU(), new MaxPool2d(2));
        var classifier = new Sequential(new Linear(16 * 2 * 2, 32), new ReLU(), new Linear(32, numClasses));
        BuildFeaturesClassifier(features, new AdaptiveAvgPool2d(2, 2), classifier);
    }
}
