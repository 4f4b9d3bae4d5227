#!/usr/bin/python3
"""Independent PyTorch reference for the four localization metrics of docs/metrics-spec.md.

For every image of data/imagenet-val-sample (sorted by id) this computes Grad-CAM for the ground-truth class with
the shipped MobileNetV2 (data/models/mobilenet_v2_coral.pth) the way pytorch-grad-cam does it, and a fixed
"center" Gaussian baseline map, then bbox_accuracy, pointing_game, energy_pointing_game and localization_accuracy
written directly from the spec (not from the C# code under src/). Writes
tests/Harness.Tests/Golden/gradcam_localization.json and prints a summary table.

Run with Debian's interpreter (it has torch 1.13 / torchvision 0.14):
    nice /usr/bin/python3 tools/reference/gradcam_localization.py [--out PATH]
"""
import argparse
import json
import os
import sys
import xml.etree.ElementTree as ET
from collections import deque

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torchvision import transforms

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLE = os.path.join(ROOT, "data", "imagenet-val-sample")
MODEL_JSON = os.path.join(ROOT, "data", "models", "mobilenet_v2_coral.json")
MODEL_PTH = os.path.join(ROOT, "data", "models", "mobilenet_v2_coral.pth")
DEFAULT_OUT = os.path.join(ROOT, "tests", "Harness.Tests", "Golden", "gradcam_localization.json")

R = 224  # Resize
C = 224  # CenterCrop
BBOX_MAX_FRACTION = 0.33
POINTING_TOLERANCE = 15.0
LOC_THRESHOLD = 0.15
LOC_IOU = 0.5
METRICS = ["bbox_accuracy", "pointing_game", "energy_pointing_game", "localization_accuracy"]


# ----------------------------------------------------------------------------------------------------- geometry
class Frame:
    """Original size, resized size (torchvision Resize(int)) and centre-crop offsets (torchvision CenterCrop)."""

    def __init__(self, orig_w, orig_h):
        self.orig_w, self.orig_h = orig_w, orig_h
        if orig_w <= orig_h:  # shorter side -> R, longer side -> int(R * long / short)
            self.res_w, self.res_h = R, int(R * orig_h / orig_w)
        else:
            self.res_w, self.res_h = int(R * orig_w / orig_h), R
        self.crop_left = int(round((self.res_w - C) / 2.0))
        self.crop_top = int(round((self.res_h - C) / 2.0))

    def box_to_input(self, box):
        """Continuous original-frame box (x0, y0, x1, y1) -> input frame, clipped to [0, C]."""
        x0, y0, x1, y1 = box
        sx, sy = self.res_w / self.orig_w, self.res_h / self.orig_h
        clip = lambda v: min(max(v, 0.0), float(C))
        return (clip(x0 * sx - self.crop_left), clip(y0 * sy - self.crop_top),
                clip(x1 * sx - self.crop_left), clip(y1 * sy - self.crop_top))

    def pixel_to_orig(self, i, j):
        x = (j + 0.5 + self.crop_left) * self.orig_w / self.res_w
        y = (i + 0.5 + self.crop_top) * self.orig_h / self.res_h
        return x, y


def box_mask(input_boxes):
    """Pixel (i, j) is in the mask iff its centre (j+0.5, i+0.5) lies inside a box, half-open [x0, x1)."""
    centres = np.arange(C, dtype=np.float64) + 0.5
    mask = np.zeros((C, C), dtype=bool)
    for x0, y0, x1, y1 in input_boxes:
        rows = (centres >= y0) & (centres < y1)
        cols = (centres >= x0) & (centres < x1)
        mask |= rows[:, None] & cols[None, :]
    return mask


def dist_to_box(x, y, box):
    x0, y0, x1, y1 = box
    dx = max(x0 - x, 0.0, x - x1)
    dy = max(y0 - y, 0.0, y - y1)
    return float(np.hypot(dx, dy))


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(iw, 0.0) * max(ih, 0.0)
    area = lambda r: max(r[2] - r[0], 0.0) * max(r[3] - r[1], 0.0)
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


# ------------------------------------------------------------------------------------------------------ metrics
def bbox_accuracy(m, mask):
    n = int(mask.sum())
    if n == 0:
        return None, "no_box_in_crop"
    if n > BBOX_MAX_FRACTION * C * C:
        return None, "box_too_large"
    flat = m.reshape(-1)
    order = np.argsort(-flat, kind="stable")  # descending value, ties by ascending flat index
    top = order[:n]
    return float(mask.reshape(-1)[top].sum()) / n, None


