using Harness.Torch;

namespace Harness.Models;

/// <summary>
/// Creates the supported classifiers by torchvision name and loads their checkpoints strictly.
/// Names: vgg11, vgg13, vgg16, vgg19 (and *_bn), resnet18, resnet34, resnet50, resnet101, mobilenet_v2, alexnet,
/// mnist_mlp, small_cnn.
/// </summary>
public static class ModelZoo
{
    private static readonly Dictionary<string, Func<int, ClassifierModel>> Factories = new(StringComparer.Ordinal)
    {
        ["vgg11"] = n => new Vgg(11, false, n),
        ["vgg13"] = n => new Vgg(13, false, n),
        ["vgg16"] = n => new Vgg(16, false, n),
        ["vgg19"] = n => new Vgg(19, false, n),
        ["vgg11_bn"] = n => new Vgg(11, true, n),
        ["vgg13_bn"] = n => new Vgg(13, true, n),
        ["vgg16_bn"] = n => new Vgg(16, true, n),
        ["vgg19_bn"] = n => new Vgg(19, true, n),
        ["resnet18"] = n => new ResNet(18, n),
        ["resnet34"] = n => new ResNet(34, n),
        ["resnet50"] = n => new ResNet(50, n),
        ["resnet101"] = n => new ResNet(101, n),
        ["mobilenet_v2"] = n => new MobileNetV2(n),
        ["alexnet"] = n => new AlexNet(n),
        ["mnist_mlp"] = n => new MnistMlp(n),
        ["small_cnn"] = n => new SmallCnn(n),
    };

    /// <summary>Every model name the zoo knows.</summary>
    public static IReadOnlyCollection<string> Names => Factories.Keys;

    /// <summary>
    /// A model with freshly initialised weights (PyTorch's default initialisation, drawn from a generator seeded with
    /// <paramref name="seed"/>), in eval mode, on the CPU.
    /// </summary>
    public static ClassifierModel Create(string name, int numClasses = 1000, ulong seed = 0)
    {
        if (!Factories.TryGetValue(name, out var factory))
            throw new ArgumentException($"unknown model '{name}'. Known models: {string.Join(", ", Names)}", nameof(name));
        using var generator = new Generator(seed);
        ClassifierModel model;
        using (Harness.Torch.Modules.Init.Using(generator)) model = factory(numClasses);
        model.eval();
        return model;
    }

    /// <summary>
    /// A model with weights from a torchvision .pth or .safetensors checkpoint, in eval mode with gradients of the
    /// weights off (the model is frozen), on <paramref name="device"/>, laid out as <paramref name="memoryFormat"/>
    /// (default <see cref="DefaultMemoryFormat"/>). A checkpoint of another architecture or class count fails with a
    /// CheckpointException listing the missing, unexpected and mis-shaped keys.
    /// </summary>
    public static ClassifierModel Load(string name, string weightsPath, int numClasses = 1000, Device? device = null,
        MemoryFormat? memoryFormat = null)
    {
        var model = Create(name, numClasses);
        try
        {
            using (var state = torch.load(weightsPath))
                model.load_state_dict(state, name);
            model.requires_grad_(false);
            if (device is { } d && d != Device.CPU) model.to(d);
            model.UseMemoryFormat(memoryFormat ?? DefaultMemoryFormat(device ?? Device.CPU));
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The layout models run in by default: channels-last on the CPU, where oneDNN's convolutions then skip their
    /// layout reorders (1.2-1.4× on MobileNetV2 and ResNet-50, docs/bench.md); PyTorch's default contiguous layout on
    /// CUDA, where the gain depends on the GPU and dtype and was not measured.
    /// </summary>
    public static MemoryFormat DefaultMemoryFormat(Device device) => device.IsCuda ? MemoryFormat.Contiguous : MemoryFormat.ChannelsLast;
}
