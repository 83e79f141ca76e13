"""Checks nibble's output of the imported ONNX MLP (make_models.py, case
mlp) quantized by nibble-rtn with 8-bit symmetric per-channel weights.

Usage: check_mlp_rtn.py DIR OUTPUT.npy

The reference is the float MLP computed with numpy in float64 from the
initializers as the onnx package reads them (ONNX layout W: [K, N]). RTN
with scale s = absmax/127 per output channel moves every weight by at most
D = s/2, so for h = relu(x·W1 + b1), y = h·W2 + b2:
    |Δh| <= E1 = |x|·D1                (relu is 1-Lipschitz)
    |Δy| <= E1·|W2| + (|h| + E1)·D2
plus a slack of 1e-5 relative and 1e-5 absolute for float32 rounding.

The tight check: the same MLP with its weights quantized by an independent
numpy RTN (code = round(w / s) in [-127, 127], s = absmax / 127 per output
channel), evaluated in float64, must match nibble's output to
1e-5 · max|y|: nibble accumulates in float32 over K <= 64 terms and its
scales are float32, which moves the result by a few ulps, never by a
quantization step (a code off by one moves y by about s · |x| ≈ 1e-3 ·
max|y| here).

Prints the measured errors against both bounds; exits non-zero on failure
or when the output equals the float output (nothing was quantized).
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main():
    out_dir, output = sys.argv[1], sys.argv[2]
    m = onnx.load(f"{out_dir}/mlp.onnx")
    t = {i.name: numpy_helper.to_array(i).astype(np.float64)
         for i in m.graph.initializer}
    x = np.load(f"{out_dir}/mlp.in0.npy").astype(np.float64)
    w1, b1, w2, b2 = (t["fc1.weight"], t["fc1.bias"], t["fc2.weight"],
                      t["fc2.bias"])
    h = np.maximum(x @ w1 + b1, 0)
    ref = h @ w2 + b2
    # Per output channel (a column in the ONNX layout).
    d1 = np.broadcast_to(np.abs(w1).max(0, keepdims=True) / 127 / 2, w1.shape)
    d2 = np.broadcast_to(np.abs(w2).max(0, keepdims=True) / 127 / 2, w2.shape)
    e1 = np.abs(x) @ d1
    bound = (e1 @ np.abs(w2) + (np.abs(h) + e1) @ d2) * (1 + 1e-5) + 1e-5
    y = np.load(output).astype(np.float64)
    assert y.shape == ref.shape, (y.shape, ref.shape)
    err = np.abs(y - ref)
    ok = bool(np.all(err <= bound)) and err.max() > 0
    print(f"w8 per-channel: max |error| = {err.max():.3e}, "
          f"max |y| = {np.abs(ref).max():.3e}, "
          f"max error/bound = {(err / bound).max():.3f} -> "
          f"{'ok' if ok else 'FAIL'}")
    q1, q2 = rtn_w8_per_channel(w1), rtn_w8_per_channel(w2)
    sim = np.maximum(x @ q1 + b1, 0) @ q2 + b2
    sim_err = np.abs(y - sim).max()
    tol = 1e-5 * np.abs(sim).max()
    sim_ok = sim_err <= tol
    print(f"w8 per-channel: max |nibble - numpy RTN| = {sim_err:.3e} "
          f"(tolerance {tol:.1e}) -> {'ok' if sim_ok else 'FAIL'}")
    sys.exit(0 if ok and sim_ok else 1)


def rtn_w8_per_channel(w):
    """Ŵ of an independent numpy RTN, 8-bit symmetric, one scale per output
    channel (a column of the ONNX [K, N] layout)."""
    scale = np.abs(w).max(axis=0, keepdims=True) / 127
    safe = np.where(scale == 0, 1, scale)
    return np.clip(np.round(w / safe), -127, 127) * scale


if __name__ == "__main__":
    main()
