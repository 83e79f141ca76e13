"""Checks the outputs of math-approximations.test against Python's math
module: |y - f(x)| <= 2^-21 |f(x)| + 2^-126 for every element."""

import math
import sys

import numpy as np

directory = sys.argv[1]
x = np.load(f"{directory}/x.npy").astype(np.float64)
for name, function in (("exp", math.exp), ("tanh", math.tanh),
                       ("erf", math.erf)):
    reference = np.array([function(v) for v in x])
    for variant in ("", "-reference", "-arm"):
        y = np.load(f"{directory}/{name}{variant}.npy").astype(np.float64)
        error = np.abs(y - reference)
        bound = 2.0**-21 * np.abs(reference) + 2.0**-126
        worst = int(np.argmax(error / bound))
        ok = bool(np.all(error <= bound))
        print(f"{name}{variant}: {'ok' if ok else 'FAIL'} worst at x = "
              f"{x[worst]!r}: {y[worst]!r} vs {reference[worst]!r} "
              f"({error[worst] / bound[worst]:.3f} of the bound)")
