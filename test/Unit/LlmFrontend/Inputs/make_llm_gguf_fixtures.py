#!/usr/bin/env python3
"""Writes small llama.cpp-style GGUF models for LlmFrontendTests with the
PyPI `gguf` package, and what their float32 archives must hold.

Usage (scripts/setup.sh's virtualenv):
  ~/.cache/nibble/venv/bin/python \\
      test/Unit/LlmFrontend/Inputs/make_llm_gguf_fixtures.py

Writes next to this script:
  tiny-llama.gguf   general.architecture "llama": 2 layers, hidden 256,
                    4 heads of 16, 2 KV heads, FFN 64, 32 tokens, untied
                    output.weight, a rope_freqs.weight of Llama 3.1-style
                    factors, and its tensors stored in 13 ggml types (every
                    type gguf's numpy dequantizer knows: F32, F16, BF16,
                    Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K ... Q6_K).
  tiny-gemma3.gguf  "gemma3": 2 layers, hidden 256, 2 heads of 32 (key_length
                    32, not hidden / heads), 1 KV head, FFN 64, q/k norms,
                    pre/post norms (stored as 1 + w, as the converter does),
                    tied embeddings, sliding window 4.
  tiny-qwen2.gguf   "qwen2": 1 layer, hidden 32, 2 heads of 16, 1 KV head,
                    FFN 32, q/k/v biases, F32/F16.
  bad-*.gguf        configurations readGgufConfig or the archive writer must
                    refuse (see BAD below).
  llm_gguf_expected.json  per model and Hugging Face tensor name: the shape
                    and checksum of the float32 values the archive must hold
                    -- gguf.quants.dequantize of the stored data, renamed --
                    in the file's q/k row order ("checksum") and in the other
                    RoPE order ("reordered_checksum", q/k projections and
                    norms only): for "llama" files Hugging Face's
                    rotate-half order, undoing convert_hf_to_gguf.py's
                    LlamaModel.permute; for the others the interleaved order,
                    applying it.

Quantizable types hold gaussian data quantized by gguf.quants.quantize; the
k-quants (which gguf cannot quantize) random blocks with finite f16 scales.

checksum(y) = sum over i of (2 i + 1) * bits(y[i]) mod 2^64 over the flat
float32 values (as in test/Unit/Gguf/Inputs/make_gguf_fixtures.py).

Re-running gives the same files (fixed seeds).
"""

import importlib.metadata
import json
import os

import numpy as np

import gguf
from gguf import GGMLQuantizationType as Q
from gguf.constants import GGML_QUANT_SIZES

HERE = os.path.dirname(os.path.abspath(__file__))

# Byte offsets of the f16 fields of each k-quant block (ggml-common.h).
F16_FIELDS = {Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2],
              Q.Q5_K: [0, 2], Q.Q6_K: [208]}
K_QUANTS = set(F16_FIELDS)


def checksum(values):
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    bits = bits.reshape(-1).astype(np.uint64)
    weights = np.arange(bits.size, dtype=np.uint64) * np.uint64(2) + \
        np.uint64(1)
    return int((bits * weights).sum(dtype=np.uint64))


def random_f16(rng, count):
    """Finite f16 bit patterns of magnitude below 2^-2."""
    sign = rng.integers(0, 2, count, dtype=np.uint16) << np.uint16(15)
    exponent = rng.integers(1, 13, count, dtype=np.uint16) << np.uint16(10)
    mantissa = rng.integers(0, 1024, count, dtype=np.uint16)
    return sign | exponent | mantissa


def encode(rng, shape, qtype):
    """(raw data to store, its float32 dequantization) of a tensor of
    row-major `shape` stored as `qtype`."""
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    if qtype in K_QUANTS:
        block_elements, block_bytes = GGML_QUANT_SIZES[qtype]
        n = rows * cols // block_elements
        data = rng.integers(0, 256, (n, block_bytes), dtype=np.uint8)
        for offset in F16_FIELDS[qtype]:
            data[:, offset:offset + 2] = \
                random_f16(rng, n).view(np.uint8).reshape(n, 2)
        raw = data.reshape(rows, -1)
    else:
        values = (rng.standard_normal((rows, cols)) * 0.1).astype(np.float32)
        raw = values if qtype == Q.F32 else gguf.quants.quantize(values, qtype)
    dequantized = gguf.quants.dequantize(raw, qtype).astype(np.float32)
    # The stored array keeps the tensor's rank (a vector stays 1-D).
    raw = raw.reshape(tuple(shape[:-1]) + (-1,))
    return raw, dequantized.reshape(shape)


