#!/usr/bin/python3
"""Reference logits for tests/Harness.Tests/Models/ModelGoldenTests.cs, computed with Debian's torchvision 0.14.

Run with Debian's interpreter:  /usr/bin/python3 make_golden_models.py   (writes models.safetensors here)

Weights are not stored (VGG19 alone is 548 MB). Instead every tensor of the state dict is filled, in
state-dict order, from torch's seeded generator by the rule in fill(); the C# test applies the same rule with
libtorch's generator, which produces the same numbers for the same seed (checked by OpsGoldenTests). Stored:
the input batch and torchvision's logits for each model.
"""
import os

import torch
import torchvision
from golden_io import write_safetensors, fill

MODELS = {  # name: (constructor, input size, seed)
    "vgg19": (torchvision.models.vgg19, 32, 101),
    "resnet50": (torchvision.models.resnet50, 64, 102),
    "mobilenet_v2": (torchvision.models.mobilenet_v2, 64, 103),
    "alexnet": (torchvision.models.alexnet, 64, 104),
    "vgg11_bn": (torchvision.models.vgg11_bn, 32, 105),
    "resnet18": (torchvision.models.resnet18, 48, 106),
}
GRADIENTS = {"resnet18", "mobilenet_v2"}  # input gradients stored for these (small, with batch norm)

out = {}
for name, (make, size, seed) in MODELS.items():
    model = make(num_classes=1000).eval()
    fill(model, seed)
    x = torch.randn(2, 3, size, size)  # continues the same generator stream
    with torch.no_grad():
        out[f"{name}.input"] = x
        out[f"{name}.logits"] = model(x)
    if name in GRADIENTS:  # d(sum of logit 7 over the batch)/d input, through torchvision's in-place ReLUs
        xg = x.clone().requires_grad_(True)
        model(xg)[:, 7].sum().backward()
        out[f"{name}.input_grad"] = xg.grad
    print(name, "logit std", float(out[f"{name}.logits"].std()))
    del model

write_safetensors(os.path.join(os.path.dirname(os.path.abspath(__file__)), "models.safetensors"), out, {"generator": "make_golden_models.py", "torchvision": torchvision.__version__})
