#!/usr/bin/env bash
#===- bench/llm-reference.sh - 16-window perplexity against the references -===#
#
# The issue-8 perplexity criterion in full, which the test suite checks on 2
# windows only (the reference lowering is scalar): for each model, nibblec
# compiles the float build and the build keeping the GGUF's quantization,
# nibble-run scores the first 16 windows of 512 tokens of the evaluation
# text (the Python tutorial, files in sorted order), and
# test/LLM/Inputs/check_reference.py compares them with the fixture:
# float vs transformers (0.5%, every window and the total), kept vs
# llama.cpp (1%, the total; single windows are printed, not judged:
# llama.cpp's 8-bit activations move them by up to ~2%).
#
#   bench/llm-reference.sh [smollm2|gemma3]...     (default: both)
#
# Minutes per model on 2 cores: SmolLM2 ~10, Gemma 3 ~40.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/build/bin"
PYTHON="$HOME/.cache/nibble/venv/bin/python"
CHECK="$ROOT/test/LLM/Inputs/check_reference.py"
MODELS="$HOME/.cache/nibble/models"
WORK="${WORK:-$ROOT/build/llm-reference}"
WINDOWS="${WINDOWS:-16}"
TEXT=(/usr/share/doc/python3.11/html/_sources/tutorial/*.rst.txt)
mkdir -p "$WORK"

run() {
  local name="$1" gguf="$2" fixture="$3"
  for variant in float kept; do
    local flags=() against=transformers
    if [[ $variant == kept ]]; then
      flags=(--keep-quantization)
      against=llamacpp
    fi
    local so="$WORK/$name-$variant.so"
    echo "== $name $variant: nibblec ${flags[*]:-} (then $WINDOWS windows)"
    "$BIN/nibblec" "$MODELS/$gguf" "${flags[@]}" --capacity 512 -o "$so"
    "$BIN/nibble-run" perplexity "$so" "${TEXT[@]}" --ctx 512 \
      --windows "$WINDOWS" --print-windows > "$WORK/$name-$variant.ppl.txt"
    tail -1 "$WORK/$name-$variant.ppl.txt"
    "$PYTHON" "$CHECK" ppl "$fixture" "$WORK/$name-$variant.ppl.txt" \
      --against "$against" || status=1
  done
}

status=0
for model in "${@:-smollm2 gemma3}"; do
  for m in $model; do
    case "$m" in
    smollm2) run smollm2 SmolLM2-135M-Instruct.Q4_1.gguf smollm2-135m ;;
    gemma3) run gemma3 gemma-3-270m-q4_k_m.gguf gemma3-270m ;;
    *) echo "unknown model '$m' (smollm2, gemma3)" >&2; exit 2 ;;
    esac
  done
done
exit $status
