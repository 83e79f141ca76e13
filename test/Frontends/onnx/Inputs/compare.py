"""compare.py GOT.npy WANT.npy REL: checks |got - want| <= REL · max|want|
elementwise, prints the measured error and "-> ok" or "-> FAIL"."""

import sys

import numpy as np

got, want = np.load(sys.argv[1]), np.load(sys.argv[2])
tolerance = float(sys.argv[3]) * np.abs(want).max()
if got.shape != want.shape:
    print(f"shape {got.shape}, expected {want.shape} -> FAIL")
    sys.exit(1)
error = np.abs(got.astype(np.float64) - want).max()
print(f"max |error| = {error:.3e} (tolerance {tolerance:.3e}) -> "
      f"{'ok' if error <= tolerance else 'FAIL'}")
sys.exit(0 if error <= tolerance else 1)
