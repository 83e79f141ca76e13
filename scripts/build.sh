#!/usr/bin/env bash
#===- scripts/build.sh - Configure and build nibble -----------------------===#
# Usage: scripts/build.sh [build-dir]   (default: build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-$ROOT/build}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/nibble/ccache}"
# Paths below the clone are hashed relative to it, so a fresh clone elsewhere
# (CI's) reuses the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD_DIR" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >/dev/null
fi
cmake --build "$BUILD_DIR" --target nibble-opt nibble-run nibble-test-depends
