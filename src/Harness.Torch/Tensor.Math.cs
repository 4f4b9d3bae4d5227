namespace Harness.Torch;

// Element-wise arithmetic, comparisons and reductions.
public sealed partial class Tensor
{
    private static readonly Op s_addTensor = new("aten::add", "Tensor");
    private static readonly Op s_addScalar = new("aten::add", "Scalar");
    private static readonly Op s_subTensor = new("aten::sub", "Tensor");
    private static readonly Op s_subScalar = new("aten::sub", "Scalar");
    private static readonly Op s_rsubScalar = new("aten::rsub", "Scalar");
    private static readonly Op s_mulTensor = new("aten::mul", "Tensor");
    private static readonly Op s_mulScalar = new("aten::mul", "Scalar");
    private static readonly Op s_divTensor = new("aten::div", "Tensor");
    private static readonly Op s_divScalar = new("aten::div", "Scalar");
    private static readonly Op s_reciprocal = new("aten::reciprocal");
    private static readonly Op s_neg = new("aten::neg");
    private static readonly Op s_powScalar = new("aten::pow", "Tensor_Scalar");
    private static readonly Op s_powTensor = new("aten::pow", "Tensor_Tensor");
    private static readonly Op s_exp = new("aten::exp");
    private static readonly Op s_log = new("aten::log");
    private static readonly Op s_sqrt = new("aten::sqrt");
    private static readonly Op s_abs = new("aten::abs");
    private static readonly Op s_sign = new("aten::sign");
    private static readonly Op s_floor = new("aten::floor");
    private static readonly Op s_round = new("aten::round");
    private static readonly Op s_sigmoid = new("aten::sigmoid");
    private static readonly Op s_tanh = new("aten::tanh");
    private static readonly Op s_relu = new("aten::relu");
    private static readonly Op s_clamp = new("aten::clamp");
    private static readonly Op s_matmul = new("aten::matmul");
    private static readonly Op s_gtTensor = new("aten::gt", "Tensor");
    private static readonly Op s_gtScalar = new("aten::gt", "Scalar");
    private static readonly Op s_ltTensor = new("aten::lt", "Tensor");
    private static readonly Op s_ltScalar = new("aten::lt", "Scalar");
    private static readonly Op s_geTensor = new("aten::ge", "Tensor");
    private static readonly Op s_geScalar = new("aten::ge", "Scalar");
    private static readonly Op s_leTensor = new("aten::le", "Tensor");
    private static readonly Op s_leScalar = new("aten::le", "Scalar");
    private static readonly Op s_eqTensor = new("aten::eq", "Tensor");
    private static readonly Op s_eqScalar = new("aten::eq", "Scalar");
    private static readonly Op s_neTensor = new("aten::ne", "Tensor");
    private static readonly Op s_neScalar = new("aten::ne", "Scalar");
    private static readonly Op s_logicalNot = new("aten::logical_not");
    private static readonly Op s_isfinite = new("aten::isfinite");
    private static readonly Op s_logicalAnd = new("aten::logical_and");
    private static readonly Op s_logicalOr = new("aten::logical_or");
    private static readonly Op s_sum = new("aten::sum");
    private static readonly Op s_sumDim = new("aten::sum", "dim_IntList");
    private static readonly Op s_mean = new("aten::mean");
    private static readonly Op s_meanDim = new("aten::mean", "dim");
    private static readonly Op s_max = new("aten::max");
    private static readonly Op s_maxDim = new("aten::max", "dim");
    private static readonly Op s_min = new("aten::min");
    private static readonly Op s_minDim = new("aten::min", "dim");
    private static readonly Op s_amax = new("aten::amax");
    private static readonly Op s_amin = new("aten::amin");
    private static readonly Op s_argmax = new("aten::argmax");
    private static readonly Op s_argmin = new("aten::argmin");
    private static readonly Op s_std = new("aten::std", "dim");
    private static readonly Op s_var = new("aten::var", "dim");
    private static readonly Op s_norm = new("aten::linalg_vector_norm");
    private static readonly Op s_all = new("aten::all");
    private static readonly Op s_any = new("aten::any");
    private static readonly Op s_topk = new("aten::topk");
    private static readonly Op s_sort = new("aten::sort");
    private static readonly Op s_cumsum = new("aten::cumsum");
    private static readonly Op s_equal = new("aten::equal");
    private static readonly Op s_allclose = new("aten::allclose");
    private static readonly Op s_addInPlace = new("aten::add_", "Tensor");
    private static readonly Op s_addScalarInPlace = new("aten::add_", "Scalar");
    private static readonly Op s_subInPlace = new("aten::sub_", "Tensor");
    private static readonly Op s_mulInPlace = new("aten::mul_", "Tensor");
    private static readonly Op s_mulScalarInPlace = new("aten::mul_", "Scalar");
    private static readonly Op s_divInPlace = new("aten::div_", "Tensor");
    private static readonly Op s_divScalarInPlace = new("aten::div_", "Scalar");
    private static readonly Op s_addcmulInPlace = new("aten::addcmul_");
    private static readonly Op s_addcdivInPlace = new("aten::addcdiv_");
    private static readonly Op s_sqrtInPlace = new("aten::sqrt_");
    private static readonly Op s_zeroInPlace = new("aten::zero_");
    private static readonly Op s_fillInPlace = new("aten::fill_", "Scalar");
    private static readonly Op s_copyInPlace = new("aten::copy_");
    private static readonly Op s_clampInPlace = new("aten::clamp_");

