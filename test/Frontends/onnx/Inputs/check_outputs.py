"""Compares nibble's outputs of an imported ONNX model with numpy.

Usage: check_outputs.py DIR CASE [RTOL]

Reads DIR/CASE.out<i>.npy (written by nibble-run) and the references
DIR/CASE.ref<i>.npy and error scales DIR/CASE.scale<i>.npy written by
make_models.py. Integer outputs must match exactly. A float output passes
when every element satisfies

    |out - ref| <= RTOL * scale + 1e-6,   RTOL = 1e-5 unless given

where scale is |ref| for elementwise operations (float32 math functions are
accurate to a few ulp, 1e-5 is ~80 ulp) and the sum of the absolute values
of the terms for sums and products (float32 summation in any order errs by
at most n * 2^-24 * sum|terms|; 1e-5 covers n <= 160). Prints one line per
output; exits non-zero on any failure.
"""

import glob
import os
import sys

import numpy as np


def main():
    out_dir, case = sys.argv[1], sys.argv[2]
    rtol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
    count = len(glob.glob(os.path.join(out_dir, f"{case}.ref*.npy")))
    failed = False
    for i in range(count):
        ref = np.load(os.path.join(out_dir, f"{case}.ref{i}.npy"))
        scale = np.load(os.path.join(out_dir, f"{case}.scale{i}.npy"))
        out = np.load(os.path.join(out_dir, f"{case}.out{i}.npy"))
        if out.shape != ref.shape:
            print(f"{case} output {i}: shape {out.shape}, expected "
                  f"{ref.shape} -> FAIL")
            failed = True
            continue
        if np.issubdtype(ref.dtype, np.integer):
            ok = out.dtype == ref.dtype and np.array_equal(out, ref)
            print(f"{case} output {i}: {out.dtype} exact -> "
                  f"{'ok' if ok else 'FAIL'}")
        else:
            err = np.abs(out.astype(np.float64) - ref)
            bound = rtol * scale + 1e-6
            ok = np.issubdtype(out.dtype, np.floating) and \
                bool(np.all(err <= bound))
            print(f"{case} output {i}: max |error| {err.max():.2e}, "
                  f"max error/bound {(err / bound).max():.3f} -> "
                  f"{'ok' if ok else 'FAIL'}")
        failed |= not ok
    if count == 0:
        print(f"{case}: no references found")
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
