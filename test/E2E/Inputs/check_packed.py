"""Checks one RTN scheme of the linear from make_linear.py end to end.

Usage: check_packed.py DIR SCHEME PACKED.safetensors OUTPUT.npy

Decodes the packed archive nibble-rtn wrote with a decoder of its own, written
from the documented format only (NibbleOps.td for the nibble.qlinear operands,
Packing.h for the bit layout, Quantizer.h for the code semantics), and checks

1. the archive: the tensors, dtypes and shapes the scheme must produce, and
   the float bias copied unchanged;
2. the quantization against the original float weights:
   - every code is in range (and, where the math says so, never the unused
     ones);
   - every scale covers its group's range as the format requires and is the
     documented scale up to its storage rounding (rounded up);
   - every element of Ŵ is the nearest point of its group's grid (the values
     its scale and zero point can represent) to W — for `search=mse` this is
     the per-element bound with the stored scale;
   - for absmax scales, |W - Ŵ| <= D elementwise with the D the math gives
     (see `error_bound`);
3. nibble-run's output y against y_ref = x̂·Ŵᵀ + b computed in float64, where
   x̂ is x fake-quantized per token (per act_group values of a token) as the
   scheme's activation mode says (x itself without one):
       |y - y_ref| <= 1e-5 · max|y_ref| + 1e-6
   (nibble dequantizes and accumulates in float32 over K = 128 terms; the
   relative 1e-5 leaves room for that rounding and nothing else).

Prints the measured errors; exits non-zero on the first failed check.
"""

import sys

import numpy as np
from nibble_testlib import FP4, FP8, NF4, read_safetensors

# name: the nibble-rtn options it stands for. group: > 0 per group, 0 per
# channel, -1 per tensor; dq: double-quantization group D (0 = off).
SCHEMES = {}


def scheme(name, fmt="int", bits=None, group=128, sym=True, scale_type="f32",
           dq=0, act="none", search="absmax", act_group=0):
    if bits is None:
        bits = {"int": 4, "nf4": 4, "fp4": 4, "fp8": 8}[fmt]
    SCHEMES[name] = dict(fmt=fmt, bits=bits, group=group, sym=sym,
                         scale_type=scale_type, dq=dq, act=act, search=search,
                         act_group=act_group)


scheme("w8_channel", bits=8, group=0)
scheme("w8_tensor", bits=8, group=-1)
scheme("w4_g32_sym", bits=4, group=32)
scheme("w4_g32_asym", bits=4, group=32, sym=False)
scheme("w3_g64_sym", bits=3, group=64)
scheme("w3_g64_asym", bits=3, group=64, sym=False)
scheme("w2_g32_asym", bits=2, group=32, sym=False)
scheme("w2_channel", bits=2, group=0)
scheme("w5_g32_sym", bits=5, group=32)
scheme("nf4_g64", fmt="nf4", group=64)
scheme("nf4_g64_dq16", fmt="nf4", group=64, dq=16)
scheme("fp4_g32", fmt="fp4", group=32)
scheme("fp8_channel", fmt="fp8", group=0)
scheme("w4_g32_f16", bits=4, group=32, scale_type="f16")
scheme("w4_g32_bf16", bits=4, group=32, scale_type="bf16")
scheme("w4_g32_asym_dq8", bits=4, group=32, sym=False, dq=8)
scheme("w8_channel_a8", bits=8, group=0, act="int8_dynamic")
scheme("fp8_channel_afp8", fmt="fp8", group=0, act="fp8_dynamic")
scheme("w8_channel_a8_g32", bits=8, group=0, act="int8_dynamic", act_group=32)
scheme("w4_g32_a8_g16", bits=4, group=32, act="int8_dynamic", act_group=16)
scheme("w4_g32_mse", bits=4, group=32, search="mse")


class CheckFailed(Exception):
    pass


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


