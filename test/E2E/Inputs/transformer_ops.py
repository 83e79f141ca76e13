"""The transformer ops (nibble.rms_norm, nibble.rope, nibble.embedding,
nibble.attention) through the JIT against independent numpy references.

Usage: transformer_ops.py make DIR    writes DIR/ops.mlir and the inputs
       transformer_ops.py check DIR   compares DIR/<case>.out.npy with numpy

The references follow Hugging Face's code (LlamaRMSNorm, Gemma3RMSNorm,
apply_rotary_pos_emb with rotate_half, eager_attention_forward with repeat_kv
and a causal / sliding-window mask), written here in float64 numpy, not
derived from nibble's lowering. Tolerance: max |nibble - ref| <= 1e-5 ·
max(1, max |ref|) -- float32 rounding of sums over at most 64 terms and of
libm's cosf/sinf/expf stays orders of magnitude below it.

Attention cases cover prefill from position 0, a later chunk, one decode step
(whose cache holds garbage beyond the current position: the op must not read
it, so the cache is filled with NaN there) and a sliding window.
"""

import sys

import numpy as np

RNG = np.random.default_rng(7)
CAPACITY = 24
KV_HEADS, GROUP, HEAD, VHEAD = 2, 3, 8, 6
Q_HEADS = KV_HEADS * GROUP


def rms_norm(x, w, eps, offset):
    x = x.astype(np.float64)
    inv = 1.0 / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
    return x * inv * (offset + w.astype(np.float64))


