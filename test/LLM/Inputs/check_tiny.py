"""Compares nibble's logits of the tiny HF models (tiny-hf.test), JIT-run or
compiled by nibblec (aot_*), with transformers' (tiny-reference.npz): relative max-abs error
max|a - b| / max|b| <= 1e-4 at every position."""

import sys

import numpy as np

ref = np.load(sys.argv[1])
failed = 0
references = {"llama_0": "llama_logits_0", "sharded_0": "llama_logits_0",
              "qwen2_0": "qwen2_logits_0", "aot_llama_0": "llama_logits_0",
              "aot_qwen2_0": "qwen2_logits_0"}
# Optional third argument: the comma-separated names to check.
names = sys.argv[3].split(",") if len(sys.argv) > 3 else ["llama_0", "sharded_0", "qwen2_0"]
for name in names:
    key = references[name]
    got = np.load(f"{sys.argv[2]}/{name}.npy")
    want = ref[key]
    err = np.abs(got - want).max() / np.abs(want).max() if got.shape == want.shape else np.inf
    failed += not err <= 1e-4
    print(f"{name}: rel. max-abs {err:.3g} (<= 1e-4) -> {'ok' if err <= 1e-4 else 'FAIL'}")
sys.exit(1 if failed else 0)