def pointing_game(m, frame, orig_boxes):
    if m.max() <= 0:
        return 0
    k = int(np.argmax(m))  # first maximum in row-major order
    i, j = divmod(k, C)
    x, y = frame.pixel_to_orig(i, j)
    d = min(dist_to_box(x, y, b) for b in orig_boxes)
    return 1 if d <= POINTING_TOLERANCE else 0


def energy_pointing_game(m, mask):
    if not mask.any():
        return None, "no_box_in_crop"
    total = float(m.sum())
    if total == 0:
        return 0.0, None
    return float(m[mask].sum()) / total, None


def largest_component(b):
    """Largest 8-connected component of boolean b; ties -> the component whose first pixel (row-major) comes
    first. Components are labelled in row-major scan order, so label order is first-pixel order."""
    h, w = b.shape
    labels = np.zeros((h, w), dtype=np.int32)
    best = None  # (size, minr, maxr, minc, maxc)
    nxt = 0
    for i in range(h):
        for j in range(w):
            if not b[i, j] or labels[i, j]:
                continue
            nxt += 1
            labels[i, j] = nxt
            q = deque([(i, j)])
            size, minr, maxr, minc, maxc = 0, i, i, j, j
            while q:
                r, c = q.popleft()
                size += 1
                minr, maxr = min(minr, r), max(maxr, r)
                minc, maxc = min(minc, c), max(maxc, c)
                for dr in (-1, 0, 1):
                    for dc in (-1, 0, 1):
                        rr, cc = r + dr, c + dc
                        if 0 <= rr < h and 0 <= cc < w and b[rr, cc] and not labels[rr, cc]:
                            labels[rr, cc] = nxt
                            q.append((rr, cc))
            if best is None or size > best[0]:  # strict: earlier component wins ties
                best = (size, minr, maxr, minc, maxc)
    return best


def localization_accuracy(m, input_boxes):
    mx = float(m.max())
    if mx <= 0:
        return 0
    b = m >= LOC_THRESHOLD * mx
    _, minr, maxr, minc, maxc = largest_component(b)
    pred = (float(minc), float(minr), float(maxc + 1), float(maxr + 1))
    return 1 if any(iou(pred, g) >= LOC_IOU for g in input_boxes) else 0


def all_metrics(saliency, frame, orig_boxes, input_boxes, mask):
    m = np.maximum(saliency.astype(np.float64), 0.0)
    ba, ba_skip = bbox_accuracy(m, mask)
    epg, epg_skip = energy_pointing_game(m, mask)
    return {
        "bbox_accuracy": ba, "bbox_skip": ba_skip,
        "pointing_game": pointing_game(m, frame, orig_boxes),
        "energy_pointing_game": epg, "energy_skip": epg_skip,
        "localization_accuracy": localization_accuracy(m, input_boxes),
    }


