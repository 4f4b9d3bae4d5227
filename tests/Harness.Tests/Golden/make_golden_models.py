#!/usr/bin/python3
"""Reference logits for tests/Harness.Tests/Models/ModelGoldenTests.cs, computed with Debian's torchvision 0.14.

Run with Debian's interpreter:  /usr/bin/python3 make_golden_models.py   (writes models.safetensors here)

Weights are not stored (VGG19 alone is 548 MB). Instead every tensor of the state dict is filled, in
state-dict order, from torch's seeded generator by the rule in fill(); the C# test applies the same rule with
libtorch's generator, which produces the same numbers for the same seed (checked by OpsGoldenTests). Stored:
the input batch and torchvision's logits for each model.
"""
import json
import math
import os
import struct

import torch
import torchvision

MODELS = {  # name: (constructor, input size, seed)
    "vgg19": (torchvision.models.vgg19, 32, 101),
    "resnet50": (torchvision.models.resnet50, 64, 102),
    "mobilenet_v2": (torchvision.models.mobilenet_v2, 64, 103),
    "alexnet": (torchvision.models.alexnet, 64, 104),
    "vgg11_bn": (torchvision.models.vgg11_bn, 32, 105),
    "resnet18": (torchvision.models.resnet18, 48, 106),
}


def fill(model, seed):
    """Deterministic weights that keep activations O(1): He-scaled normal weights, BN near identity."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "num_batches_tracked":
                continue
            if leaf == "running_var":
                t.copy_(torch.rand(t.shape) * 0.5 + 0.75)
            elif leaf == "running_mean" or leaf == "bias":
                t.copy_(torch.randn(t.shape) * 0.1)
            elif t.dim() == 1:  # batch-norm weight
                t.copy_(torch.randn(t.shape) * 0.1 + 1)
            else:
                fan_in = math.prod(t.shape[1:])
                t.copy_(torch.randn(t.shape) * math.sqrt(2.0 / fan_in))


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"generator": "make_golden_models.py", "torchvision": torchvision.__version__}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


out = {}
for name, (make, size, seed) in MODELS.items():
    model = make(num_classes=1000).eval()
    fill(model, seed)
    x = torch.randn(2, 3, size, size)  # continues the same generator stream
    with torch.no_grad():
        out[f"{name}.input"] = x
        out[f"{name}.logits"] = model(x)
    print(name, "logit std", float(out[f"{name}.logits"].std()))
    del model

write_safetensors(os.path.join(os.path.dirname(os.path.abspath(__file__)), "models.safetensors"), out)
