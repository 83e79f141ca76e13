#!/usr/bin/env python3
"""Builds the tiny Hugging Face model directories of the HF frontend tests.

Run with the reference virtualenv (scripts/setup-reference.sh), never by the
test command; the outputs are committed:

    ~/.cache/nibble/ref-venv/bin/python test/LLM/Inputs/make_tiny_llama.py

Writes, next to this script:

  tiny-llama/           LlamaForCausalLM, float32, one model.safetensors.
                        hidden 64, 2 layers, 4 heads, 2 KV heads (head_dim
                        16), intermediate 128, vocab 256, rope theta 10000,
                        rms eps 1e-5, untied embeddings (lm_head.weight is in
                        the file). config.json is rewritten in the
                        transformers 4.x style that most published checkpoints
                        have: top-level "rope_theta" and "rope_scaling": null,
                        and "torch_dtype" (transformers 5 writes
                        "rope_parameters" and "dtype"; it reads both).
  tiny-llama-sharded/   the same weights, saved with a small max_shard_size:
                        three model-0000N-of-00003.safetensors shards and
                        model.safetensors.index.json (weight_map). Its logits
                        are those of tiny-llama (checked here).
  tiny-qwen2/           Qwen2ForCausalLM, bfloat16 weights (BF16 tensors in
                        the file), tied embeddings (no lm_head.weight in the
                        file: the head is model.embed_tokens.weight), q/k/v
                        projections with biases, rope theta 1e6, rms eps 1e-6,
                        same sizes otherwise. config.json as transformers 5
                        writes it ("rope_parameters", "dtype").
  tiny-reference.npz    reference logits, all positions, computed in float32
                        (for tiny-qwen2: the bf16 weights widened to float32):
                          ids_0            int32 [8]
                          ids_1            int32 [16]
                          llama_logits_0   float32 [8, 256]
                          llama_logits_1   float32 [16, 256]
                          qwen2_logits_0   float32 [8, 256]
                          qwen2_logits_1   float32 [16, 256]
                        position p's row is the logits after ids[0..p].
                        The float64 logits of the same weights differ from
                        these by a relative max-abs (max|a-b|/max|b|) printed
                        at the end (about 1e-7).

No tokenizer: the tests feed ids. The weights are seeded random values, not
the tiny init of transformers (std 0.02 would give near-uniform logits):
linear weights N(0, 1/fan_in), embeddings N(0, 1), RMSNorm weights
1 + 0.2 N(0, 1), biases 0.2 N(0, 1), so every tensor visibly matters.
"""

import json
import os
import shutil
import sys

import numpy as np
import torch
from transformers import (LlamaConfig, LlamaForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM)

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 1234


def randomize(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=gen))
            else:
                p.copy_(torch.randn(p.shape, generator=gen) / p.shape[1] ** 0.5)


def logits(model, ids, dtype=torch.float32):
    model = model.to(dtype)
    with torch.no_grad():
        out = model(torch.tensor([ids], dtype=torch.long)).logits[0]
    return out.to(torch.float64).numpy()


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def to_v4_config(path):
    with open(path) as f:
        cfg = json.load(f)
    rope = cfg.pop("rope_parameters")
    assert rope["rope_type"] == "default", rope
    out = {}
    for k, v in cfg.items():
        if k == "dtype":
            out["torch_dtype"] = v
        else:
            out[k] = v
    out["rope_theta"] = rope["rope_theta"]
    out["rope_scaling"] = None
    with open(path, "w") as f:
        json.dump(dict(sorted(out.items())), f, indent=2)
        f.write("\n")


def fresh(path):
    if os.path.exists(path):
        shutil.rmtree(path)
    return path


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    rng = np.random.default_rng(SEED)
    ids = [rng.integers(0, 256, size=8).tolist(),
           rng.integers(0, 256, size=16).tolist()]

    common = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, intermediate_size=128, vocab_size=256,
                  max_position_embeddings=256, bos_token_id=1, eos_token_id=2)

    # tiny-llama (float32, untied), and its sharded copy.
    llama = LlamaForCausalLM(LlamaConfig(rope_theta=10000.0, rms_norm_eps=1e-5,
                                         tie_word_embeddings=False, **common))
    randomize(llama, SEED)
    llama.eval()
    llama_dir = fresh(os.path.join(HERE, "tiny-llama"))
    llama.save_pretrained(llama_dir, safe_serialization=True)
    to_v4_config(os.path.join(llama_dir, "config.json"))
    sharded_dir = fresh(os.path.join(HERE, "tiny-llama-sharded"))
    llama.save_pretrained(sharded_dir, safe_serialization=True,
                          max_shard_size="200KB")
    to_v4_config(os.path.join(sharded_dir, "config.json"))

    # tiny-qwen2 (bfloat16, tied, q/k/v biases).
    qwen = Qwen2ForCausalLM(Qwen2Config(rope_theta=1000000.0, rms_norm_eps=1e-6,
                                        tie_word_embeddings=True, **common))
    randomize(qwen, SEED + 1)
    qwen = qwen.to(torch.bfloat16).eval()
    qwen_dir = fresh(os.path.join(HERE, "tiny-qwen2"))
    qwen.save_pretrained(qwen_dir, safe_serialization=True)

    # References, from the directories as written (so the files are checked
    # to load back), in float32; float64 once for the noise.
    out = {}
    noise = 0.0
    for key, cls, path in (("llama", LlamaForCausalLM, llama_dir),
                           ("qwen2", Qwen2ForCausalLM, qwen_dir)):
        model = cls.from_pretrained(path, dtype=torch.float32).eval()
        for i, seq in enumerate(ids):
            l32 = logits(model, seq, torch.float32)
            l64 = logits(model, seq, torch.float64)
            noise = max(noise, rel(l32, l64))
            out[f"{key}_logits_{i}"] = l32.astype(np.float32)
    sharded = LlamaForCausalLM.from_pretrained(sharded_dir, dtype=torch.float32)
    for i, seq in enumerate(ids):
        assert np.array_equal(logits(sharded, seq).astype(np.float32),
                              out[f"llama_logits_{i}"])
    # The rewritten (4.x style) config reads back with the same rope theta.
    assert LlamaConfig.from_pretrained(llama_dir).rope_parameters["rope_theta"] == 10000.0
    # The tie: no lm_head in the qwen2 file.
    from safetensors import safe_open
    with safe_open(os.path.join(qwen_dir, "model.safetensors"), "np") as f:
        assert "lm_head.weight" not in f.keys()
    with safe_open(os.path.join(llama_dir, "model.safetensors"), "np") as f:
        assert "lm_head.weight" in f.keys()

    for i, seq in enumerate(ids):
        out[f"ids_{i}"] = np.asarray(seq, dtype=np.int32)
    np.savez_compressed(os.path.join(HERE, "tiny-reference.npz"), **out)

    total = 0
    for d in (llama_dir, sharded_dir, qwen_dir):
        for name in sorted(os.listdir(d)):
            total += os.path.getsize(os.path.join(d, name))
            print(f"{os.path.relpath(os.path.join(d, name), HERE)}: "
                  f"{os.path.getsize(os.path.join(d, name))} bytes")
    total += os.path.getsize(os.path.join(HERE, "tiny-reference.npz"))
    print(f"total {total} bytes")
    for k in sorted(out):
        print(k, out[k].dtype, out[k].shape)
    print(f"float32 vs float64 relative max-abs: {noise:.3e}")
    print("logit ranges:", {k: (float(v.min()), float(v.max()))
                            for k, v in out.items() if "logits" in k})
    return 0


if __name__ == "__main__":
    sys.exit(main())
