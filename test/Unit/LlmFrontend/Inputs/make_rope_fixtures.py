#!/usr/bin/env python3
"""Writes rope_frequencies.json: RoPE inverse frequencies computed by Hugging
Face transformers (ROPE_INIT_FUNCTIONS and LlamaRotaryEmbedding's default)
for several (head dim, theta, scaling) combinations, as float32 bit patterns.

Needs the reference virtualenv (scripts/setup-reference.sh):
    ~/.cache/nibble/ref-venv/bin/python make_rope_fixtures.py
The unit tests only read the JSON; versions are recorded in it.
"""

import json
import os

import torch
import transformers
from transformers import LlamaConfig
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

# (head dim, theta, max_position_embeddings, rope_parameters beyond theta).
CASES = [
    (64, 10000.0, 2048, {"rope_type": "default"}),
    (64, 100000.0, 8192, {"rope_type": "default"}),  # SmolLM2-135M
    (128, 500000.0, 8192, {"rope_type": "default"}),
    (256, 1000000.0, 32768, {"rope_type": "default"}),  # Gemma 3 global
    (256, 10000.0, 32768, {"rope_type": "default"}),  # Gemma 3 local
    (80, 10000.0, 4096, {"rope_type": "default"}),
    (16, 10000.0, 256, {"rope_type": "default"}),
    (64, 10000.0, 2048, {"rope_type": "linear", "factor": 2.0}),
    (128, 10000.0, 4096, {"rope_type": "linear", "factor": 4.0}),
    (256, 1000000.0, 131072, {"rope_type": "linear", "factor": 8.0}),
    (96, 10000.0, 2048, {"rope_type": "linear", "factor": 1.5}),
    (64, 10000.0, 2048, {"rope_type": "dynamic", "factor": 2.0}),
    (128, 10000.0, 4096, {"rope_type": "dynamic", "factor": 1.7}),
    (128, 500000.0, 131072,  # Llama 3.1 8B
     {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
      "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}),
    (64, 500000.0, 131072,  # Llama 3.2 1B
     {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
      "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}),
    (64, 10000.0, 4096,
     {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 2.0,
      "high_freq_factor": 8.0, "original_max_position_embeddings": 1024}),
]


def inverse_frequencies(dim, theta, max_positions, parameters):
    heads = 4
    config = LlamaConfig(hidden_size=dim * heads, num_attention_heads=heads,
                         num_key_value_heads=heads, head_dim=dim,
                         max_position_embeddings=max_positions,
                         rope_parameters=dict(parameters, rope_theta=theta))
    kind = parameters["rope_type"]
    if kind == "default":
        inv_freq, _ = LlamaRotaryEmbedding.compute_default_rope_parameters(
            config)
    else:
        inv_freq, _ = ROPE_INIT_FUNCTIONS[kind](config, "cpu")
    assert inv_freq.dtype == torch.float32 and inv_freq.shape == (dim // 2,)
    return inv_freq


def main():
    cases = []
    for dim, theta, max_positions, parameters in CASES:
        inv_freq = inverse_frequencies(dim, theta, max_positions, parameters)
        bits = inv_freq.numpy().view("uint32")
        cases.append({
            "head_dim": dim, "rope_theta": theta,
            "max_position_embeddings": max_positions,
            "rope_parameters": parameters,
            "inv_freq_bits": [f"0x{int(b):08x}" for b in bits]})
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "rope_frequencies.json")
    with open(out, "w") as f:
        json.dump({"transformers": transformers.__version__,
                   "torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
