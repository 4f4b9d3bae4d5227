#!/usr/bin/python3
"""Reference values for the two "sanity-check" saliency metrics (deletion / insertion AUC and cascading model-parameter
randomisation, MPRT), computed with the independent reference implementation tools/reference/sanity.py
(Debian's PyTorch 1.13 / torchvision 0.14, numpy, scipy; python3-skimage 0.19, `apt-get install python3-skimage`, when
installed: every SSIM value is then cross-checked against skimage.metrics.structural_similarity to 1e-12).

Run with Debian's interpreter:  /usr/bin/python3 make_golden_sanity.py   (writes sanity.safetensors here, ~1 minute on
one CPU thread; deterministic)

Setup (as make_golden_attribution.py): the shipped checkpoint data/models/mobilenet_v2_coral.pth in
torchvision.models.mobilenet_v2(num_classes=1000), eval mode, on four sample images (IMAGES below), preprocessed by
torchvision (Resize(224), CenterCrop(224)); the crop is stored as uint8 "pixels" (N×3×224×224) and the model input is
((pixels / 255) − 0.5) / 0.5, checked bit for bit against torchvision's ToTensor + Normalize(0.5, 0.5). Targets: each
image's true class (boxes XML wnid → line of LOC_synset_mapping.txt).
Maps: "gradient" = max over channels of |∂ logit_t / ∂x|; "gradcam" = Grad-CAM at features.18 (ReLU of the
gradient-mean-weighted sum, bilinear upsampling to 224×224 with align_corners=False, no min-max scaling).

Keys (N = 4 images)
  pixels                       uint8   N×3×224×224
  targets                      int64   N
  maps_gradient                float32 N×224×224   gradient maps of the original model (the C# test computes its own Grad-CAM maps)
  blur_kernel                  float32 11×11       the "blur" baseline's Gaussian (σ = 5, sum 1)
  step, K                      int64   []          6272 pixels per step, K = ceil(224² / 6272) = 8 steps
  {deletion,insertion}_{blur,mean}_curve  float64 N×(K+1)   p_k = softmax(model(image_k))[t], k = 0..K
  {deletion,insertion}_{blur,mean}_auc    float64 N         (Σ p_k − (p_0 + p_K)/2) / K
      (the maps ordering the pixels are maps_gradient, ties by smaller row-major index)
  mprt_seed                    int64   []          S = 7
  mprt_{gradient,gradcam}_{ssim,spearman}_steps  float64 N×22  similarity of the original and the randomised map
                                                   after cascade step j (stages in metadata "mprt_stages")
  mprt_{gradient,gradcam}_{ssim,spearman}        float64 N     mean over the 22 steps
  mprt_check_features.0.0.weight  float32 [16]  first 16 generated values (row-major) of that parameter, S = 7
  mprt_check_classifier.1.bias    float32 [16]  likewise (bound 1/sqrt(1280))
  mprt_check_z_features.0.0.weight int64 [4]    first 4 raw SplitMix64 outputs z_0..z_3 for that parameter
                                                (uint64 bits stored as int64)
Metadata: mprt_stages (comma-separated cascade order: classifier.1, features.18.1, features.18.0, features.17, ...,
features.1, features.0.1, features.0.0), images, settings, versions.
"""
import os
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
from PIL import Image
from golden_io import write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
import sanity  # noqa: E402

SAMPLE = os.path.join(ROOT, "data", "imagenet-val-sample")
IMAGES = ["ILSVRC2012_val_00000890", "ILSVRC2012_val_00000947", "ILSVRC2012_val_00002255", "ILSVRC2012_val_00003913"]
STEP = 6272
SEED = 7
EXPECTED_STAGES = (["classifier.1", "features.18.1", "features.18.0"] + [f"features.{i}" for i in range(17, 0, -1)]
                   + ["features.0.1", "features.0.0"])

torch.set_num_threads(1)
t_start = time.time()
out = {}


def put(name, t):
    if isinstance(t, np.ndarray):
        t = torch.from_numpy(t)
    out[name] = t.detach().contiguous().clone()


