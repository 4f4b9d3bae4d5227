#!/usr/bin/python3
"""Independent PyTorch reference of MipIn's default MIP-IN, written from docs/methods.md (the `mipin` section: the
default paragraph, "Training", "Explaining", "Options"), not from the C# code under src/.

Two cases, both written to tests/Harness.Tests/Golden/mipin_reference.safetensors for MipInReferenceTests:
- imagenet: the shipped MobileNetV2 (data/models/mobilenet_v2_coral.pth) at layer features.18; the inverse of the
  stages above it (avgpool, flatten, classifier.0, classifier.1) trained on the first 100 images of
  data/imagenet-val-sample (sorted by id, batches of 25); maps of the first 4 of the other 100 images for their
  ground-truth classes, and completeness/minimality of all 100.
- mnist: a small MLP (784 -> 64 -> 32 -> 10, trained here on MNIST test digits 0..7999 and stored in the file) at
  layer flatten, the inverse trained on digits 0..511 (batches of 64); maps of digits 8000..8003 and
  completeness/minimality of digits 8000..8199.

The default MIP-IN (docs/methods.md): training_signal=logits_no_bias, optimizer=adam (lr 1e-3, 30 epochs, batch order
from torch.randperm with one generator seeded with seed=0), pool_inverse=proportional, output_bias=distractor,
inverse_bias=subtract, complete=target, map=source.

Run with Debian's interpreter (torch 1.13):
    nice /usr/bin/python3 tools/reference/mipin.py [--out PATH]
"""
import argparse
import csv
import gzip
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from PIL import Image
from torchvision import transforms

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "Harness.Tests", "Golden"))
from golden_io import write_safetensors  # noqa: E402

SAMPLE = os.path.join(ROOT, "data", "imagenet-val-sample")
DEFAULT_OUT = os.path.join(ROOT, "tests", "Harness.Tests", "Golden", "mipin_reference.safetensors")
EPOCHS, LR, SEED = 30, 1e-3, 0


# ------------------------------------------------------------------------------------------- the inverse network
class Stage:
    """One stage above layer k: its module, kind, and (for Linear) the learned inverse G (out -> in) with bias."""

    def __init__(self, name, module):
        self.name, self.module = name, module
        self.kind = ("linear" if isinstance(module, nn.Linear) else "relu" if isinstance(module, (nn.ReLU, nn.ReLU6))
                     else "pool" if isinstance(module, nn.AdaptiveAvgPool2d) else "flatten" if isinstance(module, nn.Flatten)
                     else "identity" if isinstance(module, nn.Dropout) else None)
        assert self.kind, f"no inverse for {name}"
        if self.kind == "linear":
            self.weight = module.weight.detach().t().clone()          # in x out: initialised with W^T
            self.bias = torch.zeros(module.in_features)

    def invert(self, s, x_in, x_out):
        """Signal at this stage's output -> its input space (x_in/x_out: the sample's forward input and output)."""
        if self.kind == "linear":
            return s @ self.weight.t() + self.bias
        if self.kind == "flatten":
            return s.reshape(x_in.shape)
        if self.kind == "pool":  # proportional: X * spread(S_out / Y), 0 where Y = 0 (global pooling: spread = copy)
            ratio = torch.where(x_out != 0, s / torch.where(x_out != 0, x_out, torch.ones_like(x_out)), torch.zeros_like(s))
            return x_in * ratio.expand_as(x_in)
        return s  # relu (gated before), dropout (eval)


def gate(stage_kind, s, x_out):
    """The sample's forward indicator 1[X > 0] at the output of a rectifier stage."""
    return s * (x_out > 0).to(s.dtype) if stage_kind == "relu" else s


class Head:
    """The model above layer k as a list of stages, with X_k and every stage output of a batch."""

    def __init__(self, stages, k_is_rectifier):
        self.stages = [Stage(n, m) for n, m in stages]
        self.k_is_rectifier = k_is_rectifier

    def outputs(self, xk):
        outs = [xk]
        with torch.no_grad():
            for st in self.stages:
                outs.append(st.module(outs[-1]))
        return outs  # outs[0] = X_k, outs[i+1] = output of stage i

    def forward_from(self, s):
        for st in self.stages:
            s = st.module(s)
        return s

    def invert(self, top, outs):
        s = top
        for i in reversed(range(len(self.stages))):
            st = self.stages[i]
            s = st.invert(gate(st.kind, s, outs[i + 1]), outs[i], outs[i + 1])
        return gate("relu" if self.k_is_rectifier else None, s, outs[0])


