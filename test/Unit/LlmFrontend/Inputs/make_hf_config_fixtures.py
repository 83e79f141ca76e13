#!/usr/bin/env python3
"""Writes the config.json files of HfConfigTest and what transformers makes
of them.

Needs the reference virtualenv (scripts/setup-reference.sh):
    ~/.cache/nibble/ref-venv/bin/python make_hf_config_fixtures.py

Writes hf-configs/<name>/config.json (and generation_config.json for some)
for each entry of CONFIGS below -- the configs of real models, transcribed
from their Hugging Face repositories, and minimal ones that lean on the
config classes' defaults -- and hf_config_expected.json: for each, the
values transformers' AutoConfig.from_pretrained gives (defaults applied,
RoPE parameters standardized, layer types derived), which the test compares
with readHfConfig field by field.
"""

import importlib.metadata
import json
import os

from transformers import AutoConfig

HERE = os.path.dirname(os.path.abspath(__file__))

GEMMA3_270M_LAYERS = ["sliding_attention"] * 5 + ["full_attention"]
GEMMA3_270M_LAYERS = GEMMA3_270M_LAYERS * 3

CONFIGS = {
    # Only the required sizes: LlamaConfig's defaults for everything else.
    "llama-minimal": {
        "model_type": "llama", "vocab_size": 1000, "hidden_size": 256,
        "intermediate_size": 512, "num_hidden_layers": 3,
        "num_attention_heads": 8},
    # HuggingFaceTB/SmolLM2-135M-Instruct.
    "smollm2-135m": {
        "architectures": ["LlamaForCausalLM"], "attention_bias": False,
        "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
        "head_dim": 64, "hidden_act": "silu", "hidden_size": 576,
        "initializer_range": 0.041666666666666664,
        "intermediate_size": 1536, "is_llama_config": True,
        "max_position_embeddings": 8192, "mlp_bias": False,
        "model_type": "llama", "num_attention_heads": 9,
        "num_hidden_layers": 30, "num_key_value_heads": 3,
        "pad_token_id": 2, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
        "rope_interleaved": False, "rope_scaling": None,
        "rope_theta": 100000, "tie_word_embeddings": True,
        "torch_dtype": "bfloat16", "transformers_version": "4.42.3",
        "transformers.js_config": {"kv_cache_dtype": {"q4f16": "float16",
                                                      "fp16": "float16"}},
        "use_cache": True, "vocab_size": 49152},
    # meta-llama/Llama-3.1-8B's RoPE on a small model.
    "llama31-rope": {
        "model_type": "llama", "vocab_size": 512, "hidden_size": 256,
        "intermediate_size": 512, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 131072, "rms_norm_eps": 1e-05,
        "rope_theta": 500000.0,
        "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 8192,
                         "rope_type": "llama3"}},
    # The legacy "type" key, dynamic NTK.
    "llama-dynamic": {
        "model_type": "llama", "vocab_size": 512, "hidden_size": 128,
        "intermediate_size": 256, "num_hidden_layers": 2,
        "num_attention_heads": 4, "head_dim": 64,
        "max_position_embeddings": 4096,
        "rope_scaling": {"type": "dynamic", "factor": 2.0}},
    # transformers 5's form: rope_parameters with a linear scaling.
    "llama-linear-v5": {
        "model_type": "llama", "vocab_size": 512, "hidden_size": 128,
        "intermediate_size": 256, "num_hidden_layers": 2,
        "num_attention_heads": 4, "tie_word_embeddings": True,
        "rope_parameters": {"rope_type": "linear", "factor": 4.0,
                            "rope_theta": 50000.0}},
    # MistralConfig's defaults (8 KV heads, a 4096 window on every layer).
    "mistral-minimal": {
        "model_type": "mistral", "vocab_size": 1000, "hidden_size": 512,
        "intermediate_size": 1024, "num_hidden_layers": 2,
        "num_attention_heads": 16},
    # mistralai/Mistral-7B-Instruct-v0.3 (an explicit null window).
    "mistral-7b-v03": {
        "architectures": ["MistralForCausalLM"], "attention_dropout": 0.0,
        "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
        "hidden_size": 4096, "initializer_range": 0.02,
        "intermediate_size": 14336, "max_position_embeddings": 32768,
        "model_type": "mistral", "num_attention_heads": 32,
        "num_hidden_layers": 32, "num_key_value_heads": 8,
        "rms_norm_eps": 1e-05, "rope_theta": 1000000.0,
        "sliding_window": None, "tie_word_embeddings": False,
        "torch_dtype": "bfloat16", "transformers_version": "4.42.0.dev0",
        "use_cache": True, "vocab_size": 32768},
    # Qwen/Qwen2.5-0.5B-Instruct.
    "qwen25-05b": {
        "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0,
        "bos_token_id": 151643, "eos_token_id": 151645, "hidden_act": "silu",
        "hidden_size": 896, "initializer_range": 0.02,
        "intermediate_size": 4864, "max_position_embeddings": 32768,
        "max_window_layers": 21, "model_type": "qwen2",
        "num_attention_heads": 14, "num_hidden_layers": 24,
        "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0, "sliding_window": 32768,
        "tie_word_embeddings": True, "torch_dtype": "bfloat16",
        "transformers_version": "4.43.1", "use_cache": True,
        "use_sliding_window": False, "vocab_size": 151936},
    # Qwen2 with the window on every layer (max_window_layers 0).
    "qwen2-sliding": {
        "model_type": "qwen2", "vocab_size": 256, "hidden_size": 64,
        "intermediate_size": 128, "num_hidden_layers": 3,
        "num_attention_heads": 4, "num_key_value_heads": 2,
        "use_sliding_window": True, "sliding_window": 16,
        "max_window_layers": 0},
    # google/gemma-3-270m.
    "gemma3-270m": {
        "_sliding_window_pattern": 6, "architectures": ["Gemma3ForCausalLM"],
        "attention_bias": False, "attention_dropout": 0.0,
        "attn_logit_softcapping": None, "bos_token_id": 2,
        "eos_token_id": 1, "final_logit_softcapping": None, "head_dim": 256,
        "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 640,
        "initializer_range": 0.02, "intermediate_size": 2048,
        "layer_types": GEMMA3_270M_LAYERS, "max_position_embeddings": 32768,
        "model_type": "gemma3_text", "num_attention_heads": 4,
        "num_hidden_layers": 18, "num_key_value_heads": 1,
        "pad_token_id": 0, "query_pre_attn_scalar": 256,
        "rms_norm_eps": 1e-06, "rope_local_base_freq": 10000.0,
        "rope_scaling": None, "rope_theta": 1000000.0,
        "sliding_window": 512, "torch_dtype": "bfloat16",
        "transformers_version": "4.55.0.dev0",
        "use_bidirectional_attention": False, "use_cache": True,
        "vocab_size": 262144},
    # google/gemma-3-4b-it's text part (multimodal config, linear scaling on
    # global layers, the pattern as an integer).
    "gemma3-4b-multimodal": {
        "architectures": ["Gemma3ForConditionalGeneration"],
        "boi_token_index": 255999, "eoi_token_index": 256000,
        "eos_token_id": [1, 106], "image_token_index": 262144,
        "initializer_range": 0.02, "mm_tokens_per_image": 256,
        "model_type": "gemma3",
        "text_config": {
            "hidden_size": 2560, "intermediate_size": 10240,
            "model_type": "gemma3_text", "num_hidden_layers": 34,
            "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
            "sliding_window": 1024, "vocab_size": 262208,
            "num_attention_heads": 8},
        "torch_dtype": "bfloat16", "transformers_version": "4.50.0.dev0",
        "vision_config": {"hidden_size": 1152, "image_size": 896,
                          "intermediate_size": 4304,
                          "model_type": "siglip_vision_model",
                          "num_attention_heads": 16,
                          "num_hidden_layers": 27, "patch_size": 14,
                          "vision_use_head": False}},
    # transformers 5's nested rope_parameters for Gemma 3.
    "gemma3-v5": {
        "model_type": "gemma3_text", "vocab_size": 300, "hidden_size": 128,
        "intermediate_size": 256, "num_hidden_layers": 4,
        "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 64,
        "sliding_window": 8, "query_pre_attn_scalar": 64,
        "layer_types": ["sliding_attention", "full_attention"] * 2,
        "rope_parameters": {
            "full_attention": {"rope_type": "linear", "factor": 2.0,
                               "rope_theta": 200000.0},
            "sliding_attention": {"rope_type": "default",
                                  "rope_theta": 5000.0}},
        "tie_word_embeddings": False},
}

