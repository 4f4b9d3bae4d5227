#!/usr/bin/python3
"""PyTorch eager baseline for `mipin bench` (docs/bench.md).

The same workloads as the C# side, written the way the usual Python libraries do them:

- gradient       captum's Saliency: forward, torch.autograd.grad of the summed target logits w.r.t. the input,
                 max |.| over colour channels.
- gradcam        pytorch-grad-cam's GradCAM: a forward hook on the target layer keeps the activation and registers
                 a tensor hook for its gradient, loss.backward(), weights = spatial mean of the gradient,
                 ReLU(sum_k w_k A_k), bilinear upsampling to the input (no min-max scaling, like ours).
- fused          the three maps ours computes from ONE pass (gradient, Grad-CAM, gradient x input) computed the way a
                 Python user gets them: three separate calls (Saliency, GradCAM, captum's InputXGradient), each with
                 its own forward and backward.
- mipin-explain  MIP-IN's explain pass at the default layer in straightforward PyTorch: one no-grad forward keeping
                 the activations above layer k, the target logit y_c e_c inverted down to k through the inverse
                 layers (Linear -> Linear(W^T), pooling -> spread evenly, flatten -> reshape, ReLU -> gate by
                 1[X > 0]), map = ReLU(sum_channels S_k), bilinear upsampling.
- mipin-train    one epoch of MIP-IN's layer-wise inverse training on one batch (mirrors MipInTrainer): cache the
                 activations, signal = y_c e_c for the predicted class, then for each inverse from the top: gate,
                 relative error before, one Adam step per batch (MSE), relative error after (keep the initial
                 weights if it got worse), pass the signal down.

Both sides freeze the model (parameters do not require grad), so neither computes weight gradients; the random
weights come from torchvision's constructors after torch.manual_seed(seed).

Two tunings (the request's "tuned" field; `mipin bench` runs both, the tuned one as its headline):
- untuned ("as users run it"): torchvision's contiguous layout, hooks the way pytorch-grad-cam and captum register
  them; `mipin bench` starts this child with glibc's malloc defaults.
- tuned, the way PyTorch's CPU performance guide says: channels_last model and input, conv+BN folded with torch.fx
  (torch.fx.experimental.optimization.fuse), Grad-CAM (and MIP-IN's body) computed from layer k with no autograd graph
  below it (the body runs under no_grad, the activation is the leaf); `mipin bench` starts this child with glibc told
  to keep freed memory, the setting our process uses. mipin-train is the same in both.

Two ways to run it:
    /usr/bin/python3 tools/reference/bench.py --serve            # what `mipin bench` starts: JSON lines on stdin/stdout
    /usr/bin/python3 tools/reference/bench.py --models mobilenet_v2 --methods gradient --batch-sizes 8 --threads 2
The second prints one JSON object per cell.

Serve protocol: the script first prints {"ready": true, "torch": ..., "cuda": bool, ...}; then for each request line
{"model", "method", "batch", "device", "warmup", "iterations", "max_seconds", "threads", "seed", "image_size", "tuned"} it prints one line
{"images_per_s", "median_s", "iterations", "peak_rss_bytes", "peak_since_start", "error"}. An empty line or EOF ends it.
"""
import argparse
import ctypes
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
import torchvision

# Target layer k for Grad-CAM and MIP-IN (the C# defaults, GradCamMethod.DefaultLayer): the module whose output is
# the activation, and the stages above it as (name, module) in execution order.
LAYERS = {"mobilenet_v2": "features.18", "resnet50": "layer4", "vgg19": "features.36"}
METHODS = ["gradient", "gradcam", "fused", "mipin-explain", "mipin-train"]


# ------------------------------------------------------------------------------------------------------ memory
def release_freed_memory():
    """Returns the C heap's free memory to the OS (glibc malloc_trim), as the C# side does before each cell."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak():
    """Resets the kernel's peak-RSS counter of this process (Linux clear_refs 5); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ------------------------------------------------------------------------------------------------------ models
def build_model(name, seed, device):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(weights=None)
    model.eval().requires_grad_(False)
    return model.to(device)


def target_module(model, name):
    if name == "mobilenet_v2":
        return model.features[18]
    if name == "resnet50":
        return model.layer4
    if name == "vgg19":
        return model.features[36]
    raise ValueError(f"no target layer for {name}")


