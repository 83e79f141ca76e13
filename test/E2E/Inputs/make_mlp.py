"""Writes a 2-layer MLP test case into a directory.

Creates mlp.safetensors (fc1/fc2 weights and biases, written with plain
numpy in the safetensors layout), mlp.mlir (the model as nibble IR whose
nibble.weights attribute points at the archive) and x.npy (an input batch).
The weights are drawn with a fixed seed so every run sees the same model.
"""

import os
import sys

import numpy as np
from nibble_testlib import nibble_linear, nibble_module, write_safetensors

BATCH, IN, HIDDEN, OUT = 8, 128, 64, 32


def main():
    out_dir = sys.argv[1]
    rng = np.random.default_rng(1234)
    tensors = {
        "fc1.weight": rng.standard_normal((HIDDEN, IN)) / np.sqrt(IN),
        "fc1.bias": rng.standard_normal(HIDDEN) * 0.1,
        "fc2.weight": rng.standard_normal((OUT, HIDDEN)) / np.sqrt(HIDDEN),
        "fc2.bias": rng.standard_normal(OUT) * 0.1,
    }
    # A few outlier weights, as real LLM layers have.
    tensors["fc1.weight"][3, 7] = 2.5
    tensors["fc2.weight"][5, 11] = -1.8
    tensors = {k: v.astype(np.float32) for k, v in tensors.items()}
    archive = os.path.abspath(os.path.join(out_dir, "mlp.safetensors"))
    write_safetensors(archive, tensors)
    np.save(os.path.join(out_dir, "x.npy"),
            rng.standard_normal((BATCH, IN)).astype(np.float32))
    hidden = f"tensor<{BATCH}x{HIDDEN}xf32>"
    relu = f"""    %zero = arith.constant 0.0 : f32
    %init = tensor.empty() : {hidden}
    %relu = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}}
        ins(%h : {hidden}) outs(%init : {hidden}) {{
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    }} -> {hidden}
"""
    body = (nibble_linear("h", "x", "fc1", BATCH, IN, HIDDEN) + relu +
            nibble_linear("y", "relu", "fc2", BATCH, HIDDEN, OUT))
    with open(os.path.join(out_dir, "mlp.mlir"), "w") as f:
        f.write(nibble_module(archive, "mlp", BATCH, IN, OUT, body, "y"))


if __name__ == "__main__":
    main()