    // ---- operators ----
    public static Tensor operator +(Tensor a, Tensor b) => s_addTensor.Call(a, b);
    public static Tensor operator +(Tensor a, double b) => s_addScalar.Call(a, b);
    public static Tensor operator +(double a, Tensor b) => s_addScalar.Call(b, a);
    public static Tensor operator -(Tensor a, Tensor b) => s_subTensor.Call(a, b);
    public static Tensor operator -(Tensor a, double b) => s_subScalar.Call(a, b);
    public static Tensor operator -(double a, Tensor b) => s_rsubScalar.Call(b, a);
    public static Tensor operator *(Tensor a, Tensor b) => s_mulTensor.Call(a, b);
    public static Tensor operator *(Tensor a, double b) => s_mulScalar.Call(a, b);
    public static Tensor operator *(double a, Tensor b) => s_mulScalar.Call(b, a);
    public static Tensor operator /(Tensor a, Tensor b) => s_divTensor.Call(a, b);
    public static Tensor operator /(Tensor a, double b) => s_divScalar.Call(a, b);
    public static Tensor operator /(double a, Tensor b)
    {
        using var r = s_reciprocal.Call(b);
        return s_mulScalar.Call(r, a);
    }
    public static Tensor operator -(Tensor a) => s_neg.Call(a);
    public static Tensor operator >(Tensor a, Tensor b) => s_gtTensor.Call(a, b);
    public static Tensor operator >(Tensor a, double b) => s_gtScalar.Call(a, b);
    public static Tensor operator <(Tensor a, Tensor b) => s_ltTensor.Call(a, b);
    public static Tensor operator <(Tensor a, double b) => s_ltScalar.Call(a, b);
    public static Tensor operator >=(Tensor a, Tensor b) => s_geTensor.Call(a, b);
    public static Tensor operator >=(Tensor a, double b) => s_geScalar.Call(a, b);
    public static Tensor operator <=(Tensor a, Tensor b) => s_leTensor.Call(a, b);
    public static Tensor operator <=(Tensor a, double b) => s_leScalar.Call(a, b);