def rope(x, pos, inv_freq, interleaved):
    x = x.astype(np.float64)
    r = 2 * len(inv_freq)
    angle = pos[:, None].astype(np.float64) * inv_freq[None, :].astype(np.float32).astype(np.float64)
    cos, sin = np.cos(angle)[:, None, :], np.sin(angle)[:, None, :]
    y = x.copy()
    if interleaved:
        a, b = x[..., 0:r:2], x[..., 1:r:2]
        y[..., 0:r:2] = a * cos - b * sin
        y[..., 1:r:2] = b * cos + a * sin
    else:
        a, b = x[..., : r // 2], x[..., r // 2 : r]
        y[..., : r // 2] = a * cos - b * sin
        y[..., r // 2 : r] = b * cos + a * sin
    return y


def attention(q, k, v, start, scale, window):
    t_count = q.shape[0]
    out = np.zeros((t_count, Q_HEADS, v.shape[2]))
    for t in range(t_count):
        p = start + t
        lo = max(0, p - window + 1) if window else 0
        for h in range(Q_HEADS):
            kv = h // GROUP
            keys = k[lo : p + 1, kv].astype(np.float64)
            s = keys @ q[t, h].astype(np.float64) * scale
            e = np.exp(s - s.max())
            out[t, h] = (e / e.sum()) @ v[lo : p + 1, kv].astype(np.float64)
    return out


def f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


INV_FREQ_FULL = (1.0 / 10000 ** (np.arange(0, HEAD, 2) / HEAD)).astype(np.float32)
INV_FREQ_PARTIAL = INV_FREQ_FULL[:2]
ATTENTION_CASES = {
    # name: (tokens, start, window)
    "attn_prefill": (5, 0, 0),
    "attn_chunk": (4, 6, 0),
    "attn_decode": (1, 13, 0),
    "attn_window": (3, 11, 4),
}


def tensor(shape, dtype="f32"):
    return "tensor<" + "x".join(str(d) for d in shape) + ("x" if shape else "") + dtype + ">"


def fmt(values):
    return "[" + ", ".join(repr(float(v)) for v in values) + "]"


def make(out):
    x = f32(RNG.standard_normal((4, 16)) * 3)
    w = f32(RNG.standard_normal(16))
    np.save(f"{out}/norm_x.npy", x)
    np.save(f"{out}/norm_w.npy", w)
    rx = f32(RNG.standard_normal((5, 3, HEAD)))
    pos = np.array([0, 1, 7, 100, 4095], dtype=np.int64)
    np.save(f"{out}/rope_x.npy", rx)
    np.save(f"{out}/rope_pos.npy", pos)
    table = f32(RNG.standard_normal((10, 4)))
    ids = np.array([3, 0, 9, 3], dtype=np.int32)
    np.save(f"{out}/emb_table.npy", table)
    np.save(f"{out}/emb_ids.npy", ids)

    fn = []
    fn.append(f"""
func.func @norm(%x: {tensor((4, 16))}, %w: {tensor((16,))}) -> {tensor((4, 16))} {{
  %y = nibble.rms_norm %x, %w epsilon = 1.0e-05 : ({tensor((4, 16))}, {tensor((16,))}) -> {tensor((4, 16))}
  return %y : {tensor((4, 16))}
}}
func.func @norm_gemma(%x: {tensor((4, 16))}, %w: {tensor((16,))}) -> {tensor((4, 16))} {{
  %y = nibble.rms_norm %x, %w epsilon = 1.0e-06 offset = 1.0 : ({tensor((4, 16))}, {tensor((16,))}) -> {tensor((4, 16))}
  return %y : {tensor((4, 16))}
}}""")
    rt = tensor((5, 3, HEAD))
    for name, freqs, mode in [("rope_half", INV_FREQ_FULL, ""),
                              ("rope_interleaved", INV_FREQ_FULL, " interleaved"),
                              ("rope_partial", INV_FREQ_PARTIAL, "")]:
        fn.append(f"""
func.func @{name}(%x: {rt}, %p: {tensor((5,), 'i64')}) -> {rt} {{
  %y = nibble.rope %x, %p inv_freq = {fmt(freqs)}{mode} : ({rt}, {tensor((5,), 'i64')}) -> {rt}
  return %y : {rt}
}}""")
    fn.append(f"""
func.func @embedding(%t: {tensor((10, 4))}, %ids: {tensor((4,), 'i32')}) -> {tensor((4, 4))} {{
  %y = nibble.embedding %t, %ids : ({tensor((10, 4))}, {tensor((4,), 'i32')}) -> {tensor((4, 4))}
  return %y : {tensor((4, 4))}
}}""")
    kt, vt = tensor((CAPACITY, KV_HEADS, HEAD)), tensor((CAPACITY, KV_HEADS, VHEAD))
    for name, (tokens, start, window) in ATTENTION_CASES.items():
        q = f32(RNG.standard_normal((tokens, Q_HEADS, HEAD)))
        k = np.full((CAPACITY, KV_HEADS, HEAD), np.nan, dtype=np.float32)
        v = np.full((CAPACITY, KV_HEADS, VHEAD), np.nan, dtype=np.float32)
        k[: start + tokens] = RNG.standard_normal((start + tokens, KV_HEADS, HEAD))
        v[: start + tokens] = RNG.standard_normal((start + tokens, KV_HEADS, VHEAD))
        if window:
            # Entries before the window must not be read either.
            k[: start + tokens - window - tokens + 1] = np.nan
        np.save(f"{out}/{name}_q.npy", q)
        np.save(f"{out}/{name}_k.npy", k)
        np.save(f"{out}/{name}_v.npy", v)
        np.save(f"{out}/{name}_start.npy", np.array([start], dtype=np.int64))
        qt, ot = tensor((tokens, Q_HEADS, HEAD)), tensor((tokens, Q_HEADS, VHEAD))
        win = f" window = {window}" if window else ""
        fn.append(f"""
func.func @{name}(%q: {qt}, %k: {kt}, %v: {vt}, %s: {tensor((1,), 'i64')}) -> {ot} {{
  %c0 = arith.constant 0 : index
  %s64 = tensor.extract %s[%c0] : {tensor((1,), 'i64')}
  %start = arith.index_cast %s64 : i64 to index
  %y = nibble.attention %q, %k, %v start %start scale = 0.353553385{win} : ({qt}, {kt}, {vt}, index) -> {ot}
  return %y : {ot}
}}""")
    with open(f"{out}/ops.mlir", "w") as f:
        f.write("\n".join(fn) + "\n")


def check(out):
    def load(name):
        return np.load(f"{out}/{name}.npy")

    refs = {
        "norm": rms_norm(load("norm_x"), load("norm_w"), 1e-5, 0.0),
        "norm_gemma": rms_norm(load("norm_x"), load("norm_w"), 1e-6, 1.0),
        "rope_half": rope(load("rope_x"), load("rope_pos"), INV_FREQ_FULL, False),
        "rope_interleaved": rope(load("rope_x"), load("rope_pos"), INV_FREQ_FULL, True),
        "rope_partial": rope(load("rope_x"), load("rope_pos"), INV_FREQ_PARTIAL, False),
        "embedding": load("emb_table")[load("emb_ids")],
    }
    for name, (tokens, start, window) in ATTENTION_CASES.items():
        k, v = load(f"{name}_k"), load(f"{name}_v")
        refs[name] = attention(load(f"{name}_q"), k, v, start, 0.353553385, window)
    failed = 0
    for name, ref in refs.items():
        got = np.load(f"{out}/{name}.out.npy")
        err = np.abs(got.astype(np.float64) - ref).max() if got.shape == ref.shape else np.inf
        bound = 1e-5 * max(1.0, np.abs(ref).max())
        ok = err <= bound
        failed += not ok
        print(f"{name}: max error {err:.3g} (bound {bound:.3g}) -> {'ok' if ok else 'FAIL'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])
