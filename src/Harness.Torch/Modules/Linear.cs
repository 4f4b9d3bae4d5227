namespace Harness.Torch.Modules;

/// <summary>y = x Wᵀ + b, with W of shape out × in (torch.nn.Linear).</summary>
public sealed class Linear : Module
{
    public Linear(long in_features, long out_features, bool bias = true)
    {
        InFeatures = in_features;
        OutFeatures = out_features;
        RegisterParameter("weight", Init.Uniform(new[] { out_features, in_features }, in_features));
        if (bias) RegisterParameter("bias", Init.Uniform(new[] { out_features }, in_features));
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public Tensor weight => GetParameter("weight")!;
    public Tensor? bias => GetParameter("bias");

    public override Tensor forward(Tensor input) => torch.nn.functional.linear(input, weight, bias);
}
