"""Independent PyTorch/numpy reference for two "sanity-check" saliency metrics of the harness.

Written from the task specification alone (nobody writing it read the C# metric code), so that agreement with the
C# implementation is evidence that both follow the spec. Used by
tests/Harness.Tests/Golden/make_golden_sanity.py; run with Debian's /usr/bin/python3 (torch 1.13, numpy, scipy).

Metric A — deletion / insertion (Petsiuk, Das & Saenko, "RISE: Randomized Input Sampling for Explanation of
Black-box Models", BMVC 2018). Pixels are moved, most salient first, from the image to a baseline (deletion) or
from a baseline to the image (insertion) in steps of `step` pixels; the curve is the softmax probability of the
target class after each step and the score is the trapezoidal area under it on [0, 1]. Deliberate differences from
RISE's reference code (evaluation.py, class CausalMetric):
  - the "blur" baseline is a depthwise 2-D convolution with the plain sampled 11×11 Gaussian, σ = 5, normalised to
    sum 1, zero padding 5 (RISE builds the same-sized kernel with scipy.ndimage.gaussian_filter on a delta, which
    folds the 4σ-truncated tails back in by reflection, so its values differ slightly); RISE pairs deletion with a
    zero baseline and insertion with the blur, here either baseline serves either mode, and a "mean" baseline
    (per-image, per-channel mean of x) is added;
  - ties in the saliency order are broken by the smaller row-major pixel index (a stable sort of −s); RISE uses
    np.argsort of the flattened map in descending order, whose tie order is unspecified;
  - K = ceil(H·W / step), c_k = min(k·step, H·W), and AUC = (Σ_{k=0..K} p_k − (p_0 + p_K)/2) / K are RISE's
    (its n_steps and auc()); we accumulate the sum in float64;
  - probabilities are softmax over the float32 logits (computed in float32), then widened to float64.

Metric B — cascading model-parameter randomisation (Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim, "Sanity
Checks for Saliency Maps", NeurIPS 2018; implemented as "Model Parameter Randomisation Test", MPRT, in Quantus,
Hedström et al., JMLR 2023). The model's parameterised stages are randomised one by one from the logits down,
cumulatively; after every step the saliency map of the randomised model is compared with the original map. The
per-image score is the mean over the steps of the similarity (SSIM or Spearman rank correlation). Deliberate
differences from the paper / Quantus:
  - the random weights come from our own generator (SplitMix64 keyed by SHA-256 of the parameter name and the
    run seed, below), not from torch's global generator, so that another implementation can reproduce them bit
    for bit; their distribution is PyTorch's default reset_parameters (uniform ±1/sqrt(fan_in) for weight and
    bias), batch norm is reset to the identity (weight 1, bias 0, running mean 0, running var 1);
  - the stage granularity is fixed: a Sequential is split into its children, any other module with parameters is
    one stage (for MobileNetV2: each InvertedResidual block, each layer of features.0 / features.18 / classifier,
    22 steps); Quantus' torch interface instead randomises, top down, every module that has reset_parameters
    (each Conv2d, BatchNorm2d and Linear separately) with torch.manual_seed(seed) + reset_parameters(); Adebayo et
    al. randomise Inception v3 block by block;
  - maps are normalised by a = |m| / max|m| before comparison (Quantus' MPRT defaults abs=True and
    normalise_by_max do the same; Adebayo et al. also compare absolute-value maps scaled to [0, 1]);
  - SSIM is skimage's structural_similarity with its defaults (7×7 uniform window, K1 = 0.01, K2 = 0.03, sample
    covariance) and data_range R = max(a.max, b.max) − min(a.min, b.min), computed here by hand over the windows
    fully inside the map (what skimage's reflect padding + crop averages); R = 0 gives 1 (skimage would divide
    0/0). Quantus' similarity_func.ssim passes the same data_range to skimage;
  - Spearman (Quantus' default similarity) is scipy.stats.spearmanr (average ranks for ties); a constant map gives
    0 instead of scipy's nan;
  - the per-image score is the mean over all cascade steps (Quantus' return_average_correlation=True; by default
    it returns the per-layer values); Quantus' later eMPRT / sMPRT variants are not implemented.
Cross-check: when python3-skimage is installed (Debian bookworm: 0.19.3), `ssim_skimage` calls skimage and the
golden script asserts the hand-written SSIM equals it to 1e-12.
"""
import copy
import hashlib
import math