def permute(w, heads):
    """convert_hf_to_gguf.py's LlamaModel.permute (HF -> interleaved)."""
    return (w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def unpermute(w, heads):
    """The inverse of permute (interleaved -> HF's rotate-half)."""
    return (w.reshape(heads, w.shape[0] // heads // 2, 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


class Model:
    """A GGUF file being written and the archive it must give."""

    def __init__(self, path, arch, head_dim, heads, kv_heads):
        self.path = path
        self.arch = arch
        self.head_dim = head_dim
        self.heads = heads
        self.kv_heads = kv_heads
        self.writer = gguf.GGUFWriter(path, arch)
        self.expected = {}

    def tensor(self, rng, gguf_name, hf_name, shape, qtype):
        raw, values = encode(rng, shape, qtype)
        self.writer.add_tensor(gguf_name, raw, raw_dtype=qtype)
        if hf_name is None:
            return values
        entry = {"shape": list(shape), "checksum": str(checksum(values))}
        heads = None
        if hf_name.endswith(("q_proj.weight", "q_proj.bias")):
            heads = self.heads
        elif hf_name.endswith(("k_proj.weight", "k_proj.bias")):
            heads = self.kv_heads
        elif hf_name.endswith(("q_norm.weight", "k_norm.weight")):
            heads = 1
        if heads is not None and values.shape[0] % (2 * heads) == 0:
            other = unpermute(values, heads) if self.arch == "llama" else \
                permute(values, heads)
            entry["reordered_checksum"] = str(checksum(other))
        self.expected[hf_name] = entry
        return values

    def finish(self):
        self.writer.write_header_to_file()
        self.writer.write_kv_data_to_file()
        self.writer.write_tensors_to_file()
        self.writer.close()


def add_common_metadata(w, layers, hidden, ffn, heads, kv_heads, context,
                        eps, theta, vocab):
    w.add_block_count(layers)
    w.add_context_length(context)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_layer_norm_rms_eps(eps)
    w.add_rope_freq_base(theta)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"t{i}" for i in range(vocab)])


# ggml types of the llama fixture's layer tensors, per layer: every type
# gguf's numpy dequantizer knows appears at least once. k-quant rows need
# 256 elements: only tensors whose rows are the hidden size (256) use them.
LLAMA_TYPES = [
    {"attn_q": Q.Q4_K, "attn_k": Q.Q5_K, "attn_v": Q.Q6_K,
     "attn_output": Q.Q4_0, "ffn_gate": Q.Q2_K, "ffn_up": Q.Q3_K,
     "ffn_down": Q.Q8_0},
    {"attn_q": Q.Q5_0, "attn_k": Q.BF16, "attn_v": Q.F16,
     "attn_output": Q.Q4_1, "ffn_gate": Q.F32, "ffn_up": Q.Q5_1,
     "ffn_down": Q.Q5_0},
]


def write_llama(path):
    rng = np.random.default_rng(20261208)
    layers, hidden, ffn, heads, kv_heads, head_dim, vocab = \
        2, 256, 64, 4, 2, 16, 32
    m = Model(path, "llama", head_dim, heads, kv_heads)
    add_common_metadata(m.writer, layers, hidden, ffn, heads, kv_heads, 512,
                        1e-5, 500000.0, vocab)
    m.writer.add_key_length(head_dim)
    m.writer.add_rope_dimension_count(head_dim)
    m.tensor(rng, "token_embd.weight", "model.embed_tokens.weight",
             (vocab, hidden), Q.Q8_0)
    for layer in range(layers):
        types = LLAMA_TYPES[layer]
        blk, hf = f"blk.{layer}.", f"model.layers.{layer}."
        m.tensor(rng, blk + "attn_norm.weight", hf + "input_layernorm.weight",
                 (hidden,), Q.F32)
        m.tensor(rng, blk + "attn_q.weight", hf + "self_attn.q_proj.weight",
                 (heads * head_dim, hidden), types["attn_q"])
        m.tensor(rng, blk + "attn_k.weight", hf + "self_attn.k_proj.weight",
                 (kv_heads * head_dim, hidden), types["attn_k"])
        m.tensor(rng, blk + "attn_v.weight", hf + "self_attn.v_proj.weight",
                 (kv_heads * head_dim, hidden), types["attn_v"])
        m.tensor(rng, blk + "attn_output.weight",
                 hf + "self_attn.o_proj.weight", (hidden, heads * head_dim),
                 types["attn_output"])
        m.tensor(rng, blk + "ffn_norm.weight",
                 hf + "post_attention_layernorm.weight", (hidden,), Q.F32)
        m.tensor(rng, blk + "ffn_gate.weight", hf + "mlp.gate_proj.weight",
                 (ffn, hidden), types["ffn_gate"])
        m.tensor(rng, blk + "ffn_up.weight", hf + "mlp.up_proj.weight",
                 (ffn, hidden), types["ffn_up"])
        m.tensor(rng, blk + "ffn_down.weight", hf + "mlp.down_proj.weight",
                 (hidden, ffn), types["ffn_down"])
    m.tensor(rng, "output_norm.weight", "model.norm.weight", (hidden,), Q.F32)
    m.tensor(rng, "output.weight", "lm_head.weight", (vocab, hidden), Q.F16)
    # Llama 3.1-style frequency factors (convert_hf_to_gguf.py's rope_freqs
    # for factor 8, low 1, high 4, original context 64: some of each kind).
    base = 500000.0
    freqs = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float32) /
                            head_dim))
    factors = []
    for freq in freqs:
        wavelen = 2 * np.pi / float(freq)
        if wavelen < 64 / 4:
            factors.append(1.0)
        elif wavelen > 64 / 1:
            factors.append(8.0)
        else:
            smooth = (64 / wavelen - 1) / (4 - 1)
            factors.append(1.0 / ((1 - smooth) / 8 + smooth))
    factors = np.array(factors, dtype=np.float32)
    m.writer.add_tensor("rope_freqs.weight", factors)
    m.finish()
    return m.expected, factors