    // ---- element-wise ----
    public Tensor add(Tensor other, double alpha = 1) => s_addTensor.Call(this, other, alpha);
    public Tensor sub(Tensor other, double alpha = 1) => s_subTensor.Call(this, other, alpha);
    public Tensor mul(Tensor other) => s_mulTensor.Call(this, other);
    public Tensor mul(double other) => s_mulScalar.Call(this, other);
    public Tensor div(Tensor other) => s_divTensor.Call(this, other);
    public Tensor div(double other) => s_divScalar.Call(this, other);
    public Tensor neg() => s_neg.Call(this);
    public Tensor reciprocal() => s_reciprocal.Call(this);
    public Tensor pow(double exponent) => s_powScalar.Call(this, exponent);
    public Tensor pow(Tensor exponent) => s_powTensor.Call(this, exponent);
    public Tensor exp() => s_exp.Call(this);
    public Tensor log() => s_log.Call(this);
    public Tensor sqrt() => s_sqrt.Call(this);
    public Tensor abs() => s_abs.Call(this);
    public Tensor sign() => s_sign.Call(this);
    public Tensor floor() => s_floor.Call(this);
    public Tensor round() => s_round.Call(this);
    public Tensor sigmoid() => s_sigmoid.Call(this);
    public Tensor tanh() => s_tanh.Call(this);
    public Tensor relu() => s_relu.Call(this);

    /// <summary>Clamps to [min, max]; either bound may be null.</summary>
    public Tensor clamp(double? min = null, double? max = null) => s_clamp.Call(this, Arg.Optional(min), Arg.Optional(max));

    public Tensor matmul(Tensor other) => s_matmul.Call(this, other);

    // ---- comparisons (return bool tensors) ----
    public Tensor gt(Tensor other) => s_gtTensor.Call(this, other);
    public Tensor gt(double other) => s_gtScalar.Call(this, other);
    public Tensor lt(Tensor other) => s_ltTensor.Call(this, other);
    public Tensor lt(double other) => s_ltScalar.Call(this, other);
    public Tensor ge(Tensor other) => s_geTensor.Call(this, other);
    public Tensor ge(double other) => s_geScalar.Call(this, other);
    public Tensor le(Tensor other) => s_leTensor.Call(this, other);
    public Tensor le(double other) => s_leScalar.Call(this, other);
    public Tensor eq(Tensor other) => s_eqTensor.Call(this, other);
    public Tensor eq(double other) => s_eqScalar.Call(this, other);
    public Tensor ne(Tensor other) => s_neTensor.Call(this, other);
    public Tensor ne(double other) => s_neScalar.Call(this, other);
    public Tensor logical_not() => s_logicalNot.Call(this);

    /// <summary>True where the element is neither infinite nor NaN.</summary>
    public Tensor isfinite() => s_isfinite.Call(this);
    public Tensor logical_and(Tensor other) => s_logicalAnd.Call(this, other);
    public Tensor logical_or(Tensor other) => s_logicalOr.Call(this, other);

    /// <summary>True if both tensors have the same shape and elements.</summary>
    public bool equal(Tensor other) => s_equal.CallScalar(this, other) != 0;

    /// <summary>|a − b| ≤ atol + rtol·|b| element-wise, as torch.allclose.</summary>
    public bool allclose(Tensor other, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false) =>
        s_allclose.CallScalar(this, other, rtol, atol, equal_nan) != 0;

    // ---- reductions ----
    public Tensor sum() => s_sum.Call(this);
    public Tensor sum(long dim, bool keepdim = false) => s_sumDim.Call(this, new[] { dim }, keepdim);
    public Tensor sum(long[] dims, bool keepdim = false) => s_sumDim.Call(this, dims, keepdim);
    public Tensor mean() => s_mean.Call(this);
    public Tensor mean(long dim, bool keepdim = false) => s_meanDim.Call(this, new[] { dim }, keepdim);
    public Tensor mean(long[] dims, bool keepdim = false) => s_meanDim.Call(this, dims, keepdim);
    public Tensor max() => s_max.Call(this);
    public (Tensor values, Tensor indices) max(long dim, bool keepdim = false) => s_maxDim.Call2(this, dim, keepdim);
    public Tensor min() => s_min.Call(this);
    public (Tensor values, Tensor indices) min(long dim, bool keepdim = false) => s_minDim.Call2(this, dim, keepdim);
    public Tensor amax(long[] dims, bool keepdim = false) => s_amax.Call(this, dims, keepdim);
    public Tensor amin(long[] dims, bool keepdim = false) => s_amin.Call(this, dims, keepdim);
    public Tensor argmax() => s_argmax.Call(this);
    public Tensor argmax(long dim, bool keepdim = false) => s_argmax.Call(this, dim, keepdim);
    public Tensor argmin(long dim, bool keepdim = false) => s_argmin.Call(this, dim, keepdim);
    public Tensor std(long[]? dims = null, bool unbiased = true, bool keepdim = false) => s_std.Call(this, dims, unbiased, keepdim);
    public Tensor var(long[]? dims = null, bool unbiased = true, bool keepdim = false) => s_var.Call(this, dims, unbiased, keepdim);

