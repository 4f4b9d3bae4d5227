namespace Harness.Torch;

/// <summary>
/// A tiny forward/backward pass with a known answer, used by `mipin info` to show the native stack works on a device.
/// A 2×2 all-ones kernel over a 3×3 all-ones image gives four outputs of 4 (sum 16), and each kernel weight
/// sees four ones, so d(sum)/d(weight) = 4 everywhere.
/// </summary>
public static class SmokeCheck
{
    public sealed record Result(bool Passed, string Summary);

    public static Result Run(Device device)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones(new long[] { 1, 1, 3, 3 }, device: device);
        var w = torch.ones(new long[] { 1, 1, 2, 2 }, device: device).requires_grad_();
        var y = torch.nn.functional.conv2d(x, w).sum();
        y.backward();
        var value = y.item<float>();
        var grad = w.grad!.cpu().ToArray<float>();
        var passed = value == 16f && grad.All(g => g == 4f);
        return new Result(passed, passed
            ? "conv2d forward 16 and weight gradient 4 as expected"
            : $"FAILED: forward {value} (expected 16), weight gradient [{string.Join(", ", grad)}] (expected 4s)");
    }
}