# --- inputs, model, original maps -------------------------------------------------------------------------------
synsets = [line.split()[0] for line in open(os.path.join(SAMPLE, "LOC_synset_mapping.txt"))]
crop = T.Compose([T.Resize(224), T.CenterCrop(224)])
normalize = T.Compose([T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])
pixels, inputs, targets = [], [], []
for stem in IMAGES:
    img = crop(Image.open(os.path.join(SAMPLE, "images", stem + ".JPEG")).convert("RGB"))
    u8 = torch.from_numpy(np.array(img, np.uint8, copy=True)).permute(2, 0, 1).contiguous()
    x = (u8.to(torch.float32).div(255) - 0.5) / 0.5
    assert torch.equal(x, normalize(img)), "uint8 reconstruction differs from torchvision's preprocessing"
    pixels.append(u8)
    inputs.append(x)
    name = ET.parse(os.path.join(SAMPLE, "boxes", stem + ".xml")).getroot().find("object/name").text
    targets.append(synsets.index(name))
x = torch.stack(inputs)
t = torch.tensor(targets)

model = torchvision.models.mobilenet_v2(num_classes=1000)
model.load_state_dict(torch.load(os.path.join(ROOT, "data", "models", "mobilenet_v2_coral.pth")))
model.eval()
with torch.no_grad():
    probs = torch.softmax(model(x), dim=1)
print("targets", targets, "top-1", probs.argmax(1).tolist(), "p(target)", [round(float(p), 4) for p in probs[range(4), t]])

MAP_FNS = {
    "gradient": sanity.gradient_map,
    "gradcam": lambda m, xx, tt: sanity.gradcam_map(m, m.features[18], xx, tt),
}
maps = {k: fn(model, x, t).detach() for k, fn in MAP_FNS.items()}
put("pixels", torch.stack(pixels))
put("targets", t)
put("maps_gradient", maps["gradient"])

# --- self-checks of the similarity functions --------------------------------------------------------------------
have_skimage = sanity.ssim_skimage(np.zeros((8, 8)), np.ones((8, 8))) is not None
for k in MAP_FNS:
    for i in range(len(IMAGES)):
        s, r = sanity.similarities(maps[k][i].numpy(), maps[k][i].numpy())
        assert abs(s - 1) < 1e-12 and abs(r - 1) < 1e-12, (k, i, s, r)
assert sanity.ssim(np.zeros((10, 10)), np.zeros((10, 10))) == 1.0
assert sanity.spearman(np.zeros((10, 10)), np.arange(100.0).reshape(10, 10)) == 0.0
print("self-similarity of every original map: SSIM = Spearman = 1 (to 1e-12)")

# --- generator self-check -----------------------------------------------------------------------------------------


def scalar_values(name, n, bound, seed):
    """Plain-Python SplitMix64 (independent of the numpy vectorisation) for the first n values."""
    state = sanity.name_hash(name) ^ sanity.splitmix64_next(seed)
    vals, zs = [], []
    for _ in range(n):
        state = (state + sanity.GOLDEN) & sanity.MASK64
        z = state
        z = ((z ^ (z >> 30)) * sanity.MIX1) & sanity.MASK64
        z = ((z ^ (z >> 27)) * sanity.MIX2) & sanity.MASK64
        z ^= z >> 31
        zs.append(z)
        vals.append(float(np.float32((2.0 * ((z >> 40) * 2.0 ** -24) - 1.0) * bound)))
    return vals, zs


for pname, shape in (("features.0.0.weight", (32, 3, 3, 3)), ("classifier.1.bias", (1000,))):
    fan_in = 27 if pname.startswith("features") else 1280
    bound = 1.0 / np.sqrt(fan_in)
    v = sanity.uniform_values(pname, shape, bound, SEED).reshape(-1)
    ref, zs = scalar_values(pname, 16, bound, SEED)
    assert v[:16].tolist() == ref, pname
    assert float(v.abs().max()) <= bound
    put(f"mprt_check_{pname}", v[:16])
    print(f"{pname}: hash=0x{sanity.name_hash(pname):016x} state0=0x{sanity.stream_state(pname, SEED):016x} "
          f"bound={bound:.9g}")
    print(f"  z_0..z_2 = {', '.join(f'0x{z:016x}' for z in zs[:3])}")
    print(f"  first 5 values (S={SEED}): {[float(f'{a:.9g}') for a in v[:5].tolist()]}")
    if pname == "features.0.0.weight":
        put("mprt_check_z_features.0.0.weight", torch.tensor(np.array(zs[:4], dtype=np.uint64).view(np.int64)))
print(f"splitmix64_next({SEED}) = 0x{sanity.splitmix64_next(SEED):016x}")