def head_stages(model, name):
    """The stages above layer k, in forward order: (kind, module) with kind in linear/relu/identity/flatten/avgpool."""
    if name == "mobilenet_v2":  # torchvision: adaptive_avg_pool2d(x, 1), flatten, classifier (Dropout, Linear)
        return [("avgpool", torch.nn.AdaptiveAvgPool2d(1)), ("flatten", None),
                ("identity", model.classifier[0]), ("linear", model.classifier[1])]
    if name == "resnet50":
        return [("avgpool", model.avgpool), ("flatten", None), ("linear", model.fc)]
    if name == "vgg19":
        stages = [("avgpool", model.avgpool), ("flatten", None)]
        for m in model.classifier:
            kind = "linear" if isinstance(m, torch.nn.Linear) else "relu" if isinstance(m, torch.nn.ReLU) else "identity"
            stages.append((kind, m))
        return stages
    raise ValueError(f"no MIP-IN head for {name}")


def layer_is_rectified(name):
    # MobileNetV2's features.18 ends in ReLU6, ResNet's layer4 in a Bottleneck's ReLU; VGG's features.36 is a max pool.
    return name in ("mobilenet_v2", "resnet50")


# ------------------------------------------------------------------------------------------------------ methods
def saliency(model, x, t):
    """captum Saliency: d(sum of target logits)/d(input), max |.| over channels."""
    x = x.detach().requires_grad_(True)
    out = model(x)
    g, = torch.autograd.grad(out.gather(1, t[:, None]).sum(), x)
    return g.abs().amax(1)


def input_x_gradient(model, x, t):
    """captum InputXGradient: x * d(sum of target logits)/dx, summed over channels (our default reduction)."""
    x = x.detach().requires_grad_(True)
    out = model(x)
    g, = torch.autograd.grad(out.gather(1, t[:, None]).sum(), x)
    return (g * x).sum(1)


class GradCam:
    """pytorch-grad-cam's ActivationsAndGradients + GradCAM (hooks registered once, per call forward + backward)."""

    def __init__(self, model, layer):
        self.model = model
        self.activations, self.gradients = [], []
        self.handle = layer.register_forward_hook(self._save)

    def _save(self, module, inputs, output):
        if not output.requires_grad:  # frozen model, input without grad: make the activation the leaf
            output.requires_grad_(True)
        self.activations.append(output)
        output.register_hook(lambda g: self.gradients.append(g))

    def __call__(self, x, t):
        self.activations.clear()
        self.gradients.clear()
        out = self.model(x)
        self.model.zero_grad()
        out.gather(1, t[:, None]).sum().backward()
        a, g = self.activations[0].detach(), self.gradients[0]
        cam = F.relu((g.mean((2, 3), keepdim=True) * a).sum(1, keepdim=True))
        return F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0]

    def close(self):
        self.handle.remove()


# ------------------------------------------------------------------------------------------------------ MIP-IN
class InverseHead:
    """The MIP-IN inverse network above layer k, initialised from the forward weights (Linear -> W^T, bias 0)."""

    def __init__(self, model, name):
        self.name = name
        self.stages = head_stages(model, name)
        self.inverses = []
        for kind, m in self.stages:
            if kind == "linear":
                inv = torch.nn.Linear(m.out_features, m.in_features).to(m.weight.device)
                with torch.no_grad():
                    inv.weight.copy_(m.weight.t())
                    inv.bias.zero_()
                self.inverses.append(inv)
            else:
                self.inverses.append(None)

    def forward(self, xk):
        """Activations of every stage above k (index 0 = X_k), and the logits."""
        acts = [xk]
        x = xk
        for kind, m in self.stages:
            x = torch.flatten(x, 1) if kind == "flatten" else m(x)
            acts.append(x)
        return acts

    def invert(self, i, s, acts):
        """g_i of stage i (0-based in self.stages) applied to the gated signal s at its output."""
        kind = self.stages[i][0]
        x_in = acts[i]
        if kind == "linear":
            return self.inverses[i](s)
        if kind == "flatten":
            return s.reshape(x_in.shape)
        if kind == "avgpool":  # spread evenly: each input receives the mean of the pooled values covering it
            h, w = x_in.shape[2:]
            if s.shape[2:] == (1, 1):
                return s.expand(-1, -1, h, w)
            if s.shape[2:] == (h, w):
                return s
            raise ValueError("only global or identity adaptive pooling is mirrored")
        return s  # relu (gate applied before), dropout/identity

    def gate(self, i, s, acts):
        return s * (acts[i + 1] > 0).to(s.dtype) if self.stages[i][0] == "relu" else s

    def source(self, logits_signal, acts, rectified_k):
        s = logits_signal
        for i in reversed(range(len(self.stages))):
            s = self.invert(i, self.gate(i, s, acts), acts)
        return s * (acts[0] > 0).to(s.dtype) if rectified_k else s


