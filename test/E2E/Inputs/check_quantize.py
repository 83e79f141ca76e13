"""Checks nibble.quantize / nibble.dequantize results against NibbleOps.td.

Usage: check_quantize.py DIR

Reads DIR/x.npy, s.npy, cs.npy (from make_activations.py) and r0.npy ..
r10.npy, the results of @quantize_ops in Inputs/quantize_ops.mlir in order:
  r0 int8_dynamic codes, r1 its scales, r2 its dequantization;
  r3 int8_static codes, r4 its scale, r5 its dequantization;
  r6 fp8_dynamic codes (E4M3FN bytes, as uint8), r7 its scales, r8 its
     dequantization;
  r9 the int8_static codes dequantized with the per-column scale cs;
  r10 the int8_dynamic codes dequantized to f16.

The documented semantics, per token (the last dimension):
  int8_dynamic: scale = absmax / 127, code = clamp(round(x / scale), ±127);
  fp8_dynamic:  scale = absmax / 448, code = x / scale rounded to the nearest
                e4m3 value (ties to even), which never exceeds 448;
  int8_static:  scale = the given one (also returned);
  dequantize:   input · scale, broadcast.
Rounding is half to even throughout, in float32 (the arithmetic of the f32
scale). A token of zeros has absmax 0; we expect scale 0 and codes 0 (the
documentation leaves x / 0 open; 0 is the only value that dequantizes back).

Tolerances: dynamic scales within 1 ulp of the float32 quotient absmax/qmax
(an implementation may multiply by the reciprocal); codes exactly equal to
those of nibble's own scale; f32 dequantizations exactly equal to the float32
product code · scale (one correctly rounded multiplication); the f16 one
within 1 f16 ulp of the exact product (it may round twice). Exits non-zero on
the first failure.
"""

import sys

import numpy as np
from nibble_testlib import FP8


def encode_e4m3(v):
    """The E4M3FN byte of the nearest e4m3 value to each float in `v` (ties
    to the even code, i.e. even mantissa), keeping the sign (so -tiny is
    0x80), saturating at ±448."""
    magnitudes = FP8[:0x7f]  # codes 0x00..0x7e: 0 .. 448, increasing
    a = np.minimum(np.abs(v), 448.0)
    hi = np.clip(np.searchsorted(magnitudes, a), 1, 0x7e)
    lo = hi - 1
    d_lo, d_hi = a - magnitudes[lo], magnitudes[hi] - a
    pick = np.where(d_lo < d_hi, lo, np.where(d_hi < d_lo, hi,
                                              np.where(lo % 2 == 0, lo, hi)))
    return (pick | np.where(np.signbit(v), 0x80, 0)).astype(np.uint8)


class CheckFailed(Exception):
    pass


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


def mismatch(name, got, expected):
    """Fails with where `got` first differs from `expected`, if it does."""
    wrong = np.argwhere(got != expected)
    if len(wrong):
        at = tuple(wrong[0])
        raise CheckFailed(f"{name}: {len(wrong)} codes differ, first at "
                          f"{list(at)}: {got[at]}, expected {expected[at]}")


def load(path, dtype, shape):
    array = np.load(path)
    require(array.dtype == dtype and array.shape == shape,
            f"{path}: {array.dtype} {array.shape}, expected {dtype} {shape}")
    return array


def check_dynamic_scale(name, scale, x, qmax):
    """Per-token scale within 1 ulp of absmax / qmax (float32); 0 for zero
    tokens. Returns the largest deviation in ulps."""
    ref = np.abs(x).max(axis=-1, keepdims=True) / np.float32(qmax)
    ulps = np.abs(scale - ref) / np.spacing(ref)
    require(np.all(scale[ref == 0] == 0), f"{name}: a zero token's scale "
            "is not 0")
    require(np.all(ulps[ref > 0] <= 1), f"{name}: a scale is "
            f"{ulps.max():.0f} ulps from absmax/{qmax}")
    return ulps[ref > 0].max()


