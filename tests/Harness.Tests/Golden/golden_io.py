"""Shared helpers of the make_golden_*.py scripts (Debian's python3-torch; no safetensors package needed).

write_safetensors: the safetensors format by hand (u64 little-endian header size, JSON header padded to 8 bytes,
then the raw little-endian tensor data in name order).
fill: the deterministic weight rule the C# tests mirror in Models/DeterministicWeights.cs.
"""
import json
import math
import struct

import torch

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.bool: "BOOL", torch.uint8: "U8"}


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def fill(model, seed):
    """Deterministic weights that keep activations O(1): He-scaled normal weights, batch norm near identity.
    Every state-dict tensor, in order, drawn from the global generator seeded with `seed`."""
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
