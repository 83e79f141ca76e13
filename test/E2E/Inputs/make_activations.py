"""Writes the inputs of test/E2E/quantize-ops.test into a directory.

Usage: make_activations.py DIR

x.npy [2, 6, 64] float32: random tokens (fixed seed, some beyond the static
scale's range so int8_static clamps) and three hand-made ones:
  x[0, 0]: absmax 127, so the int8_dynamic scale is exactly 1 and the codes
           are round-half-even of the values themselves: 2.5, 3.5, -2.5,
           -0.5, 0.5, 1.5, -126.5, 125.5 are ties;
  x[0, 1]: absmax 448, so the fp8_dynamic scale is exactly 1 and the values
           are ties between neighbouring e4m3 values (see FP8_TIES);
  x[1, 3]: all zero (a zero scale).
s.npy [1]: the int8_static scale, 0.02. cs.npy [1, 1, 64]: one scale per
column for a broadcast dequantize.
"""

import os
import sys

import numpy as np

INT8_TIES = [127.0, 2.5, 3.5, -2.5, -0.5, 0.5, 1.5, -126.5, 125.5]

SUB = 2.0**-9  # the e4m3 subnormal step
FP8_TIES = [
    448.0,
    1.0625,        # between 1 (0x38) and 1.125 (0x39): even -> 0x38
    1.1875,        # between 1.125 (0x39) and 1.25 (0x3a): even -> 0x3a
    -1.0625,       # -> 0xb8
    1.5 * SUB,     # between 1 and 2 steps: -> 0x02
    0.5 * SUB,     # between 0 and 1 step: -> 0x00
    2.5 * SUB,     # -> 0x02
    -2.5 * SUB,    # -> 0x82
    -0.25 * SUB,   # rounds to -0: -> 0x80
    7.5 * SUB,     # between 7 steps (0x07) and 2^-6 (0x08): -> 0x08
    432.0,         # between 416 (0x7d) and 448 (0x7e): -> 0x7e
    232.0,         # between 224 (0x76) and 240 (0x77): -> 0x76
    -240.0,        # exact: 0xf7
]


def main():
    out_dir = sys.argv[1]
    rng = np.random.default_rng(77)
    x = rng.standard_normal((2, 6, 64))
    x[0, 2, :4] = [3.0, -7.0, 2.55, -2.53]  # beyond 127 · 0.02 = 2.54, or not
    x[0, 0] = rng.uniform(-100, 100, 64)
    x[0, 0, :len(INT8_TIES)] = INT8_TIES
    x[0, 1] = rng.uniform(-40, 40, 64)
    x[0, 1, :len(FP8_TIES)] = FP8_TIES
    x[1, 3] = 0.0
    np.save(os.path.join(out_dir, "x.npy"), x.astype(np.float32))
    np.save(os.path.join(out_dir, "s.npy"), np.array([0.02], np.float32))
    np.save(os.path.join(out_dir, "cs.npy"),
            np.linspace(0.5, 2.0, 64, dtype=np.float32).reshape(1, 1, 64))


if __name__ == "__main__":
    main()
