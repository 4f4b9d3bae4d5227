namespace Harness.Torch.Modules;

/// <summary>max(x, 0) (torch.nn.ReLU).</summary>
public sealed class ReLU : Module
{
    public override Tensor forward(Tensor input) => torch.nn.functional.relu(input);
}

/// <summary>min(max(x, 0), 6) (torch.nn.ReLU6, MobileNetV2's activation).</summary>
public sealed class ReLU6 : Module
{
    public override Tensor forward(Tensor input) => torch.nn.functional.relu6(input);
}

/// <summary>Returns its input (torch.nn.Identity).</summary>
public sealed class Identity : Module
{
    public override Tensor forward(Tensor input) => input.alias();
}

/// <summary>Random zeroing with probability p while training, identity in eval mode (torch.nn.Dropout).</summary>
public sealed class Dropout : Module
{
    public Dropout(double p = 0.5) => P = p is >= 0 and <= 1 ? p : throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1]");

    public double P { get; }

    public override Tensor forward(Tensor input) => torch.nn.functional.dropout(input, P, training);
}

/// <summary>Flattens dimensions start_dim..end_dim into one (torch.nn.Flatten, default from dimension 1).</summary>
public sealed class Flatten : Module
{
    public Flatten(long start_dim = 1, long end_dim = -1)
    {
        StartDim = start_dim;
        EndDim = end_dim;
    }

    public long StartDim { get; }
    public long EndDim { get; }

    public override Tensor forward(Tensor input) => input.flatten(StartDim, EndDim);
}