import numpy as np
import scipy.stats
import torch
import torch.nn.functional as F

# --------------------------------------------------------------------------------------------------------------
# Metric A: deletion / insertion
# --------------------------------------------------------------------------------------------------------------

BLUR_SIZE = 11
BLUR_SIGMA = 5.0


def gaussian_kernel(size=BLUR_SIZE, sigma=BLUR_SIGMA):
    """k[i, j] = g[i]·g[j], g[i] = exp(−(i−c)²/(2σ²)) / Σ_i exp(−(i−c)²/(2σ²)), c = (size−1)/2; float64 → float32."""
    c = (size - 1) / 2
    i = np.arange(size, dtype=np.float64)
    g = np.exp(-((i - c) ** 2) / (2 * sigma * sigma))
    g /= g.sum()
    return torch.from_numpy(np.outer(g, g).astype(np.float32))


def baseline(x, kind):
    """Baseline images for normalised inputs x (N×C×H×W float32).

    "mean": per image and channel the mean over H×W (float64, cast to float32), broadcast to H×W.
    "blur": depthwise conv2d with gaussian_kernel(), zero padding 5, stride 1 (groups = C).
    """
    n, c, h, w = x.shape
    if kind == "mean":
        m = x.to(torch.float64).mean(dim=(2, 3)).to(torch.float32)
        return m[:, :, None, None].expand(n, c, h, w).contiguous()
    if kind == "blur":
        k = gaussian_kernel()[None, None].expand(c, 1, BLUR_SIZE, BLUR_SIZE).contiguous()
        with torch.no_grad():
            return F.conv2d(x, k, padding=BLUR_SIZE // 2, stride=1, groups=c)
    raise ValueError(f"unknown baseline {kind!r}")


def saliency_order(s):
    """Row-major pixel indices of one H×W map sorted by saliency descending, ties by smaller index (stable)."""
    flat = np.asarray(s, dtype=np.float32).ravel()
    return np.argsort(-flat, kind="stable")


def num_steps(hw, step):
    """K = ceil(H·W / step)."""
    return -(-hw // step)


def trapezoid_auc(curve):
    """AUC = (Σ_{k=0..K} p_k − (p_0 + p_K)/2) / K in float64 (trapezoid rule on K equal steps of [0, 1])."""
    p = np.asarray(curve, dtype=np.float64)
    k = len(p) - 1
    return float((p.sum() - (p[0] + p[-1]) / 2) / k)


def causal_images(x1, b1, order, step, mode):
    """The K+1 images of one deletion or insertion curve (x1, b1: C×H×W; order: pixel indices).

    Deletion image k: x1 with the first c_k = min(k·step, H·W) pixels of `order` (all channels) set to b1.
    Insertion image k: b1 with the first c_k pixels set to x1.
    """
    c, h, w = x1.shape
    hw = h * w
    kk = num_steps(hw, step)
    src, dst = (x1, b1) if mode == "deletion" else (b1, x1)
    rank = torch.empty(hw, dtype=torch.int64)
    rank[torch.from_numpy(order)] = torch.arange(hw)  # position of every pixel in the order
    imgs = []
    for k in range(kk + 1):
        ck = min(k * step, hw)
        mask = (rank < ck).view(1, h, w)
        imgs.append(torch.where(mask, dst, src))
    return torch.stack(imgs)


def causal_curves(model, x, targets, maps, mode, kind, step):
    """Deletion ("deletion") or insertion ("insertion") curves and AUCs.

    x: N×3×H×W normalised float32 input, targets: N class indices, maps: N×H×W saliency, kind: "blur" | "mean".
    Returns (curves N×(K+1) float64, aucs N float64), p_k = softmax(model(image_k))[t] (softmax in float32).
    """
    if mode not in ("deletion", "insertion"):
        raise ValueError(mode)
    b = baseline(x, kind)
    curves = []
    for i in range(x.shape[0]):
        imgs = causal_images(x[i], b[i], saliency_order(maps[i]), step, mode)
        with torch.no_grad():
            p = torch.softmax(model(imgs), dim=1)[:, int(targets[i])]
        curves.append(p.to(torch.float64).numpy())
    curves = np.stack(curves)
    return curves, np.array([trapezoid_auc(c) for c in curves], dtype=np.float64)


# --------------------------------------------------------------------------------------------------------------
# Metric B: cascading model-parameter randomisation
# --------------------------------------------------------------------------------------------------------------

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB


def splitmix64_next(seed):
    """First output of SplitMix64 seeded with `seed` (Python ints, mod 2^64)."""
    z = (seed + GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


def name_hash(name):
    """First 8 bytes of SHA-256(UTF-8 name) as a little-endian uint64."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")


def stream_state(name, seed):
    """state0 = name_hash(name) XOR splitmix64_next(seed)."""
    return name_hash(name) ^ splitmix64_next(seed)


def splitmix64_outputs(state0, n):
    """Outputs z_0..z_{n−1} of SplitMix64 started at state0: z_k = mix(state0 + (k+1)·GOLDEN) (numpy uint64, wraps)."""
    k = np.arange(1, n + 1, dtype=np.uint64)
    z = np.uint64(state0) + k * np.uint64(GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
    return z ^ (z >> np.uint64(31))


def uniform_values(name, shape, bound, seed):
    """float32 tensor of `shape`: element k (row-major) = float32((2·u_k − 1)·bound), u_k = (z_k >> 40)·2^−24."""
    n = int(np.prod(shape)) if len(shape) else 1
    z = splitmix64_outputs(stream_state(name, seed), n)
    u = (z >> np.uint64(40)).astype(np.float64) * (2.0 ** -24)
    v = ((2.0 * u - 1.0) * float(bound)).astype(np.float32)
    return torch.from_numpy(v.reshape(tuple(shape)))


def cascade_stages(model):
    """Stage names, top of the network first: nn.Sequential modules are split into their children, any other
    module that owns parameters (directly or below) is one stage; modules without parameters are skipped.
    MobileNetV2: classifier.1, features.18.1, features.18.0, features.17, ..., features.1, features.0.1,
    features.0.0 (22 stages)."""
    stages = []

    def walk(module, prefix):
        for name, child in module.named_children():
            full = f"{prefix}.{name}" if prefix else name
            if not any(True for _ in child.parameters()):
                continue
            if isinstance(child, torch.nn.Sequential):
                walk(child, full)
            else:
                stages.append(full)

    walk(model, "")
    return stages[::-1]


def randomise_stage(model, stage, seed):
    """Re-draw every Conv2d / Linear of `stage` (weight and bias uniform in ±1/sqrt(fan_in), fan_in =
    weight.numel() / weight.shape[0]) with uniform_values keyed by the full state-dict names; reset every
    BatchNorm2d to weight 1, bias 0, running_mean 0, running_var 1 (num_batches_tracked untouched)."""
    root = model.get_submodule(stage)
    with torch.no_grad():
        for sub, m in root.named_modules():
            prefix = f"{stage}.{sub}" if sub else stage
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                fan_in = m.weight.numel() // m.weight.shape[0]
                bound = 1.0 / math.sqrt(fan_in)
                m.weight.copy_(uniform_values(prefix + ".weight", m.weight.shape, bound, seed))
                if m.bias is not None:
                    m.bias.copy_(uniform_values(prefix + ".bias", m.bias.shape, bound, seed))
            elif isinstance(m, torch.nn.BatchNorm2d):
                m.weight.fill_(1.0)
                m.bias.fill_(0.0)
                m.running_mean.fill_(0.0)
                m.running_var.fill_(1.0)


def gradient_map(model, x, targets):
    """max over channels of |∂ logit_t / ∂x|, N×H×W (the backward of Σ_i logit_i[t_i])."""
    x = x.clone().requires_grad_(True)
    logits = model(x)
    g, = torch.autograd.grad(logits.gather(1, torch.as_tensor(targets)[:, None]).sum(), x)
    return g.abs().amax(dim=1)


def gradcam_map(model, layer, x, targets):
    """Grad-CAM at `layer`: weights = spatial mean of ∂(Σ_i logit_i[t_i])/∂A, ReLU(Σ_k w_k A_k), bilinear upsampling
    to the input size (align_corners=False), no min-max scaling. N×H×W."""
    saved = {}

    def hook(module, inputs, output):
        saved["a"] = output

    handle = layer.register_forward_hook(hook)
    try:
        x = x.clone().requires_grad_(True)
        logits = model(x)
    finally:
        handle.remove()
    a = saved["a"]
    g, = torch.autograd.grad(logits.gather(1, torch.as_tensor(targets)[:, None]).sum(), a)
    a, g = a.detach(), g.detach()
    cam = torch.relu((g.mean(dim=(2, 3))[:, :, None, None] * a).sum(dim=1))
    return F.interpolate(cam[:, None], size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0]


def normalise_abs(m):
    """a = |m| / max|m| in float64; an all-zero map stays all zero."""
    a = np.abs(np.asarray(m, dtype=np.float64))
    top = a.max()
    return a / top if top > 0 else a


WIN = 7
K1, K2 = 0.01, 0.03


def ssim(a, b):
    """skimage-default SSIM (7×7 uniform window, sample covariance, K1 = 0.01, K2 = 0.03) of two float64 maps with
    data_range R = max(a.max, b.max) − min(a.min, b.min), averaged over the (H−6)×(W−6) windows fully inside the
    map. R = 0 gives 1."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    r = max(a.max(), b.max()) - min(a.min(), b.min())
    if r == 0:
        return 1.0

    def wmean(v):
        return np.lib.stride_tricks.sliding_window_view(v, (WIN, WIN)).mean(axis=(-2, -1))

    ux, uy = wmean(a), wmean(b)
    uxx, uyy, uxy = wmean(a * a), wmean(b * b), wmean(a * b)
    cov_norm = WIN * WIN / (WIN * WIN - 1.0)
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1, c2 = (K1 * r) ** 2, (K2 * r) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return float(s.mean())


def ssim_skimage(a, b):
    """The same value through skimage (None when python3-skimage is not installed)."""
    try:
        from skimage.metrics import structural_similarity
    except ImportError:
        return None
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    r = max(a.max(), b.max()) - min(a.min(), b.min())
    if r == 0:
        return 1.0
    return float(structural_similarity(a, b, data_range=r))


def spearman(a, b):
    """scipy.stats.spearmanr(a.ravel(), b.ravel()).correlation; 0 when either map is constant."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.min() == a.max() or b.min() == b.max():
        return 0.0
    return float(scipy.stats.spearmanr(a, b).correlation)


def similarities(original, randomised):
    """(SSIM, Spearman) of two raw maps after normalise_abs."""
    a, b = normalise_abs(original), normalise_abs(randomised)
    return ssim(a, b), spearman(a, b)


def mprt(model, x, targets, map_fns, seed, stages=None, on_step=None):
    """Cascading randomisation. map_fns: {method: fn(model, x, targets) -> N×H×W}. The model is deep-copied
    (the caller's is untouched). Returns (stages, originals {method: N×H×W}, results {method: {"ssim_steps",
    "spearman_steps": N×S float64, "ssim", "spearman": N float64 (means over the steps)}})."""
    work = copy.deepcopy(model).eval()
    stages = cascade_stages(work) if stages is None else stages
    originals = {k: fn(work, x, targets).detach().numpy() for k, fn in map_fns.items()}
    n, s = x.shape[0], len(stages)
    res = {k: {"ssim_steps": np.zeros((n, s)), "spearman_steps": np.zeros((n, s))} for k in map_fns}
    for j, stage in enumerate(stages):
        randomise_stage(work, stage, seed)
        for k, fn in map_fns.items():
            r = fn(work, x, targets).detach().numpy()
            for i in range(n):
                res[k]["ssim_steps"][i, j], res[k]["spearman_steps"][i, j] = similarities(originals[k][i], r[i])
        if on_step:
            on_step(j, stage, res)
    for k in res:
        res[k]["ssim"] = res[k]["ssim_steps"].mean(axis=1)
        res[k]["spearman"] = res[k]["spearman_steps"].mean(axis=1)
    return stages, originals, res
