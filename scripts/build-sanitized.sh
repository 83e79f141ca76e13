#!/usr/bin/env bash
#===- scripts/build-sanitized.sh - The ASan+UBSan build and the fuzzers ----===#
# Usage: scripts/build-sanitized.sh [build-dir]   (default: build-asan)
#
# Configures (once) and builds the whole project -- compiler, runtime, tools,
# unit tests -- with clang-22, -fsanitize=address,undefined and libFuzzer's
# coverage instrumentation (NIBBLE_SANITIZE=ON), plus the fuzz harnesses in
# <build-dir>/bin/fuzz, then gathers the fuzzers' seed corpora from the test
# data into <build-dir>/fuzz/corpus (docs/Fuzzing.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-$ROOT/build-asan}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/nibble/ccache}"
# Paths below the clone are hashed relative to it, so a fresh clone elsewhere
# (CI's) reuses the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"
PYTHON="${NIBBLE_PYTHON:-$HOME/.cache/nibble/venv/bin/python}"

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  # -O1 and line tables: the usual sanitizer trade-off of build time, run
  # time and readable stacks.
  cmake -G Ninja -S "$ROOT" -B "$BUILD_DIR" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_C_FLAGS_RELEASE="-O1 -gline-tables-only -DNDEBUG" \
    -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only -DNDEBUG" \
    -DNIBBLE_SANITIZE=ON \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >/dev/null
fi
cmake --build "$BUILD_DIR" --target nibble-opt nibble-run nibble-test-depends \
  nibble-fuzzers
"$PYTHON" "$ROOT/fuzz/gather_corpus.py" --out "$BUILD_DIR/fuzz/corpus"
