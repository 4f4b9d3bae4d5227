#!/usr/bin/python3
"""Reference saliency maps for tests/Harness.Tests/Attribution/AttributionGoldenTests.cs, computed with Debian's
PyTorch 1.13 / torchvision 0.14 the way pytorch-grad-cam and the usual hook-based implementations do.

Run with Debian's interpreter:  /usr/bin/python3 make_golden_attribution.py   (writes attribution.safetensors here on
an AVX-512 CPU, attribution-avx2.safetensors elsewhere: oneDNN's kernels for the two sum in different orders, see below)
with the BLAS scripts/bootstrap.sh installs (OpenBLAS, libopenblas0-openmp). The BLAS matters: some of MobileNetV2's
convolutions run as matrix products, and a rounding difference there moves a few pre-activations across a ReLU6
kink, which changes the input gradient's maximum by 0.7% (the reference BLAS against OpenBLAS, both in PyTorch). The
library is recorded in the file's metadata ("blas"); the test skips the MobileNetV2 gradient on the reference BLAS.

Cases
- mobilenet_v2: the shipped checkpoint data/models/mobilenet_v2_coral.pth on two real sample images, preprocessed
  by torchvision (Resize(224), CenterCrop(224), ToTensor, Normalize(0.5, 0.5)). To keep the file small the
  224×224 RGB crop is stored as uint8 ("pixels"); the model input is ((pixels / 255) − 0.5) / 0.5 with the same
  aten ops the C# test uses, and this script checks that it equals torchvision's tensor bit for bit. Targets:
  row 0 = each image's true class (boxes XML → line of LOC_synset_mapping.txt), row 1 = the highest-scoring
  other class. Maps: input gradient (max |·| over channels) and Grad-CAM at features.18 (forward hook on the
  module, tensor hook for its gradient, weights = spatial mean of the gradient, ReLU of the weighted sum,
  bilinear upsampling with align_corners=False; no min-max scaling).
- vgg11: torchvision vgg11 with the deterministic weights of make_golden_models.py (seed 201) and the input
  torch.randn(2, 3, 64, 64) drawn right after them (stored: the C# weight filler uses its own generator).
  Maps: gradient, Grad-CAM at features.20, gradient×input (signed channel sum) and guided backprop
  (full backward hooks on every ReLU clamping the gradient at 0; max |·| over channels).
"""
import os
import xml.etree.ElementTree as ET

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms as T
from PIL import Image
from golden_io import write_safetensors, fill

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SAMPLE = os.path.join(ROOT, "data", "imagenet-val-sample")
IMAGES = ["ILSVRC2012_val_00000890", "ILSVRC2012_val_00000947"]
VGG_SEED = 201
VGG_TARGETS = [7, 640]

torch.set_num_threads(1)
out = {}


def put(name, t):
    out[name] = t.detach().contiguous().clone()




def select(logits, targets):
    return logits.gather(1, targets[:, None]).sum()


def gradient(model, x, targets):
    """d Σ_b logits[b, t_b] / dx, B×C×H×W."""
    x = x.clone().requires_grad_(True)
    g, = torch.autograd.grad(select(model(x), targets), x)
    return g


def gradcam(model, layer, x, targets):
    """pytorch-grad-cam's GradCAM (ActivationsAndGradients hooks), without its per-image min-max scaling."""
    saved = {}

    def forward_hook(module, inputs, output):
        saved["a"] = output
        output.register_hook(lambda g: saved.__setitem__("g", g))

    handle = layer.register_forward_hook(forward_hook)
    try:
        x = x.clone().requires_grad_(True)
        logits = model(x)
        loss = sum(logits[i, t] for i, t in enumerate(targets.tolist()))
        model.zero_grad()
        loss.backward()
    finally:
        handle.remove()
    a, g = saved["a"].detach(), saved["g"].detach()
    weights = g.mean(dim=(2, 3))
    cam = torch.relu((weights[:, :, None, None] * a).sum(dim=1))
    return F.interpolate(cam[:, None], size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0]


def guided_backprop(model, x, targets):
    handles = []
    for m in model.modules():
        if isinstance(m, (torch.nn.ReLU, torch.nn.ReLU6)):
            m.inplace = False  # full backward hooks refuse in-place modules
            handles.append(m.register_full_backward_hook(lambda mod, gin, gout: (torch.clamp(gin[0], min=0.0),)))
    try:
        return gradient(model, x, targets)
    finally:
        for h in handles:
            h.remove()


def max_abs(g):
    return g.abs().amax(dim=1)


