using Harness.Torch;
using F = Harness.Torch.torch.nn.functional;

namespace Harness.Tests.Torch;

/// <summary>Operator results compared with PyTorch 1.13's on the same inputs (Golden/make_golden_ops.py).</summary>
public sealed class OpsGoldenTests : IClassFixture<GoldenOps>, IDisposable
{
    private readonly GoldenOps _g;
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    public OpsGoldenTests(GoldenOps golden) => _g = golden;

    public void Dispose() => _scope.Dispose();

    [Fact]
    public void Conv2dWithGroupsStrideAndPadding() =>
        TensorAssert.Close(_g["conv2d.out"], F.conv2d(_g["conv2d.x"], _g["conv2d.w"], _g["conv2d.b"], stride: 2, padding: 1, dilation: 1, groups: 2));

    [Fact]
    public void Conv2dDilated() =>
        TensorAssert.Close(_g["conv2d_dilated.out"], F.conv2d(_g["conv2d_dilated.x"], _g["conv2d_dilated.w"], null, stride: 1, padding: 2, dilation: 2));

    [Fact]
    public void ConvTranspose2dWithGroupsAndOutputPadding() =>
        TensorAssert.Close(_g["conv_transpose2d.out"], F.conv_transpose2d(_g["conv_transpose2d.x"], _g["conv_transpose2d.w"],
            _g["conv_transpose2d.b"], stride: 2, padding: 1, output_padding: 1, groups: 2, dilation: 1));

    [Fact]
    public void MaxPoolWithIndicesAndUnpool()
    {
        var (pooled, indices) = F.max_pool2d_with_indices(_g["max_pool2d.x"], 3, stride: 2, padding: 1);
        TensorAssert.Close(_g["max_pool2d.out"], pooled);
        TensorAssert.Equal(_g["max_pool2d.indices"], indices);
        TensorAssert.Close(_g["max_pool2d.out"], F.max_pool2d(_g["max_pool2d.x"], 3, stride: 2, padding: 1));
        TensorAssert.Close(_g["max_pool2d.unpooled"], F.max_unpool2d(pooled, indices, new long[] { 8, 8 }));
    }

    [Fact]
    public void AveragePooling()
    {
        TensorAssert.Close(_g["avg_pool2d.out"], F.avg_pool2d(_g["max_pool2d.x"], 2, stride: 2));
        TensorAssert.Close(_g["adaptive_avg_pool2d.out"], F.adaptive_avg_pool2d(_g["adaptive_avg_pool2d.x"], new long[] { 3, 3 }));
    }

    [Fact]
    public void Linear() => TensorAssert.Close(_g["linear.out"], F.linear(_g["linear.x"], _g["linear.w"], _g["linear.b"]));

    [Fact]
    public void BatchNormEval() =>
        TensorAssert.Close(_g["batch_norm.out"], F.batch_norm(_g["batch_norm.x"], _g["batch_norm.mean"], _g["batch_norm.var"],
            _g["batch_norm.w"], _g["batch_norm.b"], training: false, eps: 1e-5));

    [Fact]
    public void SoftmaxAndLosses()
    {
        var x = _g["losses.x"];
        TensorAssert.Close(_g["losses.softmax"], F.softmax(x, 1));
        TensorAssert.Close(_g["losses.log_softmax"], F.log_softmax(x, 1));
        TensorAssert.Close(_g["losses.cross_entropy"], F.cross_entropy(x, _g["losses.target"]));
        TensorAssert.Close(_g["losses.mse"], F.mse_loss(x, _g["losses.y"]));
        TensorAssert.Close(_g["losses.relu6"], F.relu6(x));
    }

    [Fact]
    public void Interpolation()
    {
        var x = _g["interpolate.x"];
        var size = new long[] { 11, 13 };
        TensorAssert.Close(_g["interpolate.bilinear"], F.interpolate(x, size, mode: torch.nn.InterpolationMode.Bilinear));
        TensorAssert.Close(_g["interpolate.bilinear_ac"], F.interpolate(x, size, mode: torch.nn.InterpolationMode.Bilinear, align_corners: true));
        TensorAssert.Close(_g["interpolate.nearest"], F.interpolate(x, new long[] { 10, 12 }));
        TensorAssert.Close(_g["interpolate_aa.out"], F.interpolate(_g["interpolate_aa.x"], new long[] { 7, 9 },
            mode: torch.nn.InterpolationMode.Bilinear, antialias: true));
    }

