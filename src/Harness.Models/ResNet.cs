using Harness.Torch.Modules;

namespace Harness.Models;

/// <summary>
/// torchvision's ResNet-18/34/50/101. Stages: conv1, bn1, relu, maxpool, layer1.0 ... layer4.K (one stage per
/// residual block), avgpool, flatten, fc. "layer1" ... "layer4" are aliases for the last block of each group.
/// </summary>
public sealed class ResNet : ClassifierModel
{
    private static readonly Dictionary<int, (bool bottleneck, int[] blocks)> Configs = new()
    {
        [18] = (false, new[] { 2, 2, 2, 2 }),
        [34] = (false, new[] { 3, 4, 6, 3 }),
        [50] = (true, new[] { 3, 4, 6, 3 }),
        [101] = (true, new[] { 3, 4, 23, 3 }),
    };

    public ResNet(int depth, int numClasses = 1000) : base($"resnet{depth}", numClasses)
    {
        if (!Configs.TryGetValue(depth, out var config))
            throw new ArgumentOutOfRangeException(nameof(depth), depth, "ResNet depth must be 18, 34, 50 or 101");
        var expansion = config.bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;
        AddStage("conv1", RegisterModule("conv1", new Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false)));
        AddStage("bn1", RegisterModule("bn1", new BatchNorm2d(64)));
        AddStage("relu", RegisterModule("relu", new ReLU()));
        AddStage("maxpool", RegisterModule("maxpool", new MaxPool2d(3, 2, padding: 1)));
        long inplanes = 64;
        var planes = new long[] { 64, 128, 256, 512 };
        for (var g = 0; g < 4; g++)
        {
            var name = $"layer{g + 1}";
            var group = RegisterModule(name, new Sequential());
            for (var b = 0; b < config.blocks[g]; b++)
            {
                var stride = b == 0 && g > 0 ? 2 : 1;
                Module block = config.bottleneck
                    ? new Bottleneck(inplanes, planes[g], stride)
                    : new BasicBlock(inplanes, planes[g], stride);
                group.Append(block);
                inplanes = planes[g] * expansion;
            }
            AddSequentialStages(name, group);
            AddAlias(name, $"{name}.{config.blocks[g] - 1}");
        }
        AddStage("avgpool", RegisterModule("avgpool", new AdaptiveAvgPool2d(1, 1)));
        AddStage("flatten", new Flatten());
        AddStage("fc", RegisterModule("fc", new Linear(512 * expansion, numClasses)));
    }
}
