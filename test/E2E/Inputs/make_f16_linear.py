"""Writes an f16 linear (constant weight and bias) and its input to DIR.

The f16 reference lowering accumulates in f32 and rounds once, so its output
must equal the float64 product of the f16 values, rounded to f16, within one
f16 ulp (2^-10 relative) plus the f32 accumulation error (K·2^-24 relative to
Σ|x||w|).
"""

import sys

import numpy as np

N, K, M = 16, 256, 4
out = sys.argv[1]
rng = np.random.default_rng(7)
w = rng.standard_normal((N, K)).astype(np.float16)
b = rng.standard_normal(N).astype(np.float16)
x = rng.standard_normal((M, K)).astype(np.float16)
np.save(f"{out}/x.npy", x)
np.save(f"{out}/w.npy", w)
np.save(f"{out}/b.npy", b)


def dense(a):
    return np.array2string(a.astype(np.float32), separator=", ",
                           threshold=10**9, floatmode="unique",
                           max_line_width=10**9)


with open(f"{out}/linear.mlir", "w") as f:
    f.write(f"""func.func @linear(%x: tensor<{M}x{K}xf16>) -> tensor<{M}x{N}xf16> {{
  %w = arith.constant dense<{dense(w)}> : tensor<{N}x{K}xf16>
  %b = arith.constant dense<{dense(b)}> : tensor<{N}xf16>
  %y = nibble.linear %x, %w bias %b : (tensor<{M}x{K}xf16>, tensor<{N}x{K}xf16>, tensor<{N}xf16>) -> tensor<{M}x{N}xf16>
  return %y : tensor<{M}x{N}xf16>
}}
""")
