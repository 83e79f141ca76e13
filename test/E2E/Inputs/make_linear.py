"""Writes a single-linear test case into a directory.

Usage: make_linear.py DIR

Creates linear.safetensors (fc.weight [N, K] and fc.bias [N], written with
plain numpy in the safetensors layout), linear.mlir (y = x·Wᵀ + b as nibble
IR whose nibble.weights attribute is the absolute path of the archive) and
x.npy (an input batch [M, K]). Everything is drawn with a fixed seed.

The weight has features that exercise corner cases of the quantizers:
  - two outliers (row 3 and row 17), so some groups have a much larger scale
    than their neighbours;
  - row 10, columns 64..127, all zero: an all-zero group for group sizes 32
    (two groups) and 64 (one), i.e. the zero-scale path;
  - row 20 all zero: the zero-scale path of per-channel schemes;
  - a few tiny weights in row 3 (next to its outlier), which fall on FP8
    E4M3 subnormals (|w / scale| < 2^-6) in the per-channel FP8 scheme.
"""

import os
import sys

import numpy as np
from nibble_testlib import nibble_linear, nibble_module, write_safetensors

BATCH, IN, OUT = 6, 128, 32


def main():
    out_dir = sys.argv[1]
    rng = np.random.default_rng(20240607)
    weight = rng.standard_normal((OUT, IN)) / np.sqrt(IN)
    bias = rng.standard_normal(OUT) * 0.1
    weight[3, 7] = 2.5
    weight[17, 90] = -1.8
    weight[10, 64:] = 0.0
    weight[20, :] = 0.0
    # Row 3's FP8 scale is 2.5 / 448 ≈ 5.6e-3, so these are 5.4e-3, 1.3e-3
    # and 3.6e-2 of a scale: subnormal e4m3 values (step 2^-9).
    weight[3, 100] = 3e-5
    weight[3, 101] = -7e-6
    weight[3, 102] = 2e-4
    tensors = {"fc.weight": weight.astype(np.float32),
               "fc.bias": bias.astype(np.float32)}
    archive = os.path.abspath(os.path.join(out_dir, "linear.safetensors"))
    write_safetensors(archive, tensors)
    np.save(os.path.join(out_dir, "x.npy"),
            rng.standard_normal((BATCH, IN)).astype(np.float32))
    with open(os.path.join(out_dir, "linear.mlir"), "w") as f:
        f.write(nibble_module(archive, "linear", BATCH, IN, OUT,
                              nibble_linear("y", "x", "fc", BATCH, IN, OUT),
                              "y"))


if __name__ == "__main__":
    main()
