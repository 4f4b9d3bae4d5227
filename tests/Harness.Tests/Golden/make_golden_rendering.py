#!/usr/bin/python3
"""Reference files for tests/Harness.Tests/Rendering/*Tests.cs, written by PIL and NumPy (not by our code).

Run with Debian's interpreter (python3-pil, python3-numpy):
    /usr/bin/python3 tests/Harness.Tests/Golden/make_golden_rendering.py
Writes next to this script (deterministic: same bytes on every run):

  pil_reference.png          a 23x11 RGB PNG saved by PIL: top rows smooth gradients, bottom rows noise, so PIL's
                             adaptive filtering uses several row filter types; it validates the test's PNG reader
  pil_reference_pixels.npy   the same pixels, float32 H x W x 3 (values 0..255, exact), for comparison
  numpy_reference.npy        float32 3x5: np.arange(15).reshape(3, 5) / 7 (computed in float64, then cast)
  numpy_reference_1d.npy     float32 (7,): (np.arange(7) - 3) / 4
  numpy_reference_0d.npy     float32 scalar (shape ()): 2.5

The .npy files are written by np.save (format 1.0); NpyWriter.Save of the same arrays must give the same bytes.
"""
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def png_filter_types(data):
    """Row filter types of an 8-bit RGB, non-interlaced PNG (to check the reference exercises several)."""
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + 3 * width
    return sorted({raw[y * stride] for y in range(height)})


def main():
    height, width = 11, 23
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 11, y * 23, (x * 7 + y * 13) % 256], axis=-1).astype(np.uint8)
    rng = np.random.default_rng(20240521)
    pixels[6:] = rng.integers(0, 256, size=(height - 6, width, 3), dtype=np.uint8)

    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG")
    png = buffer.getvalue()
    types = png_filter_types(png)
    assert len(types) >= 2, f"PIL used only filter types {types}; pick other pixels"
    with open(os.path.join(HERE, "pil_reference.png"), "wb") as f:
        f.write(png)
    np.save(os.path.join(HERE, "pil_reference_pixels.npy"), pixels.astype(np.float32))

    np.save(os.path.join(HERE, "numpy_reference.npy"), (np.arange(15).reshape(3, 5) / 7).astype(np.float32))
    np.save(os.path.join(HERE, "numpy_reference_1d.npy"), ((np.arange(7) - 3) / 4).astype(np.float32))
    np.save(os.path.join(HERE, "numpy_reference_0d.npy"), np.array(2.5, dtype=np.float32))
    print(f"pil_reference.png: {len(png)} bytes, row filter types {types}; numpy {np.__version__}")


if __name__ == "__main__":
    main()