def body(model, name, x):
    """X_k: torchvision's forward up to layer k (the rest of the forward is the head)."""
    if name == "resnet50":
        x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        return model.layer4(model.layer3(model.layer2(model.layer1(x))))
    return model.features(x)  # mobilenet_v2 (features.18 is its last), vgg19 (features.36 is its last)


class _Body(torch.nn.Module):
    """The forward up to layer k as one module, so torch.fx can trace and fold it."""

    def __init__(self, model, name):
        super().__init__()
        self.model, self.name = model, name

    def forward(self, x):
        return body(self.model, self.name, x)


class _Head(torch.nn.Module):
    """The stages above layer k (torchvision's forward after it)."""

    def __init__(self, model, name):
        super().__init__()
        self.stages = torch.nn.ModuleList([m if m is not None else torch.nn.Flatten(1) for _, m in head_stages(model, name)])

    def forward(self, a):
        for m in self.stages:
            a = m(a)
        return a


class Tuned:
    """A model tuned per PyTorch's CPU performance guide: conv+BN folded by torch.fx, channels_last; split at layer k."""

    def __init__(self, model, name):
        from torch.fx.experimental.optimization import fuse

        def prepare(m):
            return fuse(m).to(memory_format=torch.channels_last).eval().requires_grad_(False)
        self.name = name
        self.full = prepare(model)
        self.body = prepare(_Body(model, name))
        self.head = _Head(model, name).eval().requires_grad_(False)


def gradcam_from_layer(tuned, x, t):
    """Grad-CAM with no graph below layer k: the body under no_grad, the activation A_k the autograd leaf."""
    with torch.no_grad():
        a = tuned.body(x)
    a.requires_grad_(True)
    out = tuned.head(a)
    g, = torch.autograd.grad(out.gather(1, t[:, None]).sum(), a)
    cam = F.relu((g.mean((2, 3), keepdim=True) * a.detach()).sum(1, keepdim=True))
    return F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0]


def mipin_explain(model, name, head, x, t, body_of=None):
    """One forward pass (body, then the head keeping every stage output), then the inversion of y_c e_c."""
    with torch.no_grad():
        acts = head.forward(body_of(x) if body_of is not None else body(model, name, x))
        logits = acts[-1]
        onehot = F.one_hot(t, logits.shape[1]).to(logits.dtype)
        s = head.source(logits * onehot, acts, layer_is_rectified(name))
        cam = F.relu(s.sum(1, keepdim=True))
        return F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0]


def mipin_train(model, name, batches, seed, epochs=1, lr=1e-3):
    head = InverseHead(model, name)
    gen = torch.Generator().manual_seed(seed)
    acts_per_batch, signals = [], []
    with torch.no_grad():
        for x in batches:
            acts = head.forward(body(model, name, x))
            logits = acts[-1]
            acts_per_batch.append(acts)
            signals.append(logits * F.one_hot(logits.argmax(1), logits.shape[1]).to(logits.dtype))

    def rel_error(inv, i, gated):
        with torch.no_grad():
            err = norm = 0.0
            for b, g in enumerate(gated):
                target = acts_per_batch[b][i]
                err += (inv(g) - target).pow(2).sum().item()
                norm += target.pow(2).sum().item()
            return err / norm if norm > 0 else 0.0

    for i in reversed(range(len(head.stages))):
        with torch.no_grad():
            gated = [head.gate(i, signals[b], acts_per_batch[b]) for b in range(len(batches))]
        inv = head.inverses[i]
        if inv is not None:
            initial = rel_error(inv, i, gated)
            snapshot = {k: v.detach().cpu().clone() for k, v in inv.state_dict().items()}
            opt = torch.optim.Adam(inv.parameters(), lr=lr)
            for _ in range(epochs):
                for b in torch.randperm(len(gated), generator=gen).tolist():
                    target = acts_per_batch[b][i]
                    loss = F.mse_loss(inv(gated[b]), target)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    loss.item()
            opt.zero_grad()
            final = rel_error(inv, i, gated)
            if not final <= initial:
                inv.load_state_dict(snapshot)
        with torch.no_grad():
            signals = [head.invert(i, gated[b], acts_per_batch[b]) for b in range(len(batches))]
    return head


# ------------------------------------------------------------------------------------------------------ cells
def targets_for(batch, classes, device):
    # The same targets as the C# side (BenchWorkload.Targets): (97 b + 13) mod classes.
    return torch.tensor([(97 * b + 13) % classes for b in range(batch)], dtype=torch.long, device=device)