GENERATION = {
    # google/gemma-3-270m's generation_config.json.
    "gemma3-270m": {"bos_token_id": 2, "cache_implementation": "hybrid",
                    "do_sample": True, "eos_token_id": [1, 106],
                    "pad_token_id": 0, "top_k": 64, "top_p": 0.95,
                    "transformers_version": "4.55.0.dev0"},
    # HuggingFaceTB/SmolLM2-135M-Instruct's.
    "smollm2-135m": {"bos_token_id": 1, "eos_token_id": 2,
                     "pad_token_id": 2, "transformers_version": "4.42.3"},
}


def rope_of(parameters):
    """The fields of one standardized RoPE dictionary nibble reads."""
    out = {"rope_type": parameters.get("rope_type", "default"),
           "rope_theta": float(parameters["rope_theta"])}
    for key in ("factor", "low_freq_factor", "high_freq_factor",
                "original_max_position_embeddings"):
        if key in parameters:
            out[key] = parameters[key]
    return out


def expectations(config):
    text = config.get_text_config()
    tied = config.tie_word_embeddings
    heads = text.num_attention_heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
    out = {"model_type": text.model_type, "vocab_size": text.vocab_size,
           "hidden_size": text.hidden_size,
           "intermediate_size": text.intermediate_size,
           "num_hidden_layers": text.num_hidden_layers,
           "num_attention_heads": heads,
           "num_key_value_heads": text.num_key_value_heads,
           "head_dim": head_dim,
           "max_position_embeddings": text.max_position_embeddings,
           "rms_norm_eps": text.rms_norm_eps,
           "tie_word_embeddings": bool(tied),
           "sliding_window": getattr(text, "sliding_window", None),
           "layer_types": getattr(text, "layer_types", None)}
    rope = text.rope_parameters
    if "full_attention" in rope:
        out["rope"] = rope_of(rope["full_attention"])
        out["rope_local"] = rope_of(rope["sliding_attention"])
    else:
        out["rope"] = rope_of(rope)
    if text.model_type == "gemma3_text":
        out["activation"] = text.hidden_activation
        out["query_pre_attn_scalar"] = text.query_pre_attn_scalar
    else:
        out["activation"] = text.hidden_act
    return out


def main():
    expected = {}
    for name, config in CONFIGS.items():
        directory = os.path.join(HERE, "hf-configs", name)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
            f.write("\n")
        if name in GENERATION:
            with open(os.path.join(directory, "generation_config.json"),
                      "w") as f:
                json.dump(GENERATION[name], f, indent=2)
                f.write("\n")
        expected[name] = expectations(AutoConfig.from_pretrained(directory))
    with open(os.path.join(HERE, "hf_config_expected.json"), "w") as f:
        json.dump({"transformers": importlib.metadata.version("transformers"),
                   "configs": expected}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
