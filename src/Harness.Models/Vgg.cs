using Harness.Torch.Modules;

namespace Harness.Models;

/// <summary>
/// torchvision's VGG 11/13/16/19, with or without batch norm: features (3×3 convs + ReLU [+ BN], 2×2 max pools),
/// adaptive average pool to 7×7, then a three-layer classifier. Stages: features.0 ... features.N, avgpool,
/// flatten, classifier.0 ... classifier.6.
/// </summary>
public sealed class Vgg : ClassifierModel
{
    private const int M = -1; // max pool

    private static readonly Dictionary<int, int[]> Configs = new()
    {
        [11] = new[] { 64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M },
        [13] = new[] { 64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M },
        [16] = new[] { 64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M },
        [19] = new[] { 64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M },
    };

    public Vgg(int depth, bool batchNorm, int numClasses = 1000)
        : base($"vgg{depth}{(batchNorm ? "_bn" : "")}", numClasses)
    {
        if (!Configs.TryGetValue(depth, out var config))
            throw new ArgumentOutOfRangeException(nameof(depth), depth, "VGG depth must be 11, 13, 16 or 19");
        var features = new Sequential();
        long channels = 3;
        foreach (var v in config)
        {
            if (v == M)
            {
                features.Append(new MaxPool2d(2, 2));
                continue;
            }
            features.Append(new Conv2d(channels, v, 3, padding: 1));
            if (batchNorm) features.Append(new BatchNorm2d(v));
            features.Append(new ReLU());
            channels = v;
        }
        var classifier = new Sequential(
            new Linear(512 * 7 * 7, 4096), new ReLU(), new Dropout(),
            new Linear(4096, 4096), new ReLU(), new Dropout(),
            new Linear(4096, numClasses));
        BuildFeaturesClassifier(features, new AdaptiveAvgPool2d(7, 7), classifier);
    }
}
