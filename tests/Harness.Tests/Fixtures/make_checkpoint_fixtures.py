#!/usr/bin/python3
"""Writes the checkpoint fixtures used by tests/Harness.Tests/Serialization.

Run with Debian's interpreter, which has PyTorch 1.13:

    /usr/bin/python3 tests/Harness.Tests/Fixtures/make_checkpoint_fixtures.py

Everything is seeded, so the tensor values are identical on every run, and every file except two
is byte-identical across runs (torch 1.13's zip writer stamps no time). The exceptions are
small_legacy.pth and evil_legacy.pth: the legacy format names storages by their memory address
(str(storage._cdata)), which changes from run to run. The tests do not depend on those keys.
"""

import collections
import json
import os
import pickle
import struct
import types

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkpoints")


class TinyNet(torch.nn.Module):
    """A conv + batch norm, so the state dict looks like a real model's (incl. num_batches_tracked)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)


def make_state_dict():
    torch.manual_seed(0)
    net = TinyNet()
    sd = net.state_dict()  # OrderedDict with a _metadata attribute, exactly as torch.save sees it
    # Keep the conv and the 0-d int64 num_batches_tracked; drop the other bn buffers to stay small.
    for k in ["bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]:
        del sd[k]
    sd["double"] = torch.randn(2, 3, dtype=torch.float64)
    sd["long"] = torch.tensor([-3, 0, 7, 2**40, -(2**62)], dtype=torch.int64)
    sd["byte"] = torch.tensor([0, 128, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, False, True])
    w = torch.randn(5, 3)
    sd["transposed"] = w.t()  # shape [3, 5], strides [1, 3]: saved as a non-contiguous view
    base = torch.arange(6, dtype=torch.float32) * 0.5
    sd["shared_a"] = base[1:3]  # offset 1 in the same storage
    sd["shared_b"] = base[2:]  # offset 2 in the same storage
    sd["half"] = torch.tensor([1.0, -2.5, 0.0009765625, 65504.0], dtype=torch.float16)
    assert not sd["transposed"].is_contiguous()
    return sd


DTYPE_NAMES = {
    torch.float32: ("float32", "F32"),
    torch.float64: ("float64", "F64"),
    torch.float16: ("float16", "F16"),
    torch.bfloat16: ("bfloat16", "BF16"),
    torch.int64: ("int64", "I64"),
    torch.int32: ("int32", "I32"),
    torch.int16: ("int16", "I16"),
    torch.int8: ("int8", "I8"),
    torch.uint8: ("uint8", "U8"),
    torch.bool: ("bool", "BOOL"),
}


def write_expected(sd, path):
    # Values go through .tolist() (row-major logical order), independent of torch's storage layout.
    expected = collections.OrderedDict()
    for name, t in sd.items():
        values = t.reshape(-1).tolist()
        if t.dtype == torch.bool:
            values = [1 if v else 0 for v in values]
        expected[name] = {"dtype": DTYPE_NAMES[t.dtype][0], "shape": list(t.shape), "values": values}
    with open(path, "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


def safetensors_bytes(sd, metadata):
    # Hand-rolled writer (the safetensors package is not installed): header, space padding to a
    # multiple of 8, then each tensor's contiguous little-endian bytes in dict order.
    header = collections.OrderedDict()
    header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name, t in sd.items():
        data = t.contiguous().numpy().tobytes()  # numpy stores little-endian on this platform
        header[name] = {"dtype": DTYPE_NAMES[t.dtype][1], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs), 8 + len(text)


class Payload:
    """Pickles as a call to os.system. Pickling only records the call; it never runs it."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/mipin_pwned",))


class OsSystemPickler(pickle._Pickler):
    # os.system is really posix.system, so a plain pickle names 'posix system'. Malicious files
    # usually spell it 'os system' (both resolve to the same function), and that spelling is what
    # the tests look for, so write it that way here.
    def save_global(self, obj, name=None):
        if obj is os.system:
            self.write(pickle.GLOBAL + b"os\nsystem\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


OS_SYSTEM_PICKLE = types.SimpleNamespace(__name__="os_system_pickle", Pickler=OsSystemPickler, dump=pickle.dump, load=pickle.load)


def main():
    os.makedirs(OUT, exist_ok=True)
    pwned_before = os.path.exists("/tmp/mipin_pwned")
    sd = make_state_dict()

    torch.save(sd, os.path.join(OUT, "small_zip.pth"))
    torch.save(sd, os.path.join(OUT, "small_legacy.pth"), _use_new_zipfile_serialization=False)
    # Protocol 4 pickles use STACK_GLOBAL, FRAME, MEMOIZE and SHORT_BINUNICODE instead.
    torch.save(sd, os.path.join(OUT, "small_zip_protocol4.pth"), pickle_protocol=4)
    write_expected(sd, os.path.join(OUT, "small_expected.json"))

    contiguous = collections.OrderedDict((k, v.contiguous()) for k, v in sd.items())
    data, header_end = safetensors_bytes(contiguous, {"format": "pt", "source": "make_checkpoint_fixtures.py"})
    with open(os.path.join(OUT, "small.safetensors"), "wb") as f:
        f.write(data)
    with open(os.path.join(OUT, "truncated.safetensors"), "wb") as f:
        f.write(data[: header_end + (len(data) - header_end) // 2])
    with open(os.path.join(OUT, "truncated_header.safetensors"), "wb") as f:
        f.write(data[: 8 + (header_end - 8) // 2])

    evil = {"weight": torch.ones(2), "payload": Payload()}
    torch.save(evil, os.path.join(OUT, "evil_zip.pth"), pickle_module=OS_SYSTEM_PICKLE)
    torch.save(evil, os.path.join(OUT, "evil_legacy.pth"), pickle_module=OS_SYSTEM_PICKLE,
               _use_new_zipfile_serialization=False)

    # A Parameter pickles through torch._utils._rebuild_parameter, which the loader must refuse.
    torch.save({"p": torch.nn.Parameter(torch.ones(3))}, os.path.join(OUT, "wrong_global.pth"))

    with open(os.path.join(OUT, "not_a_checkpoint.pth"), "w") as f:
        f.write("this is a text file, not a PyTorch checkpoint\n")

    # Saving the payload must not have run it.
    assert pwned_before or not os.path.exists("/tmp/mipin_pwned")


if __name__ == "__main__":
    main()
