#!/usr/bin/python3
"""Reference values for tests/Harness.Tests/Torch/*GoldenTests.cs, computed with Debian's PyTorch 1.13.

Run from anywhere with Debian's interpreter (it has python3-torch):  /usr/bin/python3 make_golden_ops.py
Writes ops.safetensors next to this script. Every case stores its inputs and PyTorch's outputs under
"CASE.NAME" keys; the C# tests feed the same inputs to Harness.Torch and compare. The parameters of each call
(stride, padding, ...) are written here and repeated in the C# test with the same case name.
"""
import os

import torch
import torch.nn.functional as F
from golden_io import write_safetensors

torch.manual_seed(1234)
out = {}


def put(name, t):
    out[name] = t.detach().contiguous().clone()


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float32)


# --- convolution -------------------------------------------------------------------------------
x, w, b = randn(2, 4, 7, 6), randn(6, 2, 3, 3), randn(6)
put("conv2d.x", x); put("conv2d.w", w); put("conv2d.b", b)
put("conv2d.out", F.conv2d(x, w, b, stride=2, padding=1, dilation=1, groups=2))

x, w = randn(1, 3, 9, 9), randn(5, 3, 3, 3)
put("conv2d_dilated.x", x); put("conv2d_dilated.w", w)
put("conv2d_dilated.out", F.conv2d(x, w, None, stride=1, padding=2, dilation=2, groups=1))

x, w, b = randn(2, 4, 5, 5), randn(4, 3, 3, 3), randn(6)
put("conv_transpose2d.x", x); put("conv_transpose2d.w", w); put("conv_transpose2d.b", b)
put("conv_transpose2d.out", F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2, dilation=1))

# --- pooling -----------------------------------------------------------------------------------
x = randn(2, 3, 8, 8)
pooled, idx = F.max_pool2d(x, kernel_size=3, stride=2, padding=1, return_indices=True)
put("max_pool2d.x", x); put("max_pool2d.out", pooled); put("max_pool2d.indices", idx)
put("max_pool2d.unpooled", F.max_unpool2d(pooled, idx, kernel_size=3, stride=2, padding=1, output_size=(8, 8)))
put("avg_pool2d.out", F.avg_pool2d(x, kernel_size=2, stride=2))
x = randn(2, 3, 7, 7)
put("adaptive_avg_pool2d.x", x); put("adaptive_avg_pool2d.out", F.adaptive_avg_pool2d(x, (3, 3)))

# --- linear, normalisation, activations, losses ------------------------------------------------
x, w, b = randn(5, 7), randn(3, 7), randn(3)
put("linear.x", x); put("linear.w", w); put("linear.b", b); put("linear.out", F.linear(x, w, b))

x = randn(2, 3, 4, 4)
rm, rv, g, bb = randn(3), torch.rand(3) + 0.5, randn(3), randn(3)
put("batch_norm.x", x); put("batch_norm.mean", rm); put("batch_norm.var", rv); put("batch_norm.w", g); put("batch_norm.b", bb)
put("batch_norm.out", F.batch_norm(x, rm, rv, g, bb, training=False, eps=1e-5))

x = randn(5, 7) * 3
target = torch.tensor([0, 6, 3, 3, 1])
put("losses.x", x); put("losses.target", target)
put("losses.softmax", F.softmax(x, dim=1)); put("losses.log_softmax", F.log_softmax(x, dim=1))
put("losses.cross_entropy", F.cross_entropy(x, target))
y = randn(5, 7)
put("losses.y", y); put("losses.mse", F.mse_loss(x, y)); put("losses.relu6", F.relu6(x))

# --- resampling --------------------------------------------------------------------------------
x = randn(1, 2, 5, 6)
put("interpolate.x", x)
put("interpolate.bilinear", F.interpolate(x, size=(11, 13), mode="bilinear", align_corners=False))
put("interpolate.bilinear_ac", F.interpolate(x, size=(11, 13), mode="bilinear", align_corners=True))
put("interpolate.nearest", F.interpolate(x, size=(10, 12), mode="nearest"))
x = randn(1, 3, 20, 18)
put("interpolate_aa.x", x)
put("interpolate_aa.out", F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=False, antialias=True))

# --- reductions, selection, matmul ---------------------------------------------------------------
x = randn(3, 4, 5)
put("reduce.x", x)
put("reduce.sum12", x.sum(dim=(1, 2))); put("reduce.mean0k", x.mean(dim=0, keepdim=True))
put("reduce.amax2", x.amax(dim=2)); put("reduce.argmax1", x.argmax(dim=1))
put("reduce.std1", x.std(dim=1)); put("reduce.norm", torch.linalg.vector_norm(x))
vals, inds = x.reshape(3, 20).topk(3, dim=1)
put("reduce.topk_values", vals); put("reduce.topk_indices", inds)
a, bm = randn(2, 3, 4), randn(4, 5)
put("matmul.a", a); put("matmul.b", bm); put("matmul.out", a @ bm)

# --- random numbers: libtorch's generator must match PyTorch's for the same seed -----------------
torch.manual_seed(42)
put("random.rand", torch.rand(2, 3)); put("random.randn", torch.randn(4))
put("random.randperm", torch.randperm(10)); put("random.dropout", F.dropout(torch.ones(8), p=0.5, training=True))

# --- optimizers: three steps with fixed gradients ----------------------------------------------
torch.manual_seed(7)
p0 = randn(4, 3)
grads = [randn(4, 3) for _ in range(3)]
put("optim.p0", p0)
for i, gr in enumerate(grads):
    put(f"optim.g{i}", gr)
for name, make in [
    ("adam", lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("sgd", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
]:
    p = p0.clone().requires_grad_()
    opt = make([p])
    for gr in grads:
        p.grad = gr.clone()
        opt.step()
    put(f"optim.{name}", p)

# --- autograd: gradients of a small network, and of conv2d w.r.t. input and weight -------------
x = randn(2, 3, 6, 6).requires_grad_()
w = randn(4, 3, 3, 3).requires_grad_()
y = F.max_pool2d(F.relu(F.conv2d(x, w, padding=1)), 2)
gy = randn(*y.shape)
y.backward(gy)
put("autograd.x", x); put("autograd.w", w); put("autograd.gy", gy)
put("autograd.gx", x.grad); put("autograd.gw", w.grad)


# --- safetensors writer (format: u64 header size, JSON header, raw little-endian data) -----------




write_safetensors(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops.safetensors"), out, {"generator": "make_golden_ops.py", "torch": torch.__version__})
print(f"wrote {len(out)} tensors")
