#!/usr/bin/env bash
#===- scripts/setup-reference.sh - The reference virtualenv ---------------===#
#
# Creates the *reference* virtualenv, $NIBBLE_CACHE_DIR/ref-venv (default
# ~/.cache/nibble/ref-venv), holding torch (CPU use), transformers, gguf,
# safetensors, numpy and llama-cpp-python (built from source). It is needed
# only to REGENERATE the LLM reference fixtures under test/LLM/Inputs/
# (make_llm_references.py, make_tiny_llama.py); the test command, CI and
# scripts/setup.sh never use it: the tests compare against the committed
# fixtures and need no torch.
#
# Idempotent: a second run checks the imports and returns.
#
# Everything comes from PyPI. llama-cpp-python has no prebuilt wheel there
# and is compiled with cmake (a few tens of minutes on 2 cores); the build
# uses GGML_NATIVE=ON and two jobs. The default torch wheel may pull CUDA
# runtime packages; they are unused (everything runs on the CPU).
#
#   scripts/setup-reference.sh
#   ~/.cache/nibble/ref-venv/bin/python test/LLM/Inputs/make_llm_references.py
#   ~/.cache/nibble/ref-venv/bin/python test/LLM/Inputs/make_tiny_llama.py
#
#===----------------------------------------------------------------------===#
set -euo pipefail

CACHE_DIR="${NIBBLE_CACHE_DIR:-$HOME/.cache/nibble}"
VENV_DIR="$CACHE_DIR/ref-venv"
PYTHON="${NIBBLE_REF_PYTHON:-python3}"

# The versions the committed fixtures were made with (REFERENCES.md).
PY_PACKAGES=(
  "torch==2.15.0"
  "transformers==5.23.0"
  "gguf==0.19.0"
  "safetensors==0.8.0"
  "numpy"
  "accelerate"
  "sentencepiece"
  "protobuf"
)
LLAMA_CPP="llama-cpp-python==0.3.36"

check() {
  "$VENV_DIR/bin/python" - <<'PY' 2>/dev/null
import torch, transformers, gguf, safetensors, numpy, accelerate, llama_cpp  # noqa: F401
PY
}

if [[ -x "$VENV_DIR/bin/python" ]] && check; then
  exit 0
fi

if [[ ! -x "$VENV_DIR/bin/python" ]]; then
  echo "setup-reference: creating $VENV_DIR"
  "$PYTHON" -m venv "$VENV_DIR"
fi
"$VENV_DIR/bin/python" -m pip install -q --upgrade pip setuptools wheel
echo "setup-reference: installing ${PY_PACKAGES[*]}"
"$VENV_DIR/bin/python" -m pip install -q "${PY_PACKAGES[@]}"

if ! "$VENV_DIR/bin/python" -c "import llama_cpp" 2>/dev/null; then
  echo "setup-reference: building $LLAMA_CPP from source (slow)"
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON}" \
  MAX_JOBS="${MAX_JOBS:-2}" \
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    "$VENV_DIR/bin/python" -m pip install -q --no-cache-dir "$LLAMA_CPP"
fi

if ! check; then
  echo "setup-reference: $VENV_DIR is incomplete" >&2
  exit 1
fi
