"""Writes a 2-layer MLP test case into a directory.

Creates mlp.safetensors (fc1/fc2 weights and biases, written with plain
numpy in the safetensors layout), mlp.mlir (the model as nibble IR whose
nibble.weights attribute points at the archive) and x.npy (an input batch).
The weights are drawn with a fixed seed so every run sees the same model.
"""

import os
import sys

import numpy as np
from nibble_testlib import write_safetensors

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
    with open(os.path.join(out_dir, "mlp.mlir"), "w") as f:
        f.write(f"""module attributes {{nibble.weights = "{archive}"}} {{
  func.func @mlp(%x: tensor<{BATCH}x{IN}xf32>) -> tensor<{BATCH}x{OUT}xf32> {{
    %w1 = nibble.param "fc1.weight" : tensor<{HIDDEN}x{IN}xf32>
    %b1 = nibble.param "fc1.bias" : tensor<{HIDDEN}xf32>
    %h = nibble.linear %x, %w1 bias %b1 : (tensor<{BATCH}x{IN}xf32>, tensor<{HIDDEN}x{IN}xf32>, tensor<{HIDDEN}xf32>) -> tensor<{BATCH}x{HIDDEN}xf32>
    %zero = arith.constant 0.0 : f32
    %init = tensor.empty() : tensor<{BATCH}x{HIDDEN}xf32>
    %relu = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}}
        ins(%h : tensor<{BATCH}x{HIDDEN}xf32>) outs(%init : tensor<{BATCH}x{HIDDEN}xf32>) {{
    ^bb0(%in: f32, %out: f32):
      %r = arith.maximumf %in, %zero : f32
      linalg.yield %r : f32
    }} -> tensor<{BATCH}x{HIDDEN}xf32>
    %w2 = nibble.param "fc2.weight" : tensor<{OUT}x{HIDDEN}xf32>
    %b2 = nibble.param "fc2.bias" : tensor<{OUT}xf32>
    %y = nibble.linear %relu, %w2 bias %b2 : (tensor<{BATCH}x{HIDDEN}xf32>, tensor<{OUT}x{HIDDEN}xf32>, tensor<{OUT}xf32>) -> tensor<{BATCH}x{OUT}xf32>
    return %y : tensor<{BATCH}x{OUT}xf32>
  }}
}}
""")


if __name__ == "__main__":
    main()
