"""Writes a small safetensors archive for the param-resolution tests.

Tensors: "a" F32 [2, 4] = 0..7, "b" F16 [4] = 1..4, "c" I8 [2, 2] = -2..1.
"""

import json
import struct
import sys

import numpy as np

tensors = {
    "a": np.arange(8, dtype="<f4").reshape(2, 4),
    "b": np.arange(1, 5, dtype="<f2"),
    "c": np.arange(-2, 2, dtype="i1").reshape(2, 2),
}
names = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("i1"): "I8"}
header, blobs, offset = {}, [], 0
for name, array in tensors.items():
    data = array.tobytes()
    header[name] = {"dtype": names[array.dtype], "shape": list(array.shape),
                    "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