# ------------------------------------------------------------------------------------------------------- inputs
def read_boxes(path):
    root = ET.parse(path).getroot()
    wnid, boxes = None, []
    for obj in root.findall("object"):
        wnid = wnid or obj.find("name").text.strip()
        bb = obj.find("bndbox")
        v = [float(bb.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")]
        boxes.append((v[0], v[1], v[2] + 1.0, v[3] + 1.0))  # inclusive indices -> continuous half-open box
    return wnid, boxes


def center_map():
    sigma = 0.25 * C
    x = np.arange(C, dtype=np.float64) + 0.5
    d2 = (x[None, :] - C / 2.0) ** 2 + (x[:, None] - C / 2.0) ** 2
    return np.exp(-d2 / (2.0 * sigma * sigma))


class GradCam:
    """pytorch-grad-cam style: forward hook on the target layer stores the activation and registers a tensor
    hook for its gradient; weights = spatial mean of the gradient; cam = ReLU(sum_k w_k A_k); bilinear upsampling
    (align_corners=False), no min-max scaling."""

    def __init__(self, model, layer):
        self.model = model
        self.act = self.grad = None
        layer.register_forward_hook(self._hook)

    def _hook(self, module, inp, out):
        self.act = out.detach()

        def save_grad(g):
            self.grad = g.detach()

        out.register_hook(save_grad)

    def __call__(self, x, target):
        self.model.zero_grad()
        logits = self.model(x)
        logits[0, target].backward()
        w = self.grad.mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((w * self.act).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=(C, C), mode="bilinear", align_corners=False)
        return cam[0, 0].numpy(), logits.detach()[0]


# --------------------------------------------------------------------------------------------------------- main
def summarize(rows):
    out = {}
    for k in METRICS:
        vals = [r[k] for r in rows if r[k] is not None]
        skip_key = {"bbox_accuracy": "bbox_skip", "energy_pointing_game": "energy_skip"}.get(k)
        reasons = {}
        if skip_key:
            for r in rows:
                if r[skip_key] is not None:
                    reasons[r[skip_key]] = reasons.get(r[skip_key], 0) + 1
        out[k] = {"mean": float(np.mean(vals)) if vals else None, "n": len(vals),
                  "skipped": sum(reasons.values()), "skip_reasons": reasons}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--limit", type=int, default=0, help="only the first N images (debugging)")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    with open(MODEL_JSON) as f:
        cfg = json.load(f)
    pre = cfg["preprocess"]
    assert pre["resize"] == R and pre["crop"] == C
    tf = transforms.Compose([transforms.Resize(R), transforms.CenterCrop(C), transforms.ToTensor(),
                             transforms.Normalize(pre["mean"], pre["std"])])

    model = torchvision.models.mobilenet_v2(num_classes=1000)
    model.load_state_dict(torch.load(MODEL_PTH, map_location="cpu"))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)  # gradient still flows to the activations through the input
    assert cfg["gradcam_layer"] == "features.18"
    cam_fn = GradCam(model, model.features[18])

    with open(os.path.join(SAMPLE, "LOC_synset_mapping.txt")) as f:
        wnid_index = {line.split()[0]: i for i, line in enumerate(f) if line.strip()}

    ids = sorted(os.path.splitext(n)[0] for n in os.listdir(os.path.join(SAMPLE, "images"))
                 if n.endswith(".JPEG"))
    if args.limit:
        ids = ids[:args.limit]
    center = center_map()

    per_image, center_rows, gc_rows = [], [], []
    top1 = 0
    for idx, img_id in enumerate(ids):
        img = Image.open(os.path.join(SAMPLE, "images", img_id + ".JPEG")).convert("RGB")
        wnid, orig_boxes = read_boxes(os.path.join(SAMPLE, "boxes", img_id + ".xml"))
        cls = wnid_index[wnid]
        frame = Frame(*img.size)
        input_boxes = [frame.box_to_input(b) for b in orig_boxes]
        mask = box_mask(input_boxes)

        x = tf(img).unsqueeze(0).requires_grad_(True)
        cam, logits = cam_fn(x, cls)
        top1 += int(int(logits.argmax()) == cls)

        g = all_metrics(cam, frame, orig_boxes, input_boxes, mask)
        c = all_metrics(center, frame, orig_boxes, input_boxes, mask)
        gc_rows.append(g)
        center_rows.append(c)
        per_image.append({
            "id": img_id, "class": cls,
            "bbox_accuracy": g["bbox_accuracy"], "bbox_skip": g["bbox_skip"],
            "pointing_game": g["pointing_game"],
            "energy_pointing_game": g["energy_pointing_game"],
            "localization_accuracy": g["localization_accuracy"],
            "mask_pixels": int(mask.sum()),
            "center": {k: c[k] for k in ("bbox_accuracy", "pointing_game", "energy_pointing_game",
                                         "localization_accuracy")},
        })
        if (idx + 1) % 50 == 0:
            print(f"{idx + 1}/{len(ids)}", file=sys.stderr, flush=True)

    result = {
        "model": "mobilenet_v2_coral",
        "gradcam_layer": cfg["gradcam_layer"],
        "images": len(ids),
        "top1": top1 / len(ids),
        "settings": {"resize": R, "crop": C, "bbox_max_fraction": BBOX_MAX_FRACTION,
                     "pointing_tolerance_px": POINTING_TOLERANCE, "localization_threshold": LOC_THRESHOLD,
                     "localization_iou": LOC_IOU, "center_sigma": 0.25 * C},
        "generator": "tools/reference/gradcam_localization.py (torch %s, torchvision %s)"
                     % (torch.__version__.split("+")[0], torchvision.__version__.split("+")[0]),
        "per_image": per_image,
        "summary": {"gradcam": summarize(gc_rows), "center": summarize(center_rows)},
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    print(f"model mobilenet_v2_coral, {len(ids)} images, top-1 {top1 / len(ids):.3f}")
    print(f"{'map':8} {'metric':24} {'mean':>8} {'n':>5} {'skipped':>8}  reasons")
    for name in ("gradcam", "center"):
        for k, s in result["summary"][name].items():
            mean = "-" if s["mean"] is None else f"{s['mean']:.4f}"
            print(f"{name:8} {k:24} {mean:>8} {s['n']:>5} {s['skipped']:>8}  {s['skip_reasons'] or ''}")
    print(f"wrote {os.path.relpath(args.out, ROOT)}")


if __name__ == "__main__":
    main()