# --- metric A: deletion / insertion -------------------------------------------------------------------------------
kk = sanity.num_steps(224 * 224, STEP)
assert kk == 8
put("step", torch.tensor(STEP, dtype=torch.int64))
put("K", torch.tensor(kk, dtype=torch.int64))
put("blur_kernel", sanity.gaussian_kernel())
print(f"\ndeletion / insertion AUC (gradient maps, step {STEP}, K {kk}); rows = images")
auc_table = {}
for mode in ("deletion", "insertion"):
    for kind in ("blur", "mean"):
        curves, aucs = sanity.causal_curves(model, x, t, maps["gradient"], mode, kind, STEP)
        put(f"{mode}_{kind}_curve", curves)
        put(f"{mode}_{kind}_auc", aucs)
        auc_table[(mode, kind)] = aucs
        print(f"  {mode:9s} {kind:4s} auc {np.array2string(aucs, precision=5)}  mean {aucs.mean():.5f}")
        for i in range(len(IMAGES)):
            print(f"      img{i} curve {np.array2string(curves[i], precision=4, max_line_width=200)}")
for kind in ("blur", "mean"):
    d, ins = auc_table[("deletion", kind)].mean(), auc_table[("insertion", kind)].mean()
    print(f"  {kind}: mean deletion {d:.5f} vs insertion {ins:.5f} -> deletion < insertion: {d < ins}")

# --- metric B: cascading randomisation ------------------------------------------------------------------------------
stages = sanity.cascade_stages(model)
assert stages == EXPECTED_STAGES, stages
ssim_pairs = []


def on_step(j, stage, res):
    print(f"  step {j + 1:2d} {stage:14s} " + "  ".join(
        f"{k}: ssim {res[k]['ssim_steps'][0, j]:.5f} spearman {res[k]['spearman_steps'][0, j]:.5f}" for k in res))


print(f"\nMPRT, seed {SEED}, image 0 per step")
_, originals, res = sanity.mprt(model, x, t, MAP_FNS, SEED, stages=stages, on_step=on_step)
for k in MAP_FNS:
    assert np.array_equal(originals[k], maps[k].numpy()), k
put("mprt_seed", torch.tensor(SEED, dtype=torch.int64))
for k in MAP_FNS:
    for sim in ("ssim", "spearman"):
        put(f"mprt_{k}_{sim}_steps", res[k][f"{sim}_steps"])
        put(f"mprt_{k}_{sim}", res[k][sim])
        print(f"  mprt_{k}_{sim} per image {np.array2string(res[k][sim], precision=5)}")

# skimage cross-check of every SSIM value (recomputes the randomised maps, so it also checks determinism)
if have_skimage:
    import copy
    work = copy.deepcopy(model).eval()
    worst = 0.0
    for j, stage in enumerate(stages):
        sanity.randomise_stage(work, stage, SEED)
        for k, fn in MAP_FNS.items():
            r = fn(work, x, t).detach().numpy()
            for i in range(len(IMAGES)):
                a, b = sanity.normalise_abs(maps[k][i].numpy()), sanity.normalise_abs(r[i])
                assert sanity.ssim(a, b) == res[k]["ssim_steps"][i, j]
                worst = max(worst, abs(sanity.ssim_skimage(a, b) - res[k]["ssim_steps"][i, j]))
    assert worst < 1e-12, worst
    print(f"skimage cross-check: all {len(stages) * len(MAP_FNS) * len(IMAGES)} SSIM values agree, max |diff| {worst:.3g}")
else:
    print("skimage not installed: SSIM not cross-checked")

path = os.path.join(HERE, "sanity.safetensors")
write_safetensors(path, out, {
    "generator": "make_golden_sanity.py (tools/reference/sanity.py)",
    "torch": torch.__version__,
    "torchvision": torchvision.__version__,
    "images": ",".join(IMAGES),
    "mprt_stages": ",".join(stages),
    "settings": f"model=mobilenet_v2_coral; maps for true classes; deletion/insertion on maps_gradient, step={STEP}, "
                f"K={kk}, blur=11x11 sigma=5 zero-pad 5; mprt seed={SEED}, gradcam layer=features.18",
    "skimage_cross_checked": str(have_skimage).lower(),
})
print(f"wrote {len(out)} tensors, {os.path.getsize(path)} bytes in {time.time() - t_start:.1f} s")