def container_bits(bits):
    """Storage width of a code: 2 -> 2, 3 and 4 -> 4, 5..8 -> 8 (Packing.h)."""
    return 2 if bits == 2 else 4 if bits <= 4 else 8


def unpack_codes(packed, cols, container):
    """Packing.h: element k of a row is in byte k·c/8 at bit offset
    (k mod 8/c)·c, low bits first."""
    per_byte = 8 // container
    k = np.arange(cols)
    shifts = (k % per_byte) * container
    mask = (1 << container) - 1
    return (packed[:, k // per_byte].astype(np.int64) >> shifts) & mask


def decode_scales(dtype, raw):
    """Scale values in float64 from their storage: F32, F16 (numpy float16)
    or BF16 (the 16 bits are the top half of an IEEE float32)."""
    if dtype == "F32":
        return raw.astype(np.float64)
    if dtype == "F16":
        return raw.astype(np.float64)
    if dtype == "BF16":
        bits = raw.astype(np.uint32) << np.uint32(16)
        return bits.view(np.float32).astype(np.float64)
    raise CheckFailed(f"scales have dtype {dtype}")


def levels_of(spec):
    """Largest |level| the scale maps the range onto (Quantizer.h): the
    range (absmax; max - min for asymmetric Int) divided by this is the
    scale."""
    fmt, bits = spec["fmt"], spec["bits"]
    if fmt == "int":
        return 2**(bits - 1) - 1 if spec["sym"] else 2**bits - 1
    return {"nf4": 1.0, "fp4": 6.0, "fp8": 448.0}[fmt]


def group_view(a, spec):
    """`a` ([N, K]) as [#groups, group length], groups in row-major order of
    the scale matrix (a whole row per channel, everything per tensor)."""
    n, k = a.shape
    group = spec["group"]
    length = n * k if group < 0 else k if group == 0 else group
    return a.reshape(-1, length)


def grid_of(spec, scales, zeros):
    """Every value each group can represent: [#groups, #codes]."""
    fmt, bits = spec["fmt"], spec["bits"]
    if fmt == "int":
        u = np.arange(2**bits)
        return scales[:, None] * (u[None, :] - zeros[:, None])
    table = {"nf4": NF4, "fp4": FP4, "fp8": FP8}[fmt]
    table = table[~np.isnan(table)]
    return scales[:, None] * table[None, :]


def error_bound(spec, w, scales):
    """The elementwise bound D on |W - Ŵ| that the math gives for a group
    with (stored) scale s covering its range, i.e. s·levels >= range:
      - Int, symmetric: |w/s| <= 2^(b-1) - 1 and the grid is every integer in
        [-2^(b-1), 2^(b-1) - 1]: D = s/2.
      - Int, asymmetric: the grid is s·(u - z), u in [0, 2^b - 1], with
        z = round(-lo/s); its ends are within s/2 of lo and hi (z is within
        1/2 of -lo/s and s·(2^b - 1) >= hi - lo), so D = s/2, clamped or not.
      - NF4: |w/s| <= 1 = the largest level; D = s · (largest gap between
        neighbouring NF4 levels, 1 - 0.696 = 0.304) / 2.
      - FP4 E2M1: |w/s| <= 6; the largest gap is 6 - 4, D = s · 1.
      - FP8 E4M3: |v| = |w/s| <= 448; a normal v (|v| >= 2^-6) in binade
        [2^e, 2^(e+1)) has step 2^(e-3), half of it 2^(e-4) <= 2^-4 |v|;
        subnormals have step 2^-9. D = max(2^-4 |w|, s · 2^-10).
    Plus a slack of 2^-20 (|w| + s) for the float32 division w / s (relative
    error 2^-24) that decides the rounding."""
    fmt = spec["fmt"]
    s = scales[:, None]
    if fmt == "int":
        d = np.broadcast_to(s / 2, w.shape)
    elif fmt == "nf4":
        d = np.broadcast_to(s * np.max(np.diff(NF4)) / 2, w.shape)
    elif fmt == "fp4":
        d = np.broadcast_to(s * 1.0, w.shape)
    else:
        d = np.maximum(2.0**-4 * np.abs(w), s * 2.0**-10)
    return d + 2.0**-20 * (np.abs(w) + s)


def scale_rounding(spec):
    """Relative amount a scale may exceed range/levels by after rounding up
    to its storage type: an ulp of float32 from the division (2^-23, with a
    margin: 2^-21), plus an ulp of the storage type (f16: 2^-10, bf16: 2^-7;
    the scales here are far above the subnormal ranges)."""
    return 2.0**-21 + {"f32": 0.0, "f16": 2.0**-10, "bf16": 2.0**-7}[
        spec["scale_type"]]


def round_to_e4m3(v):
    """Nearest finite FP8 E4M3FN value to each float in `v`, ties to the
    even code (even mantissa), saturating at ±448."""
    magnitudes = FP8[:0x7f]  # codes 0x00..0x7e: 0, ..., 448, increasing
    a = np.minimum(np.abs(v), 448.0)
    hi = np.clip(np.searchsorted(magnitudes, a), 1, 0x7e)
    lo = hi - 1
    d_lo, d_hi = a - magnitudes[lo], magnitudes[hi] - a
    pick = np.where(d_lo < d_hi, lo, np.where(d_hi < d_lo, hi,
                                              np.where(lo % 2 == 0, lo, hi)))
    return np.copysign(magnitudes[pick], v)


def fake_quantize_activation(x, act, group=0):
    """x (float32 [M, K]) quantized and dequantized per token (with `group`
    > 0: per `group` consecutive values of a token) as NibbleAttrs.td says,
    in the float32 arithmetic of the documented f32 scale:
      - int8_dynamic: s = absmax/127, q = clamp(round_half_even(x/s), ±127);
      - fp8_dynamic: s = absmax/448, q = x/s rounded to the nearest e4m3
        value (ties to even);
    and x̂ = q · s (in float64)."""
    if act == "none":
        return x.astype(np.float64)
    if group > 0:
        m, k = x.shape
        groups = fake_quantize_activation(x.reshape(m * k // group, group), act)
        return groups.reshape(m, k)
    top = np.float32(127.0 if act == "int8_dynamic" else 448.0)
    s = np.abs(x).max(axis=-1, keepdims=True) / top
    assert s.dtype == np.float32 and np.all(s > 0)
    v = x / s
    if act == "int8_dynamic":
        q = np.clip(np.rint(v), -127, 127).astype(np.float64)
    else:
        q = round_to_e4m3(v.astype(np.float64))
    return q * s.astype(np.float64)


def main():
    out_dir, name, packed_path, output = sys.argv[1:5]
    spec = SCHEMES[name]
    fmt, bits, group = spec["fmt"], spec["bits"], spec["group"]
    original = read_safetensors(f"{out_dir}/linear.safetensors")
    w = original["fc.weight"][1].astype(np.float64)
    bias = original["fc.bias"][1]
    n, k = w.shape
    x = np.load(f"{out_dir}/x.npy")
    y = np.load(output).astype(np.float64)

    # 1. The archive.
    t = read_safetensors(packed_path)
    expected = {"fc.qweight", "fc.scales", "fc.bias"}
    if not spec["sym"]:
        expected.add("fc.zeros")
    if spec["dq"]:
        expected.add("fc.scale_scales")
    require(set(t) == expected,
            f"tensors {sorted(t)}, expected {sorted(expected)}")
    require(t["fc.bias"][0] == "F32" and
            np.array_equal(t["fc.bias"][1], bias), "fc.bias was not copied")
    container = container_bits(bits)
    groups_per_row = 1 if group <= 0 else k // group
    scale_shape = [1, 1] if group < 0 else [n, groups_per_row]
    scale_dtype = "I8" if spec["dq"] else spec["scale_type"].upper()
    qweight_dtype, qweight = t["fc.qweight"]
    require(qweight_dtype == "I8" and
            list(qweight.shape) == [n, k * container // 8],
            f"fc.qweight is {qweight_dtype} {list(qweight.shape)}, expected "
            f"I8 {[n, k * container // 8]}")
    scales_dtype, scales_raw = t["fc.scales"]
    require(scales_dtype == scale_dtype and
            list(scales_raw.shape) == scale_shape,
            f"fc.scales is {scales_dtype} {list(scales_raw.shape)}, expected "
            f"{scale_dtype} {scale_shape}")

    # 2. Decode: codes, scales, zero points, Ŵ.
    codes = unpack_codes(qweight, k, container)
    if spec["dq"]:
        # Scale i (row-major) = code_i · scale_scales[i // D], an f32 product.
        count = scales_raw.size
        ss_dtype, scale_scales = t["fc.scale_scales"]
        require(ss_dtype == "F32" and
                list(scale_scales.shape) == [-(-count // spec["dq"])],
                f"fc.scale_scales is {ss_dtype} {list(scale_scales.shape)}")
        index = np.arange(count) // spec["dq"]
        scales = (scales_raw.reshape(-1).astype(np.float32) *
                  scale_scales[index]).astype(np.float64)
    else:
        scales = decode_scales(scales_dtype, scales_raw.reshape(-1))
    if spec["sym"]:
        zeros = np.zeros_like(scales)
        if fmt == "int":
            zeros += 2**(bits - 1)
    else:
        zeros_dtype, zeros_raw = t["fc.zeros"]
        require(zeros_dtype == "I8" and
                list(zeros_raw.shape) == scale_shape,
                f"fc.zeros is {zeros_dtype} {list(zeros_raw.shape)}")
        zeros = zeros_raw.reshape(-1).astype(np.float64)
        require(np.all(zeros <= 2**bits - 1), "zero point out of range")
    if fmt == "int":
        level = codes.astype(np.float64)
    else:
        level = {"nf4": NF4, "fp4": FP4, "fp8": FP8}[fmt][codes]
    code_groups = group_view(codes, spec)
    wg, level_groups = group_view(w, spec), group_view(level, spec)
    w_hat_groups = scales[:, None] * (level_groups - zeros[:, None])
    w_hat = w_hat_groups.reshape(n, k)

    # Codes in range.
    if fmt == "int":
        require(np.all(codes <= 2**bits - 1),
                f"a code exceeds 2^{bits} - 1: max {codes.max()}")
        if spec["sym"] and spec["search"] == "absmax":
            # |w/s| <= 2^(b-1) - 1, so code 0 (-2^(b-1)) is never needed.
            require(np.all(codes >= 1), "symmetric code 0 used")
    if fmt == "fp8":
        require(np.all((codes & 0x7F) != 0x7F), "an FP8 code is NaN")
    if fmt == "fp8" and group == 0:
        # make_linear.py puts weights on subnormals (exponent field 0) of the
        # per-channel scale of row 3.
        require(np.any(((codes & 0x78) == 0) & ((codes & 0x7) != 0)),
                "no FP8 code is subnormal")
    require(np.all(np.isfinite(w_hat)), "Ŵ is not finite")

    # Scales cover the range (s · levels >= range) and are the documented
    # scale up to the rounding up to their storage (and, with double
    # quantization, up to one scale_scale: 0 <= ŝ - s <= scale_scales[i/D]).
    levels = levels_of(spec)
    if spec["sym"]:
        group_range = np.abs(wg).max(axis=1)
    else:
        group_range = (np.maximum(wg.max(axis=1), 0) -
                       np.minimum(wg.min(axis=1), 0))
    slack = np.zeros_like(scales)
    if spec["dq"]:
        slack = scale_scales[np.arange(scales.size) // spec["dq"]]
        slack = slack.astype(np.float64) * (1 + 2.0**-20)
    top = group_range / levels * (1 + scale_rounding(spec)) + slack
    zero_groups = group_range == 0
    # make_linear.py zeroes a row and half a row, so every scheme but the
    # per-tensor one has all-zero groups.
    require(group < 0 or np.any(zero_groups),
            "the test weight has no all-zero group")
    require(np.all(scales[zero_groups] == 0),
            "an all-zero group has a non-zero scale")
    require(np.all(w_hat_groups[zero_groups] == 0),
            "an all-zero group does not dequantize to 0")
    if spec["search"] == "absmax":
        require(np.all(scales * levels >= group_range),
                "a scale does not cover its group's range: "
                f"{np.argmin(scales * levels - group_range)}")
        require(np.all(scales <= top), "a scale exceeds the documented one")
    else:
        # The MSE search only shrinks the range, and here it does shrink most
        # (112 of 128) groups' ranges; require some, or MSE went untested.
        require(np.all(scales <= top), "an MSE scale exceeds the range's")
        require(np.any(scales * levels < group_range),
                "the MSE search shrank no group's range")

    # Ŵ is the nearest grid point to W (ties either way), with the float32
    # slack of `error_bound`. For Int this is D = s/2 inside the grid's range
    # and the distance to its end outside (MSE clips).
    error = np.abs(wg - w_hat_groups)
    grid = grid_of(spec, scales, zeros)
    nearest = np.abs(wg[:, :, None] - grid[:, None, :]).min(axis=2)
    excess = error - nearest - 2.0**-20 * (np.abs(wg) + scales[:, None])
    require(np.all(excess <= 0),
            f"an element is not rounded to the nearest grid point: group "
            f"{np.unravel_index(np.argmax(excess), excess.shape)}")
    if spec["search"] == "absmax":
        bound = error_bound(spec, wg, scales)
        require(np.all(error <= bound), "|W - Ŵ| exceeds its bound at "
                f"{np.unravel_index(np.argmax(error - bound), error.shape)}")
        ratio = (error[bound > 0] / bound[bound > 0]).max()
        ratio_text = f"max error/bound = {ratio:.3f}"
    else:
        ratio_text = "nearest grid point of the stored scale"
    print(f"{name}: max |W - Ŵ| = {error.max():.3e} ({ratio_text})")

    # 3. The JIT's output against the decoded weights.
    x_hat = fake_quantize_activation(x, spec["act"], spec["act_group"])
    ref = x_hat @ w_hat.T + bias.astype(np.float64)
    require(y.shape == ref.shape, f"output shape {y.shape}, expected "
            f"{ref.shape}")
    y_err = np.abs(y - ref).max()
    tol = 1e-5 * np.abs(ref).max() + 1e-6
    if spec["act"] != "none":
        # The reference must tell quantized activations from float ones.
        float_ref = x.astype(np.float64) @ w_hat.T + bias
        effect = np.abs(float_ref - ref).max()
        require(effect > 10 * tol,
                f"activation quantization changes y by only {effect:.1e}")
        print(f"{name}: activation quantization changes y by {effect:.3e}")
    if spec["act_group"] > 0:
        # ... and per-group scales from one scale per token.
        token_ref = (fake_quantize_activation(x, spec["act"]) @ w_hat.T +
                     bias.astype(np.float64))
        effect = np.abs(token_ref - ref).max()
        require(effect > 10 * tol,
                f"activation groups change y by only {effect:.1e}")
        print(f"{name}: activation groups change y by {effect:.3e}")
    require(y_err <= tol, f"max |y - y_ref| = {y_err:.3e} > {tol:.1e}")
    print(f"{name}: max |y - y_ref| = {y_err:.3e} (tolerance {tol:.1e}) "
          "-> ok")


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as failure:
        print(f"{sys.argv[2]}: FAIL: {failure}")
        sys.exit(1)
