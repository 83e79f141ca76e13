"""Writes a one-layer model (y = x W^T + b) for the benchmarks.

usage: make_linear_model.py OUT_DIR TOKENS IN OUT

Creates OUT_DIR/linear.mlir, a nibble.linear over params, and
OUT_DIR/linear.safetensors with random float32 weights (fixed seed).
"""

import os
import sys

import numpy as np
from nibble_testlib import nibble_linear, nibble_module, write_safetensors


def main():
    out_dir, tokens, d_in, d_out = sys.argv[1], *map(int, sys.argv[2:5])
    rng = np.random.default_rng(7)
    archive = os.path.abspath(os.path.join(out_dir, "linear.safetensors"))
    write_safetensors(archive, {
        "fc.weight": (rng.standard_normal((d_out, d_in)) /
                      np.sqrt(d_in)).astype(np.float32),
        "fc.bias": rng.standard_normal(d_out).astype(np.float32),
    })
    with open(os.path.join(out_dir, "linear.mlir"), "w") as f:
        f.write(nibble_module(
            archive, "linear", tokens, d_in, d_out,
            nibble_linear("y", "x", "fc", tokens, d_in, d_out), "y"))


if __name__ == "__main__":
    main()