# --- MobileNetV2, shipped checkpoint, real images ---------------------------------------------------------------
synsets = [line.split()[0] for line in open(os.path.join(SAMPLE, "LOC_synset_mapping.txt"))]
crop = T.Compose([T.Resize(224), T.CenterCrop(224)])
normalize = T.Compose([T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])
pixels, inputs, true_classes = [], [], []
for stem in IMAGES:
    img = crop(Image.open(os.path.join(SAMPLE, "images", stem + ".JPEG")).convert("RGB"))
    u8 = torch.from_numpy(np.array(img, np.uint8, copy=True)).permute(2, 0, 1).contiguous()
    x = (u8.to(torch.float32).div(255) - 0.5) / 0.5  # what the C# test computes from the stored pixels
    assert torch.equal(x, normalize(img)), "uint8 reconstruction differs from torchvision's preprocessing"
    pixels.append(u8)
    inputs.append(x)
    name = ET.parse(os.path.join(SAMPLE, "boxes", stem + ".xml")).getroot().find("object/name").text
    true_classes.append(synsets.index(name))

model = torchvision.models.mobilenet_v2(num_classes=1000)
model.load_state_dict(torch.load(os.path.join(ROOT, "data", "models", "mobilenet_v2_coral.pth")))
model.eval()
x = torch.stack(inputs)
with torch.no_grad():
    logits = model(x)
masked = logits.clone()
masked[torch.arange(2), torch.tensor(true_classes)] = -float("inf")
targets = torch.stack([torch.tensor(true_classes), masked.argmax(1)])  # 2 target sets × 2 images
print("mobilenet_v2 targets", targets.tolist(), "top-1", logits.argmax(1).tolist())

put("mobilenet_v2.pixels", torch.stack(pixels))
put("mobilenet_v2.input_sum", x.sum(dim=(1, 2, 3)))
put("mobilenet_v2.targets", targets)
put("mobilenet_v2.target_logits", torch.stack([logits.gather(1, t[:, None])[:, 0] for t in targets]))
put("mobilenet_v2.gradient", torch.stack([max_abs(gradient(model, x, t)) for t in targets]))
put("mobilenet_v2.gradcam", torch.stack([gradcam(model, model.features[18], x, t) for t in targets]))
del model

# --- VGG11, deterministic random weights -------------------------------------------------------------------------
model = torchvision.models.vgg11(num_classes=1000).eval()
fill(model, VGG_SEED)
x = torch.randn(2, 3, 64, 64)  # continues the generator stream after the weights
t = torch.tensor(VGG_TARGETS)
g = gradient(model, x, t)
put("vgg11.input", x)
put("vgg11.targets", t)
put("vgg11.gradient", max_abs(g))
put("vgg11.gradient_x_input", (g * x).sum(dim=1))
put("vgg11.gradcam", gradcam(model, model.features[20], x, t))
put("vgg11.guided_backprop", max_abs(guided_backprop(model, x, t)))
for k in ("gradient", "gradcam", "gradient_x_input", "guided_backprop"):
    print("vgg11", k, "max", float(out[f"vgg11.{k}"].abs().max()))

# --- safetensors writer (format: u64 header size, JSON header, raw little-endian data) ------------------------------




def cpu_has_avx512():
    """Whether this CPU has AVX-512, on which oneDNN 2.6 runs its brgemm convolution kernels (elsewhere its jit ones)."""
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            return "avx512f" in line.split()
    return False


# The kernel family sums a convolution's products in its own order, and a rounding difference moves a few of
# MobileNetV2's pre-activations across a ReLU6 kink (1.2% of the gradient's maximum, AVX2 against AVX-512, both in
# PyTorch): so each family has its reference, and the test reads the one of the CPU it runs on.
AVX512 = cpu_has_avx512()
path = os.path.join(HERE, "attribution.safetensors" if AVX512 else "attribution-avx2.safetensors")


def blas_library():
    """The BLAS shared library mapped into this process (what libtorch multiplies matrices with)."""
    for line in open("/proc/self/maps"):
        file = line[line.find("/"):].strip() if "/" in line else ""
        name = os.path.basename(file)
        if name.startswith(("libblas.so", "libopenblas", "libblis", "libmkl_rt")):
            return os.path.realpath(file)
    return "unknown"


write_safetensors(path, out, {"generator": "make_golden_attribution.py", "torch": torch.__version__, "torchvision": torchvision.__version__,
                              "blas": blas_library(), "cpu": "avx512" if AVX512 else "avx2"})
print(f"wrote {len(out)} tensors, {os.path.getsize(path)} bytes")