    [Fact]
    public void Reductions()
    {
        var x = _g["reduce.x"];
        TensorAssert.Close(_g["reduce.sum12"], x.sum(new long[] { 1, 2 }));
        TensorAssert.Close(_g["reduce.mean0k"], x.mean(0, keepdim: true));
        TensorAssert.Close(_g["reduce.amax2"], x.amax(new long[] { 2 }));
        TensorAssert.Equal(_g["reduce.argmax1"], x.argmax(1));
        TensorAssert.Close(_g["reduce.std1"], x.std(new long[] { 1 }));
        TensorAssert.Close(_g["reduce.norm"], x.norm());
        var (values, indices) = x.reshape(3, 20).topk(3, dim: 1);
        TensorAssert.Close(_g["reduce.topk_values"], values);
        TensorAssert.Equal(_g["reduce.topk_indices"], indices);
    }

    [Fact]
    public void BatchedMatmulBroadcasts() => TensorAssert.Close(_g["matmul.out"], _g["matmul.a"].matmul(_g["matmul.b"]));

    [Fact]
    public void GeneratorStreamMatchesPyTorchForTheSameSeed()
    {
        using var g = new Generator(42);
        TensorAssert.Close(_g["random.rand"], torch.rand(new long[] { 2, 3 }, generator: g), rtol: 0, atol: 0);
        TensorAssert.Close(_g["random.randn"], torch.randn(new long[] { 4 }, generator: g), rtol: 0, atol: 0);
        TensorAssert.Equal(_g["random.randperm"], torch.randperm(10, generator: g));
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("adam-sliced")]
    [InlineData("sgd")]
    public void OptimizerStepsMatchTorchOptim(string name)
    {
        var p = _g["optim.p0"].clone().requires_grad_();
        // adam-sliced: the 12 elements updated 5 at a time (two slices and a tail), as a large weight is.
        using Harness.Torch.Optim.Optimizer opt = name.StartsWith("adam", StringComparison.Ordinal)
            ? new Harness.Torch.Optim.Adam(new[] { p }, lr: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, weight_decay: 0.1)
            {
                SliceElements = name == "adam-sliced" ? 5 : 1 << 18,
            }
            : new Harness.Torch.Optim.SGD(new[] { p }, lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 0.01);
        for (var i = 0; i < 3; i++)
        {
            p.grad = _g[$"optim.g{i}"].clone();
            opt.step();
        }
        TensorAssert.Close(_g[$"optim.{name.Split('-')[0]}"], p, rtol: 1e-6, atol: 1e-7);
    }

    [Fact]
    public void BackwardThroughConvReluPoolMatchesPyTorch()
    {
        var x = _g["autograd.x"].clone().requires_grad_();
        var w = _g["autograd.w"].clone().requires_grad_();
        var y = F.max_pool2d(F.relu(F.conv2d(x, w, padding: 1)), 2);
        y.backward(_g["autograd.gy"]);
        TensorAssert.Close(_g["autograd.gx"], x.grad!, rtol: 1e-5, atol: 1e-5);
        TensorAssert.Close(_g["autograd.gw"], w.grad!, rtol: 1e-5, atol: 1e-5);

        // The functional form gives the same gradients without touching .grad.
        var y2 = F.max_pool2d(F.relu(F.conv2d(x, w, padding: 1)), 2);
        var grads = torch.autograd.grad(new[] { y2 }, new[] { x, w }, new Tensor?[] { _g["autograd.gy"] });
        TensorAssert.Close(_g["autograd.gx"], grads[0]!, rtol: 1e-5, atol: 1e-5);
        TensorAssert.Close(_g["autograd.gw"], grads[1]!, rtol: 1e-5, atol: 1e-5);
    }
}