def int8_codes(x, scale):
    """clamp(round_half_even(x / scale), ±127), 0 where the scale is 0."""
    safe = np.where(scale == 0, np.float32(1), scale)
    q = np.clip(np.rint(x / safe), -127, 127)
    return np.where(scale == 0, 0, q).astype(np.int8)


def main():
    d = sys.argv[1]
    x = np.load(f"{d}/x.npy")
    s = np.load(f"{d}/s.npy")
    cs = np.load(f"{d}/cs.npy")
    shape, tokens = x.shape, x.shape[:-1] + (1,)
    f32 = np.float32

    # int8_dynamic.
    qd = load(f"{d}/r0.npy", np.int8, shape)
    sd = load(f"{d}/r1.npy", f32, tokens)
    dd = load(f"{d}/r2.npy", f32, shape)
    ulps = check_dynamic_scale("int8_dynamic", sd, x, 127)
    expected = int8_codes(x, sd)
    mismatch("int8_dynamic", qd, expected)
    require(np.all(sd[0, 0] == 1), "int8_dynamic: the tie token's scale "
            "is not 1")
    require(np.array_equal(dd, qd.astype(f32) * sd),
            "int8_dynamic: dequantize differs from code · scale")
    print(f"int8_dynamic: codes exact, scales within {ulps:.0f} ulp, "
          "dequantized exact -> ok")
    print("int8_dynamic ties:", qd[0, 0, :9].tolist())

    # int8_static.
    qs = load(f"{d}/r3.npy", np.int8, shape)
    ss = load(f"{d}/r4.npy", f32, (1,))
    ds = load(f"{d}/r5.npy", f32, shape)
    require(np.array_equal(ss, s), f"int8_static: scale {ss} returned for "
            f"{s}")
    expected = int8_codes(x, s)
    mismatch("int8_static", qs, expected)
    clamped = np.count_nonzero(np.abs(x / s) > 127.5)
    require(clamped > 0, "int8_static: no code was clamped")
    require(np.array_equal(ds, qs.astype(f32) * s),
            "int8_static: dequantize differs from code · scale")
    print(f"int8_static: codes exact ({clamped} clamped), scale returned, "
          "dequantized exact -> ok")

    # fp8_dynamic.
    qf = load(f"{d}/r6.npy", np.uint8, shape)
    sf = load(f"{d}/r7.npy", f32, tokens)
    df = load(f"{d}/r8.npy", f32, shape)
    ulps = check_dynamic_scale("fp8_dynamic", sf, x, 448)
    safe = np.where(sf == 0, f32(1), sf)
    expected = np.where(sf == 0, 0, encode_e4m3((x / safe).astype(np.float64)))
    mismatch("fp8_dynamic", qf, expected)
    require(np.all(sf[0, 1] == 1), "fp8_dynamic: the tie token's scale is "
            "not 1")
    require(np.array_equal(df, FP8[qf].astype(f32) * sf),
            "fp8_dynamic: dequantize differs from level · scale")
    print(f"fp8_dynamic: codes exact, scales within {ulps:.0f} ulp, "
          "dequantized exact -> ok")
    print("fp8_dynamic ties:", " ".join(f"{c:#04x}" for c in qf[0, 1, :13]))

    # Broadcast dequantize and an f16 result.
    dc = load(f"{d}/r9.npy", f32, shape)
    require(np.array_equal(dc, qs.astype(f32) * cs),
            "dequantize with a [1, 1, 64] scale differs from code · scale")
    dh = load(f"{d}/r10.npy", np.float16, shape)
    exact = qd.astype(np.float64) * sd.astype(np.float64)
    f16_ulps = (np.abs(dh.astype(np.float64) - exact) /
                np.spacing(np.abs(exact).astype(np.float16)).astype(np.float64))
    require(np.all(f16_ulps <= 1),
            f"f16 dequantize is {f16_ulps.max():.1f} f16 ulps off")
    print(f"dequantize: [1, 1, 64] scale exact, f16 within "
          f"{f16_ulps.max():.2f} ulp -> ok")


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as failure:
        print(f"FAIL: {failure}")
        sys.exit(1)