def write_gemma3(path):
    rng = np.random.default_rng(20261209)
    layers, hidden, ffn, heads, kv_heads, head_dim, vocab = \
        2, 256, 64, 2, 1, 32, 48
    m = Model(path, "gemma3", head_dim, heads, kv_heads)
    add_common_metadata(m.writer, layers, hidden, ffn, heads, kv_heads, 1024,
                        1e-6, 1000000.0, vocab)
    m.writer.add_key_length(head_dim)
    m.writer.add_value_length(head_dim)
    m.writer.add_sliding_window(4)
    m.tensor(rng, "token_embd.weight", "model.embed_tokens.weight",
             (vocab, hidden), Q.Q8_0)
    for layer in range(layers):
        blk, hf = f"blk.{layer}.", f"model.layers.{layer}."
        k_quant = Q.Q4_K if layer == 0 else Q.Q6_K
        norms = [("attn_norm", "input_layernorm", hidden),
                 ("attn_q_norm", "self_attn.q_norm", head_dim),
                 ("attn_k_norm", "self_attn.k_norm", head_dim),
                 ("post_attention_norm", "post_attention_layernorm", hidden),
                 ("ffn_norm", "pre_feedforward_layernorm", hidden),
                 ("post_ffw_norm", "post_feedforward_layernorm", hidden)]
        for gguf_name, hf_name, size in norms:
            m.tensor(rng, blk + gguf_name + ".weight", hf + hf_name +
                     ".weight", (size,), Q.F32)
        m.tensor(rng, blk + "attn_q.weight", hf + "self_attn.q_proj.weight",
                 (heads * head_dim, hidden), Q.Q5_0)
        m.tensor(rng, blk + "attn_k.weight", hf + "self_attn.k_proj.weight",
                 (kv_heads * head_dim, hidden), k_quant)
        m.tensor(rng, blk + "attn_v.weight", hf + "self_attn.v_proj.weight",
                 (kv_heads * head_dim, hidden), Q.Q8_0)
        m.tensor(rng, blk + "attn_output.weight",
                 hf + "self_attn.o_proj.weight", (hidden, heads * head_dim),
                 Q.Q4_0)
        m.tensor(rng, blk + "ffn_gate.weight", hf + "mlp.gate_proj.weight",
                 (ffn, hidden), k_quant)
        m.tensor(rng, blk + "ffn_up.weight", hf + "mlp.up_proj.weight",
                 (ffn, hidden), Q.Q5_0)
        m.tensor(rng, blk + "ffn_down.weight", hf + "mlp.down_proj.weight",
                 (hidden, ffn), Q.Q8_0)
    m.tensor(rng, "output_norm.weight", "model.norm.weight", (hidden,), Q.F32)
    m.finish()
    return m.expected