def train(head, batches_xk, seed=SEED):
    """Recursive layer-wise training (docs: Training 1-6): signal = logits - output bias, Adam per Linear inverse."""
    outs = [head.outputs(xk) for xk in batches_xk]
    bias = head.stages[-1].module.bias.detach()
    signals = [o[-1] - bias for o in outs]
    gen = torch.Generator().manual_seed(seed)
    for i in reversed(range(len(head.stages))):
        st = head.stages[i]
        gated = [gate(st.kind, s, o[i + 1]) for s, o in zip(signals, outs)]
        if st.kind == "linear":
            def rel_error():
                with torch.no_grad():
                    err = sum(float(((st.invert(g, o[i], o[i + 1]) - o[i]) ** 2).sum()) for g, o in zip(gated, outs))
                    norm = sum(float((o[i] ** 2).sum()) for o in outs)
                return err / norm
            initial = rel_error()
            snapshot = (st.weight.clone(), st.bias.clone())
            w = st.weight.clone().requires_grad_(True)
            b = st.bias.clone().requires_grad_(True)
            opt = torch.optim.Adam([w, b], lr=LR)
            for _ in range(EPOCHS):
                for j in torch.randperm(len(gated), generator=gen).tolist():
                    loss = F.mse_loss(gated[j] @ w.t() + b, outs[j][i])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            st.weight, st.bias = w.detach(), b.detach()
            final = rel_error()
            if not final <= initial:
                st.weight, st.bias = snapshot
            print(f"  {st.name}: relative reconstruction error {initial:.4g} -> {min(final, initial):.4g}", file=sys.stderr)
        with torch.no_grad():
            signals = [st.invert(g, o[i], o[i + 1]) for g, o in zip(gated, outs)]


def complete(head, s, xk, cls, goal):
    """docs: Explaining step 3 (complete=target)."""
    mean = xk.mean(dim=(2, 3), keepdim=True) if xk.dim() == 4 else xk
    pattern = torch.where(mean > 0, xk / torch.where(mean > 0, mean, torch.ones_like(mean)), torch.zeros_like(xk))
    scale = goal.abs().clamp(min=1.0)
    dims = tuple(range(1, s.dim()))
    for _ in range(8):
        inp = s.detach().requires_grad_(True)
        f = head.forward_from(inp).gather(1, cls[:, None]).squeeze(1)
        (grad,) = torch.autograd.grad(f.sum(), inp)
        residual = goal - f.detach()
        if float((residual.abs() / scale).max()) <= 1e-6:
            break
        d = pattern * grad
        slope = (grad * d).sum(dims)
        ok = slope.abs() > 1e-20
        alpha = torch.where(ok, residual / torch.where(ok, slope, torch.ones_like(slope)), torch.zeros_like(slope))
        s = s.detach() + alpha.reshape((-1,) + (1,) * (s.dim() - 1)) * d
    return s.detach()


def source(head, xk, cls):
    """S_k for the target classes (docs: Explaining 1-3): (y_c - b_c) e_c inverted, minus g(0), completed."""
    outs = head.outputs(xk)
    logits = outs[-1]
    top = F.one_hot(cls, logits.shape[1]).to(logits.dtype) * (logits - head.stages[-1].module.bias.detach())
    with torch.no_grad():
        s = head.invert(top, outs) - head.invert(torch.zeros_like(top), outs)
    return complete(head, s, xk, cls, logits.gather(1, cls[:, None]).squeeze(1)), logits


def explain(head, xk, cls, image_shape):
    """The map (docs: Explaining 4): ReLU(sum over channels of S_k), bilinearly upsampled to the input."""
    s, _ = source(head, xk, cls)
    if s.dim() == 2:  # a vector layer with one value per input element (the MLP's flatten)
        s = s.reshape((s.shape[0],) + tuple(image_shape))
    m = s.sum(1, keepdim=True).clamp(min=0)
    if m.shape[-2:] != tuple(image_shape[-2:]):
        m = F.interpolate(m, size=tuple(image_shape[-2:]), mode="bilinear", align_corners=False)
    return m[:, 0]


def diagnostics(head, xk, cls):
    """Completeness |y_c(S) - y_c| / |y_c| and minimality y_c(X - S) / y_c per image (docs: metrics.md)."""
    s, logits = source(head, xk, cls)
    with torch.no_grad():
        y = logits.gather(1, cls[:, None]).squeeze(1)
        ys = head.forward_from(s).gather(1, cls[:, None]).squeeze(1)
        yd = head.forward_from(xk - s).gather(1, cls[:, None]).squeeze(1)
    comp = (ys - y).abs() / y.abs().clamp(min=1e-12)
    mini = yd / torch.where(y.abs() > 1e-12, y, torch.full_like(y, 1e-12))
    return comp, mini