def make_step(model, name, method, x_host, t, device, seed, tuned=None):
    """A function running one iteration of the workload, and a cleanup function (tuned: a Tuned model, or None)."""
    cuda = device.type == "cuda"

    def upload():
        return x_host.to(device, non_blocking=True) if cuda else x_host

    if tuned is not None and method != "mipin-train":
        if method == "gradient":
            return (lambda: saliency(tuned.full, upload(), t)), (lambda: None)
        if method == "gradcam":
            return (lambda: gradcam_from_layer(tuned, upload(), t)), (lambda: None)
        if method == "fused":
            def fused_tuned():
                x = upload()
                return saliency(tuned.full, x, t), gradcam_from_layer(tuned, x, t), input_x_gradient(tuned.full, x, t)
            return fused_tuned, (lambda: None)
        if method == "mipin-explain":
            head = InverseHead(model, name)
            return (lambda: mipin_explain(model, name, head, upload(), t, tuned.body)), (lambda: None)

    if method == "gradient":
        return (lambda: saliency(model, upload(), t)), (lambda: None)
    if method == "gradcam":
        cam = GradCam(model, target_module(model, name))
        return (lambda: cam(upload(), t)), cam.close
    if method == "fused":
        cam = GradCam(model, target_module(model, name))

        def fused():
            x = upload()
            return saliency(model, x, t), cam(x, t), input_x_gradient(model, x, t)
        return fused, cam.close
    if method == "mipin-explain":
        head = InverseHead(model, name)
        return (lambda: mipin_explain(model, name, head, upload(), t)), (lambda: None)
    if method == "mipin-train":
        return (lambda: mipin_train(model, name, [upload()], seed)), (lambda: None)
    raise ValueError(f"unknown method '{method}'. Known methods: {', '.join(METHODS)}")


class Runner:
    def __init__(self):
        self.key = None
        self.model = None
        self.tuned = None

    def model_for(self, name, device, seed, tuned):
        key = (name, str(device), seed, tuned)
        if self.key != key:
            self.model = self.tuned = None  # free the previous model before building the next
            self.model = build_model(name, seed, device)
            if device.type == "cuda":
                self.model = self.model.to(memory_format=torch.channels_last)
            self.tuned = Tuned(self.model, name) if tuned and device.type == "cpu" else None
            self.key = key
        return self.model, self.tuned

    def run(self, req):
        if req.get("flops"):
            return forward_flops(req["model"], int(req.get("image_size", 224)))
        name, method, batch = req["model"], req["method"], int(req["batch"])
        device = torch.device(req.get("device", "cpu"))
        seed = int(req.get("seed", 0))
        torch.set_num_threads(int(req.get("threads", torch.get_num_threads())))
        if name not in LAYERS:
            raise ValueError(f"unknown model '{name}'. Known models: {', '.join(LAYERS)}")
        if method not in METHODS:
            raise ValueError(f"unknown method '{method}'. Known methods: {', '.join(METHODS)}")
        tuned_request = bool(req.get("tuned", False))
        model, tuned = self.model_for(name, device, seed, tuned_request)
        gen = torch.Generator().manual_seed(seed)
        size = int(req.get("image_size", 224))
        x_host = torch.randn(batch, 3, size, size, generator=gen)
        if device.type == "cuda":
            # Tuned the way PyTorch's CUDA performance guide says: cuDNN autotuning and channels-last tensors (the
            # model was converted in model_for), pinned host memory for the upload.
            torch.backends.cudnn.benchmark = True
            x_host = x_host.contiguous(memory_format=torch.channels_last).pin_memory()
        elif tuned is not None:
            x_host = x_host.contiguous(memory_format=torch.channels_last)
        t = targets_for(batch, 1000, device)
        step, close = make_step(model, name, method, x_host, t, device, seed, tuned)
        sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
        release_freed_memory()
        resettable = reset_peak()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        try:
            for _ in range(int(req.get("warmup", 1))):
                step()
                sync()
            times = []
            budget = float(req.get("max_seconds", 1e9))
            start = time.perf_counter()
            for _ in range(max(1, int(req.get("iterations", 3)))):
                t0 = time.perf_counter()
                step()
                sync()
                times.append(time.perf_counter() - t0)
                if time.perf_counter() - start > budget:
                    break
        finally:
            close()
        median = statistics.median(times)
        result = {"images_per_s": batch / median, "median_s": median, "iterations": len(times),
                  "peak_rss_bytes": peak_rss_bytes(), "peak_since_start": not resettable, "error": None}
        if device.type == "cuda":
            result["peak_cuda_bytes"] = torch.cuda.max_memory_allocated(device)
        return result


