#!/usr/bin/python3
"""Reference values for tests/Harness.Tests/Imaging/*Tests.cs: PIL decoding and torchvision 0.14 preprocessing.

Run with Debian's interpreter (python3-torch, python3-torchvision, python3-pil):
    /usr/bin/python3 tests/Harness.Tests/Golden/make_golden_imaging.py
Writes imaging.safetensors next to this script (deterministic: same bytes on every run). Keys:

  decode.<stem>              uint8 H×W×3   PIL's Image.open(path).convert("RGB") of three shipped sample images
  sample.index               int64 [S]     flat indices into a 3×224×224 output, shared by every "sampled" case
  <config>.<stem>            float32 [S]   torchvision output at sample.index, config = imagenet | coral
  synthetic.image            uint8 180×300×3  a non-square test image (the C# test builds the RgbImage from it;
                                              "tall" cases use its transpose, 300×180)
  synthetic.<config>[_tall]  float32 [S]   sampled torchvision output for the wide / tall synthetic image
  small.<case>.image         uint8 H×W×3   tiny images with custom configs (same mean/std as ImageNet) whose
  small.<case>.out           float32 3×C×C full torchvision output: crop rounding, zero padding, upscaling
  gray.jpeg / gray.rgb       a grayscale JPEG written by PIL and PIL's RGB decode of it
  cmyk.jpeg / cmyk.rgb       an Adobe CMYK JPEG written by PIL and PIL's RGB decode of it
  ycck.jpeg / ycck.rgb       a YCCK JPEG written by libturbojpeg (via ctypes) and PIL's RGB decode of it

The full 3×224×224 float outputs (602 KB each) would not fit the 1 MB budget, so large cases are compared at
S fixed random positions; the small cases are compared everywhere. Configs and sizes are repeated in the C#
tests under the same case names.
"""
import ctypes
import io
import os

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T
from golden_io import write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
# TODO: drop the fallback once data/imagenet-val-sample/images/ is committed in the repository.
IMAGES = os.path.join(REPO, "data", "imagenet-val-sample", "images")
if not os.path.isdir(IMAGES):
    IMAGES = "/work/shared/data/imagenet-val-sample/images"