def write_qwen2(path, layers=1, hidden=32, ffn=32, heads=2, kv_heads=1,
                drop=(), wrong=(), metadata=None, arch="qwen2"):
    """A small F32/F16 model; `drop` leaves GGUF tensors out, `wrong` gives
    them one row too many, `metadata` overrides keys (None: remove)."""
    rng = np.random.default_rng(20261210)
    head_dim, vocab = hidden // heads, 16
    m = Model(path, arch, head_dim, heads, kv_heads)
    values = {"block_count": layers, "context_length": 128,
              "embedding_length": hidden, "feed_forward_length": ffn,
              "attention.head_count": heads,
              "attention.head_count_kv": kv_heads,
              "attention.layer_norm_rms_epsilon": 1e-6,
              "rope.freq_base": 1000000.0}
    for key, value in (metadata or {}).items():
        values[key] = value
    for key, value in values.items():
        if value is None:
            continue
        full = f"{arch}.{key}"
        if isinstance(value, str):
            m.writer.add_string(full, value)
        elif isinstance(value, float):
            m.writer.add_float32(full, value)
        else:
            m.writer.add_uint32(full, value)
    m.writer.add_tokenizer_model("gpt2")
    m.writer.add_token_list([f"t{i}" for i in range(vocab)])

    def tensor(name, hf_name, shape, qtype=Q.F32):
        if name in drop:
            return
        if name in wrong:
            shape = (shape[0] + 1,) + tuple(shape[1:])
        m.tensor(rng, name, hf_name, shape, qtype)

    tensor("token_embd.weight", "model.embed_tokens.weight", (vocab, hidden),
           Q.F16)
    q_rows, kv_rows = heads * head_dim, kv_heads * head_dim
    for layer in range(layers):
        blk, hf = f"blk.{layer}.", f"model.layers.{layer}."
        tensor(blk + "attn_norm.weight", hf + "input_layernorm.weight",
               (hidden,))
        for part, rows in (("q", q_rows), ("k", kv_rows), ("v", kv_rows)):
            tensor(f"{blk}attn_{part}.weight",
                   f"{hf}self_attn.{part}_proj.weight", (rows, hidden), Q.F16)
            tensor(f"{blk}attn_{part}.bias", f"{hf}self_attn.{part}_proj.bias",
                   (rows,))
        tensor(blk + "attn_output.weight", hf + "self_attn.o_proj.weight",
               (hidden, q_rows), Q.F16)
        tensor(blk + "ffn_norm.weight", hf + "post_attention_layernorm.weight",
               (hidden,))
        tensor(blk + "ffn_gate.weight", hf + "mlp.gate_proj.weight",
               (ffn, hidden))
        tensor(blk + "ffn_up.weight", hf + "mlp.up_proj.weight",
               (ffn, hidden))
        tensor(blk + "ffn_down.weight", hf + "mlp.down_proj.weight",
               (hidden, ffn))
    tensor("output_norm.weight", "model.norm.weight", (hidden,))
    m.finish()
    return m.expected


# name -> write_qwen2 arguments of files the frontend must refuse.
BAD = {
    "bad-arch": {"arch": "gpt2"},
    "bad-missing-key": {"metadata": {"block_count": None}},
    "bad-key-type": {"metadata": {"context_length": "long"}},
    "bad-heads": {"metadata": {"attention.head_count_kv": 3}},
    "bad-rope-scaling": {"metadata": {"rope.scaling.type": "yarn",
                                      "rope.scaling.factor": 4.0}},
    "bad-missing-tensors": {"layers": 2,
                            "drop": ["blk.1.ffn_up.weight",
                                     "output_norm.weight"]},
    "bad-shape": {"wrong": ["blk.0.attn_k.weight"]},
}


def main():
    expected = {}
    llama, factors = write_llama(os.path.join(HERE, "tiny-llama.gguf"))
    expected["tiny-llama.gguf"] = {
        "tensors": llama,
        "rope_freqs": [f"0x{int(b):08x}" for b in factors.view(np.uint32)]}
    expected["tiny-gemma3.gguf"] = {
        "tensors": write_gemma3(os.path.join(HERE, "tiny-gemma3.gguf"))}
    expected["tiny-qwen2.gguf"] = {
        "tensors": write_qwen2(os.path.join(HERE, "tiny-qwen2.gguf"))}
    for name, arguments in BAD.items():
        write_qwen2(os.path.join(HERE, name + ".gguf"), **arguments)
    with open(os.path.join(HERE, "llm_gguf_expected.json"), "w") as f:
        json.dump({"gguf": importlib.metadata.version("gguf"),
                   "numpy": np.__version__, "models": expected},
                  f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
