"""Writes a small safetensors archive for the param-resolution tests.

Tensors: "a" F32 [2, 4] = 0..7, "b" F16 [4] = 1..4, "c" I8 [2, 2] = -2..1.
"""

import sys

import numpy as np
from nibble_testlib import write_safetensors

write_safetensors(sys.argv[1], {
    "a": np.arange(8, dtype="<f4").reshape(2, 4),
    "b": np.arange(1, 5, dtype="<f2"),
    "c": np.arange(-2, 2, dtype="i1").reshape(2, 2),
})
