#!/usr/bin/env bash
# Thread scaling of compiled models: a linear layer shaped like LLM decode
# (1 token, 4096 -> 4096, 64 MB of f32 weights: larger than L3) and prefill
# (32 tokens, 2048 -> 2048), float and W4 g32, each compiled by nibblec to a
# shared library and timed by nibble-bench at 1 and 2 threads in one run.
#
#   bench/threads.sh [BUILD_DIR]     (default: build; run scripts/build.sh first)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-$ROOT/build}"
PYTHON="${NIBBLE_PYTHON:-$HOME/.cache/nibble/venv/bin/python}"
cmake --build "$BUILD_DIR" --target nibblec nibble-bench >/dev/null
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

for shape in "decode 1 4096 4096" "prefill 32 2048 2048"; do
  read -r name tokens d_in d_out <<<"$shape"
  mkdir -p "$WORK/$name"
  PYTHONPATH="$ROOT/test/python" "$PYTHON" "$ROOT/bench/make_linear_model.py" \
    "$WORK/$name" "$tokens" "$d_in" "$d_out"
  for scheme in f32 "w4, group = 32"; do
    lib="$WORK/$name/${scheme//[ ,=]/}.so"
    args=()
    [[ "$scheme" != f32 ]] && args=(--scheme="$scheme")
    "$BUILD_DIR/bin/nibblec" "$WORK/$name/linear.mlir" --entry=linear \
      "${args[@]}" --emit=lib -o "$lib"
    echo "== $name ($tokens x $d_in -> $d_out), $scheme"
    "$BUILD_DIR/bin/nibble-bench" "$lib" --threads=1,2 --iterations=5
  done
done