    /// <summary>Vector p-norm over <paramref name="dims"/> (all elements when null), as torch.linalg.vector_norm.</summary>
    public Tensor norm(double p = 2, long[]? dims = null, bool keepdim = false) => s_norm.Call(this, p, dims, keepdim);

    public Tensor all() => s_all.Call(this);
    public Tensor any() => s_any.Call(this);
    public (Tensor values, Tensor indices) topk(long k, long dim = -1, bool largest = true, bool sorted = true) =>
        s_topk.Call2(this, k, dim, largest, sorted);
    public (Tensor values, Tensor indices) sort(long dim = -1, bool descending = false) => s_sort.Call2(this, dim, descending);
    public Tensor cumsum(long dim) => s_cumsum.Call(this, dim);

    // ---- in place (return this) ----
    public Tensor add_(Tensor other, double alpha = 1) => s_addInPlace.CallInPlace(this, other, alpha);
    public Tensor add_(double other) => s_addScalarInPlace.CallInPlace(this, other);
    public Tensor sub_(Tensor other, double alpha = 1) => s_subInPlace.CallInPlace(this, other, alpha);
    public Tensor mul_(Tensor other) => s_mulInPlace.CallInPlace(this, other);
    public Tensor mul_(double other) => s_mulScalarInPlace.CallInPlace(this, other);
    public Tensor div_(Tensor other) => s_divInPlace.CallInPlace(this, other);
    public Tensor div_(double other) => s_divScalarInPlace.CallInPlace(this, other);
    public Tensor addcmul_(Tensor tensor1, Tensor tensor2, double value = 1) => s_addcmulInPlace.CallInPlace(this, tensor1, tensor2, value);
    public Tensor addcdiv_(Tensor tensor1, Tensor tensor2, double value = 1) => s_addcdivInPlace.CallInPlace(this, tensor1, tensor2, value);
    public Tensor sqrt_() => s_sqrtInPlace.CallInPlace(this);
    public Tensor zero_() => s_zeroInPlace.CallInPlace(this);
    public Tensor fill_(double value) => s_fillInPlace.CallInPlace(this, value);
    public Tensor copy_(Tensor source) => s_copyInPlace.CallInPlace(this, source);
    public Tensor clamp_(double? min = null, double? max = null) => s_clampInPlace.CallInPlace(this, Arg.Optional(min), Arg.Optional(max));

    /// <summary>
    /// In-place max(x, 0); returns this tensor. Values and gradients are those of <c>aten::relu_</c>; while autograd
    /// records, the backward masks the incoming gradient in place when nothing else holds it, instead of writing a
    /// new tensor (the shim's <c>rectifier_in_place.cpp</c> explains when that is safe).
    /// </summary>
    public Tensor relu_()
    {
        Native.NativeMethods.Check(Native.NativeMethods.mt_relu_(Handle));
        GC.KeepAlive(this);
        return this;
    }

    /// <summary>
    /// In-place min(max(x, 0), 6) (ReLU6); returns this tensor. Values and gradients are those of
    /// <c>aten::hardtanh_</c> (torchvision's <c>ReLU6(inplace=True)</c>), computed in one pass over the tensor instead
    /// of its three (the shim's <c>mt_clip_</c> explains why); the backward masks the gradient in place as
    /// <see cref="relu_"/>'s does.
    /// </summary>
    public Tensor relu6_()
    {
        Native.NativeMethods.Check(Native.NativeMethods.mt_clip_(Handle, 0.0, 6.0));
        GC.KeepAlive(this);
        return this;
    }
}