def forward_flops(name, size):
    """FLOPs of one image's forward pass, counted as 2 x multiply-accumulates of every Conv2d and Linear (forward hooks
    read each layer's output size; batch norm, activations and pooling are left out), in total and for the stages above
    the workloads' layer k. For `mipin bench`'s "distance from the limit"."""
    if name not in LAYERS:
        raise ValueError(f"unknown model '{name}'. Known models: {', '.join(LAYERS)}")
    model = build_model(name, 0, torch.device("cpu"))
    counts, seen_layer = {"total": 0, "above": 0}, [False]
    layer = target_module(model, name)

    def count(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            macs = output.numel() * (module.in_channels // module.groups) * module.kernel_size[0] * module.kernel_size[1]
        else:
            macs = output.numel() * module.in_features
        counts["total"] += 2 * macs
        if seen_layer[0]:
            counts["above"] += 2 * macs

    def mark(module, inputs, output):
        seen_layer[0] = True

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    hooks.append(layer.register_forward_hook(mark))
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return {"forward_flops": counts["total"], "above_layer_flops": counts["above"], "layer": LAYERS[name], "error": None}


def check_tuned(models, size, seed):
    """The tuned workloads compute the same maps as the untuned ones (folding BN changes float32 rounding only)."""
    torch.set_num_threads(1)
    for name in models:
        model = build_model(name, seed, torch.device("cpu"))
        tuned = Tuned(model, name)
        x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(seed))
        xc = x.contiguous(memory_format=torch.channels_last)
        t = targets_for(2, 1000, x.device)
        cam = GradCam(model, target_module(model, name))
        pairs = {"gradient": (saliency(model, x, t), saliency(tuned.full, xc, t)),
                 "gradcam": (cam(x, t), gradcam_from_layer(tuned, xc, t)),
                 "input_x_gradient": (input_x_gradient(model, x, t), input_x_gradient(tuned.full, xc, t))}
        cam.close()
        head = InverseHead(model, name)
        pairs["mipin-explain"] = (mipin_explain(model, name, head, x, t), mipin_explain(model, name, head, xc, t, tuned.body))
        for method, (a, b) in pairs.items():
            # Relative L2: a few ReLU gates at exactly-zero pre-activations may flip with another summation order
            # (channels_last convolutions), which moves single pixels of an input gradient, not the map.
            rel = ((a - b).norm() / a.norm().clamp_min(1e-30)).item()
            worst = ((a - b).abs().max() / a.abs().max().clamp_min(1e-30)).item()
            print(json.dumps({"model": name, "method": method, "relative_l2": rel, "max_relative_to_peak": worst, "ok": rel < 1e-2}), flush=True)


def hello():
    return {"ready": True, "torch": torch.__version__, "torchvision": torchvision.__version__,
            "cuda": torch.cuda.is_available(), "threads": torch.get_num_threads(), "pid": os.getpid()}


def serve():
    runner = Runner()
    print(json.dumps(hello()), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            break
        try:
            reply = runner.run(json.loads(line))
        except Exception as e:  # reported per cell; the C# side prints it and goes on
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--serve", action="store_true", help="JSON-lines server for `mipin bench`")
    p.add_argument("--models", default="mobilenet_v2,resnet50,vgg19")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--batch-sizes", default="1,8,32")
    p.add_argument("--devices", default="cpu")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--max-seconds", type=float, default=20.0)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--tuned", action="store_true", help="channels_last, conv+BN folded, Grad-CAM from layer k (see above)")
    p.add_argument("--check-tuned", action="store_true",
                   help="check that the tuned workloads give the untuned maps (to float32 rounding) and exit")
    a = p.parse_args()
    if a.check_tuned:
        check_tuned(a.models.split(","), a.image_size, a.seed)
        return
    if a.serve:
        serve()
        return
    runner = Runner()
    for model in a.models.split(","):
        for method in a.methods.split(","):
            for batch in a.batch_sizes.split(","):
                for device in a.devices.split(","):
                    req = {"model": model, "method": method, "batch": int(batch), "device": device, "warmup": a.warmup,
                           "iterations": a.iterations, "max_seconds": a.max_seconds, "threads": a.threads, "seed": a.seed,
                           "image_size": a.image_size, "tuned": a.tuned}
                    out = dict(req, **runner.run(req))
                    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