# ------------------------------------------------------------------------------------------------- the two cases
def imagenet(out):
    cfg = json.load(open(os.path.join(ROOT, "data", "models", "mobilenet_v2_coral.json")))["preprocess"]
    tf = transforms.Compose([transforms.Resize(cfg["resize"]), transforms.CenterCrop(cfg["crop"]), transforms.ToTensor(),
                             transforms.Normalize(cfg["mean"], cfg["std"])])
    model = torchvision.models.mobilenet_v2(num_classes=1000)
    model.load_state_dict(torch.load(os.path.join(ROOT, "data", "models", "mobilenet_v2_coral.pth"), map_location="cpu"))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    ids = sorted(os.path.splitext(n)[0] for n in os.listdir(os.path.join(SAMPLE, "images")) if n.endswith(".JPEG"))
    wnid = {line.split()[0]: i for i, line in enumerate(open(os.path.join(SAMPLE, "LOC_synset_mapping.txt"))) if line.strip()}
    labels = {r["ImageId"]: wnid[r["PredictionString"].split()[0]]
              for r in csv.DictReader(open(os.path.join(SAMPLE, "LOC_val_solution.csv")))}
    load = lambda chunk: torch.stack([tf(Image.open(os.path.join(SAMPLE, "images", i + ".JPEG")).convert("RGB")) for i in chunk])
    with torch.no_grad():
        features = lambda x: model.features(x)
        train_xk = [features(load(ids[s:s + 25])) for s in range(0, 100, 25)]
    head = Head([("avgpool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()),
                 ("classifier.0", model.classifier[0]), ("classifier.1", model.classifier[1])], k_is_rectifier=True)
    print("imagenet: training the inverse above features.18 on 100 images", file=sys.stderr)
    train(head, train_xk)
    comps, minis = [], []
    for s in range(100, 200, 25):
        chunk = ids[s:s + 25]
        with torch.no_grad():
            xk = features(load(chunk))
        cls = torch.tensor([labels[i] for i in chunk])
        c, m = diagnostics(head, xk, cls)
        comps.append(c)
        minis.append(m)
        if s == 100:
            out["imagenet.maps"] = explain(head, xk[:4], cls[:4], (224, 224)).contiguous()
    out["imagenet.completeness"] = torch.cat(comps).float()
    out["imagenet.minimality"] = torch.cat(minis).float()


def mnist_images(start, count):
    with gzip.open(os.path.join(ROOT, "data", "mnist", "t10k-images-idx3-ubyte.gz")) as f:
        data = f.read()
    raw = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(-1, 28 * 28)[start:start + count]
    x = raw.astype(np.float32) / np.float32(255)
    return torch.from_numpy((x - np.float32(0.1307)) / np.float32(0.3081)).reshape(count, 1, 28, 28)


def mnist_labels(start, count):
    with gzip.open(os.path.join(ROOT, "data", "mnist", "t10k-labels-idx1-ubyte.gz")) as f:
        data = f.read()
    return torch.from_numpy(np.frombuffer(data, dtype=np.uint8, offset=8)[start:start + count].astype(np.int64))


def mnist(out):
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    x, y = mnist_images(0, 8000), mnist_labels(0, 8000)
    opt = torch.optim.Adam(mlp.parameters(), lr=1e-3)
    for _ in range(3):
        for j in torch.randperm(8000).split(64):
            opt.zero_grad()
            F.cross_entropy(mlp(x[j]), y[j]).backward()
            opt.step()
    mlp.eval()
    for p in mlp.parameters():
        p.requires_grad_(False)
    tx, ty = mnist_images(8000, 200), mnist_labels(8000, 200)
    acc = float((mlp(tx).argmax(1) == ty).float().mean())
    print(f"mnist: MLP accuracy on digits 8000..8199 {acc:.3f}", file=sys.stderr)
    for name, t in mlp.state_dict().items():  # Sequential indices -> the C# MnistMlp's stage names
        out["mnist.mlp." + {"1": "fc1", "3": "fc2", "5": "fc3"}[name.split(".")[0]] + "." + name.split(".")[1]] = t.contiguous()
    head = Head([(n, mlp[i]) for n, i in [("fc1", 1), ("relu1", 2), ("fc2", 3), ("relu2", 4), ("fc3", 5)]], k_is_rectifier=False)
    print("mnist: training the inverse down to flatten on 512 digits", file=sys.stderr)
    train(head, [mnist_images(s, 64).flatten(1) for s in range(0, 512, 64)])
    xk = tx.flatten(1)
    c, m = diagnostics(head, xk, ty)
    out["mnist.completeness"], out["mnist.minimality"] = c.float(), m.float()
    out["mnist.maps"] = explain(head, xk[:4], ty[:4], (1, 28, 28)).contiguous()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(2)
    out = {}
    imagenet(out)
    mnist(out)
    for case in ("imagenet", "mnist"):
        print(f"{case}: completeness mean {float(out[case + '.completeness'].mean()):.6f}, "
              f"minimality mean {float(out[case + '.minimality'].mean()):.6f}", file=sys.stderr)
    write_safetensors(args.out, out, {"tool": "tools/reference/mipin.py", "torch": torch.__version__,
                                      "torchvision": torchvision.__version__})
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
