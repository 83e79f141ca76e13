"""Checks nibble's output of the MLP from make_mlp.py against numpy.

Usage: check_mlp.py DIR SCHEME OUTPUT.npy

The reference is the float MLP computed with numpy. For a quantized SCHEME
the allowed error is a rigorous bound derived from the quantization error of
each weight (not a guess): if every dequantized weight satisfies
|W - Ŵ| <= D elementwise, then for h = relu(x·W1ᵀ + b1), y = h·W2ᵀ + b2,
    |Δh| <= E1 = |x|·D1ᵀ               (relu is 1-Lipschitz)
    |Δy| <= |W2|·E1ᵀ + D2·(|h| + E1)ᵀ
where D for a group with scale s is s/2 for integers (s = absmax/(2^(b-1)-1)
symmetric, (max - min)/(2^b - 1) asymmetric) and s·g for NF4 (s = absmax,
g = half the largest gap between NF4 levels). A slack of 1e-5 relative plus
1e-5 absolute covers float32 rounding. For float the tolerance is 1e-5
relative to the output's magnitude (only the summation order differs).
Prints the measured errors; exits non-zero on failure.
"""

import sys

import numpy as np
from nibble_testlib import NF4, read_safetensors

SCHEMES = {
    # name: (format, bits, group (0 = per channel), symmetric)
    "w8_channel": ("int", 8, 0, True),
    "w4_g32_sym": ("int", 4, 32, True),
    "w4_g32_asym": ("int", 4, 32, False),
    "nf4_g64": ("nf4", 4, 64, True),
}


def error_bound_matrix(w, scheme):
    """Elementwise bound D on |W - Ŵ| for `scheme`."""
    fmt, bits, group, symmetric = SCHEMES[scheme]
    n, k = w.shape
    g = k if group == 0 else group
    groups = w.reshape(n, k // g, g).astype(np.float64)
    if fmt == "nf4":
        scale = np.abs(groups).max(axis=2, keepdims=True)
        half_gap = np.max(np.diff(NF4)) / 2
        d = scale * half_gap
    elif symmetric:
        scale = np.abs(groups).max(axis=2, keepdims=True) / (2**(bits - 1) - 1)
        d = scale / 2
    else:
        hi = np.maximum(groups.max(axis=2, keepdims=True), 0)
        lo = np.minimum(groups.min(axis=2, keepdims=True), 0)
        d = (hi - lo) / (2**bits - 1) / 2
    return np.broadcast_to(d, groups.shape).reshape(n, k)


def simulate_rtn(w, scheme):
    """Ŵ computed by an independent numpy round-to-nearest quantizer."""
    fmt, bits, group, symmetric = SCHEMES[scheme]
    n, k = w.shape
    g = k if group == 0 else group
    groups = w.reshape(n, k // g, g).astype(np.float64)
    if fmt == "nf4":
        scale = np.abs(groups).max(axis=2, keepdims=True)
        safe = np.where(scale == 0, 1, scale)
        idx = np.abs(groups[..., None] / safe[..., None] - NF4).argmin(axis=-1)
        deq = NF4[idx] * scale
    elif symmetric:
        qmax = 2**(bits - 1) - 1
        scale = np.abs(groups).max(axis=2, keepdims=True) / qmax
        safe = np.where(scale == 0, 1, scale)
        deq = np.clip(np.round(groups / safe), -qmax - 1, qmax) * scale
    else:
        qmax = 2**bits - 1
        hi = np.maximum(groups.max(axis=2, keepdims=True), 0)
        lo = np.minimum(groups.min(axis=2, keepdims=True), 0)
        scale = (hi - lo) / qmax
        safe = np.where(scale == 0, 1, scale)
        zero = np.clip(np.round(-lo / safe), 0, qmax)
        deq = (np.clip(np.round(groups / safe) + zero, 0, qmax) - zero) * scale
    return deq.reshape(n, k)


def main():
    out_dir, scheme, output = sys.argv[1], sys.argv[2], sys.argv[3]
    t = {name: array for name, (_, array) in
         read_safetensors(f"{out_dir}/mlp.safetensors").items()}
    x = np.load(f"{out_dir}/x.npy").astype(np.float64)
    w1, b1 = t["fc1.weight"].astype(np.float64), t["fc1.bias"]
    w2, b2 = t["fc2.weight"].astype(np.float64), t["fc2.bias"]
    h = np.maximum(x @ w1.T + b1, 0)
    ref = h @ w2.T + b2
    y = np.load(output).astype(np.float64)
    assert y.shape == ref.shape, (y.shape, ref.shape)
    err = np.abs(y - ref)
    scale = np.abs(ref).max()
    if scheme == "f32":
        bound = np.full_like(ref, 1e-5 * scale)
    else:
        d1, d2 = error_bound_matrix(w1, scheme), error_bound_matrix(w2, scheme)
        e1 = np.abs(x) @ d1.T
        bound = np.abs(w2) @ e1.T
        bound = bound.T + (np.abs(h) + e1) @ d2.T
        bound = bound * (1 + 1e-5) + 1e-5
    ok = bool(np.all(err <= bound))
    print(f"{scheme}: max |error| = {err.max():.3e}, "
          f"relative to max |y| = {err.max() / scale:.3e}, "
          f"max error/bound = {(err / bound).max():.3f} -> "
          f"{'ok' if ok else 'FAIL'}")
    if not ok:
        sys.exit(1)
    if scheme != "f32":
        # The same model with weights quantized by numpy: nibble must agree
        # up to float32 rounding (scales may differ by an ulp, which can move
        # a weight that sits exactly between two levels; none does here).
        q1, q2 = simulate_rtn(w1, scheme), simulate_rtn(w2, scheme)
        sim = np.maximum(x @ q1.T + b1, 0) @ q2.T + b2
        sim_err = np.abs(y - sim).max()
        tol = 1e-4 * scale
        print(f"{scheme}: max |nibble - numpy RTN| = {sim_err:.3e} "
              f"(tolerance {tol:.1e}) -> {'ok' if sim_err <= tol else 'FAIL'}")
        if sim_err > tol:
            sys.exit(1)
    if scheme != "f32" and err.max() == 0:
        print(f"{scheme}: output equals the float output: not quantized?")
        sys.exit(1)


if __name__ == "__main__":
    main()
