using Harness.Torch.Modules;

namespace Harness.Models;

/// <summary>torchvision's AlexNet. Stages: features.0 ... features.12, avgpool (6×6), flatten, classifier.0 ... classifier.6.</summary>
public sealed class AlexNet : ClassifierModel
{
    public AlexNet(int numClasses = 1000) : base("alexnet", numClasses)
    {
        var features = new Sequential(
            new Conv2d(3, 64, 11, stride: 4, padding: 2), new ReLU(), new MaxPool2d(3, 2),
            new Conv2d(64, 192, 5, padding: 2), new ReLU(), new MaxPool2d(3, 2),
            new Conv2d(192, 384, 3, padding: 1), new ReLU(),
            new Conv2d(384, 256, 3, padding: 1), new ReLU(),
            new Conv2d(256, 256, 3, padding: 1), new ReLU(), new MaxPool2d(3, 2));
        var classifier = new Sequential(
            new Dropout(), new Linear(256 * 6 * 6, 4096), new ReLU(),
            new Dropout(), new Linear(4096, 4096), new ReLU(),
            new Linear(4096, numClasses));
        BuildFeaturesClassifier(features, new AdaptiveAvgPool2d(6, 6), classifier);
    }
}