STEMS = ["ILSVRC2012_val_00000890", "ILSVRC2012_val_00000947", "ILSVRC2012_val_00002255"]

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
CONFIGS = {
    "imagenet": (256, 224, IMAGENET_MEAN, IMAGENET_STD),
    "coral": (224, 224, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
}
SAMPLES = 2048

out = {}


def put(name, value):
    out[name] = torch.from_numpy(np.array(value, copy=True))


def pipeline(resize, crop, mean, std):
    return T.Compose([T.Resize(resize), T.CenterCrop(crop), T.ToTensor(), T.Normalize(mean, std)])


rng = np.random.RandomState(20240607)
index = np.sort(rng.choice(3 * 224 * 224, SAMPLES, replace=False)).astype(np.int64)
put("sample.index", index)

# --- shipped ImageNet images: decode and both preprocessing configs -------------------------------------------
for stem in STEMS:
    img = Image.open(os.path.join(IMAGES, stem + ".JPEG")).convert("RGB")
    put(f"decode.{stem}", np.asarray(img))
    for name, cfg in CONFIGS.items():
        put(f"{name}.{stem}", pipeline(*cfg)(img).reshape(-1).numpy()[index])

# --- a non-square synthetic image: gradients, stripes and noise ------------------------------------------------
yy, xx = np.mgrid[0:180, 0:300]
synthetic = np.stack([
    xx * 255 // 299,
    (yy * 255 // 179 + 40 * ((xx // 7) % 2)) % 256,
    rng.randint(0, 256, (180, 300)),
], axis=-1).astype(np.uint8)
put("synthetic.image", synthetic)
for name, cfg in CONFIGS.items():
    for suffix, arr in [("", synthetic), ("_tall", synthetic.transpose(1, 0, 2))]:
        put(f"synthetic.{name}{suffix}", pipeline(*cfg)(Image.fromarray(np.ascontiguousarray(arr))).reshape(-1).numpy()[index])

# --- tiny images, full outputs: (width, height, resize, crop) --------------------------------------------------
SMALL = {
    "crop_round_down": (75, 45, 41, 32),   # resized 68×41: top = round(4.5) = 4 (banker's), left = 18
    "crop_round_up": (75, 45, 43, 32),     # resized 71×43: top = round(5.5) = 6, left = round(19.5) = 20
    "pad": (50, 30, 23, 32),               # resized 38×23: rows padded 4 above / 5 below, left = 3
    "pad_tall": (30, 50, 23, 32),          # the transpose: columns padded 4 left / 5 right
    "pad_both": (30, 20, 12, 24),          # resized 18×12: padded 3 left / 3 right, 6 above / 6 below
    "upscale": (20, 12, 64, 48),           # resized 106×64, left = 29, top = 8
    "no_resize": (40, 33, 33, 32),         # the shorter side already has the size: crop only
}
for case, (w, h, resize, crop) in SMALL.items():
    img = rng.randint(0, 256, (h, w, 3)).astype(np.uint8)
    put(f"small.{case}.image", img)
    put(f"small.{case}.out", pipeline(resize, crop, IMAGENET_MEAN, IMAGENET_STD)(Image.fromarray(img)))

# --- grayscale, CMYK and YCCK JPEGs -----------------------------------------------------------------------------
yy, xx = np.mgrid[0:30, 0:40]


def jpeg_bytes(img, **kw):
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()


def put_jpeg(name, data):
    put(f"{name}.jpeg", np.frombuffer(data, np.uint8))
    put(f"{name}.rgb", np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))


put_jpeg("gray", jpeg_bytes(Image.fromarray((xx * 6 + yy * 2 + rng.randint(0, 20, (30, 40))).astype(np.uint8), "L"), quality=90))

cmyk = np.stack([xx * 255 // 39, yy * 255 // 29, (xx + yy) * 255 // 68, 255 - (xx * 7 + yy * 3) % 256], -1).astype(np.uint8)
cmyk[::5] = rng.randint(0, 256, cmyk[::5].shape)  # noisy rows: many (c, k) combinations
put_jpeg("cmyk", jpeg_bytes(Image.fromarray(cmyk, "CMYK"), quality=95))


def turbojpeg_ycck(pixels, quality):
    """libturbojpeg writes CMYK pixels as a YCCK JPEG (PIL can only write plain CMYK)."""
    tj = ctypes.CDLL("libturbojpeg.so.0")
    tj.tjInitCompress.restype = ctypes.c_void_p
    handle = ctypes.c_void_p(tj.tjInitCompress())
    buf, size = ctypes.POINTER(ctypes.c_ubyte)(), ctypes.c_ulong(0)
    h, w = pixels.shape[:2]
    TJPF_CMYK, TJSAMP_444 = 11, 0
    rc = tj.tjCompress2(handle, pixels.tobytes(), w, 0, h, TJPF_CMYK, ctypes.byref(buf), ctypes.byref(size), TJSAMP_444, quality, 0)
    assert rc == 0, "tjCompress2 failed"
    data = ctypes.string_at(buf, size.value)
    tj.tjFree(buf)
    tj.tjDestroy(handle)
    return data


put_jpeg("ycck", turbojpeg_ycck(cmyk, 95))
assert Image.open(io.BytesIO(out["ycck.jpeg"].numpy().tobytes())).mode == "CMYK"

# --- safetensors writer (format: u64 header size, JSON header, raw little-endian data) -----------------------




target = os.path.join(HERE, "imaging.safetensors")
write_safetensors(target, out, {"generator": "make_golden_imaging.py", "torch": torch.__version__, "torchvision": torchvision.__version__, "pillow": PIL.__version__})
print(f"wrote {len(out)} tensors, {os.path.getsize(target)} bytes to {target}")
