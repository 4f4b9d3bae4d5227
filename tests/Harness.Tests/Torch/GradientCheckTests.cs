using Harness.Torch;
using F = Harness.Torch.torch.nn.functional;

namespace Harness.Tests.Torch;

/// <summary>
/// Autograd gradients checked against central finite differences in float64: for L(x) = Σ f(x) ⊙ r with a fixed
/// random r, dL/dx_i ≈ (L(x + h e_i) − L(x − h e_i)) / 2h for every element i.
/// </summary>
public sealed class GradientCheckTests : IDisposable
{
    private readonly DisposeScope _scope = torch.NewDisposeScope();

    public void Dispose()
    {
        _scope.Dispose();
        _generator.Dispose();
    }

    private readonly Generator _generator = new(11);

    private Tensor RandomDouble(params long[] shape) => torch.randn(shape, ScalarType.Float64, generator: _generator);

    /// <summary>Checks the gradient of Σ f(inputs) ⊙ r with respect to input <paramref name="which"/>.</summary>
    private void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, int which, double h = 1e-6, double tolerance = 1e-6)
    {
        using var scope = torch.NewDisposeScope();
        var leaves = inputs.Select(t => t.clone().requires_grad_()).ToArray();
        var output = f(leaves);
        var r = torch.randn(output.shape, ScalarType.Float64, generator: _generator);
        (output * r).sum().backward();
        var analytic = leaves[which].grad!.ToArray<double>();

        var values = inputs[which].ToArray<double>();
        var shape = inputs[which].shape;
        double Loss(double[] v)
        {
            using var s = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var args = (Tensor[])inputs.Clone();
            args[which] = torch.tensor(v, shape);
            return (f(args) * r).sum().item<double>();
        }

        for (var i = 0; i < values.Length; i++)
        {
            var original = values[i];
            values[i] = original + h;
            var plus = Loss(values);
            values[i] = original - h;
            var minus = Loss(values);
            values[i] = original;
            var numeric = (plus - minus) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[i]) <= tolerance * (1 + Math.Abs(numeric)),
                $"input {which}, element {i}: autograd {analytic[i]:R}, finite difference {numeric:R}");
        }
    }

    [Fact]
    public void Conv2d()
    {
        var inputs = new[] { RandomDouble(1, 2, 5, 5), RandomDouble(3, 2, 3, 3), RandomDouble(3) };
        Tensor Conv(Tensor[] a) => F.conv2d(a[0], a[1], a[2], stride: 2, padding: 1);
        Check(Conv, inputs, 0);
        Check(Conv, inputs, 1);
        Check(Conv, inputs, 2);
    }

    [Fact]
    public void ConvTranspose2d()
    {
        var inputs = new[] { RandomDouble(1, 2, 3, 3), RandomDouble(2, 3, 3, 3) };
        Tensor Deconv(Tensor[] a) => F.conv_transpose2d(a[0], a[1], null, stride: 2, padding: 1, output_padding: 1);
        Check(Deconv, inputs, 0);
        Check(Deconv, inputs, 1);
    }

    [Fact]
    public void Linear()
    {
        var inputs = new[] { RandomDouble(4, 5), RandomDouble(3, 5), RandomDouble(3) };
        Tensor Lin(Tensor[] a) => F.linear(a[0], a[1], a[2]);
        Check(Lin, inputs, 0);
        Check(Lin, inputs, 1);
        Check(Lin, inputs, 2);
    }

    [Fact]
    public void MaxPool2d()
    {
        // Random doubles have no ties, so the maximum does not move under a 1e-6 perturbation.
        Check(a => F.max_pool2d(a[0], 2, stride: 2), new[] { RandomDouble(1, 2, 6, 6) }, 0);
        Check(a => F.max_pool2d(a[0], 3, stride: 2, padding: 1), new[] { RandomDouble(1, 1, 7, 7) }, 0);
    }

    [Fact]
    public void Interpolate()
    {
        var x = new[] { RandomDouble(1, 2, 4, 5) };
        Check(a => F.interpolate(a[0], new long[] { 7, 9 }, mode: torch.nn.InterpolationMode.Bilinear), x, 0);
        Check(a => F.interpolate(a[0], new long[] { 7, 9 }, mode: torch.nn.InterpolationMode.Bilinear, align_corners: true), x, 0);
        Check(a => F.interpolate(a[0], new long[] { 8, 10 }), x, 0);
        Check(a => F.interpolate(a[0], new long[] { 2, 3 }, mode: torch.nn.InterpolationMode.Bilinear, antialias: true), x, 0);
    }

}
