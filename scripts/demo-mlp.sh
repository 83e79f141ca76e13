#!/usr/bin/env bash
#===- scripts/demo-mlp.sh - Set up, build, quantize and run a small MLP ---===#
#
# Builds nibble, makes the 2-layer MLP of the test suite (weights in a
# safetensors archive), runs it in float and after RTN quantization with
# several schemes through the JIT, and compares every output with numpy.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$ROOT/build"
PYTHON="$HOME/.cache/nibble/venv/bin/python"
INPUTS="$ROOT/test/E2E/Inputs"
DEMO="$BUILD_DIR/demo"
export PYTHONPATH="$ROOT/test/python"

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" "$BUILD_DIR"
BIN="$BUILD_DIR/bin"

rm -rf "$DEMO" && mkdir -p "$DEMO"
"$PYTHON" "$INPUTS/make_mlp.py" "$DEMO"
echo "== model: $DEMO/mlp.mlir (weights: $DEMO/mlp.safetensors)"

"$BIN/nibble-run" "$DEMO/mlp.mlir" -e mlp --input "$DEMO/x.npy" \
  --output "$DEMO/y_f32.npy"
"$PYTHON" "$INPUTS/check_mlp.py" "$DEMO" f32 "$DEMO/y_f32.npy"

run_scheme() {
  local name="$1" options="$2"
  "$BIN/nibble-opt" "$DEMO/mlp.mlir" \
    --nibble-rtn="$options output-weights=$DEMO/$name.safetensors" \
    -o "$DEMO/$name.mlir"
  "$BIN/nibble-run" "$DEMO/$name.mlir" -e mlp --input "$DEMO/x.npy" \
    --output "$DEMO/y_$name.npy"
  echo "== $name: nibble-rtn=\"$options\" ($(stat -c %s "$DEMO/$name.safetensors") bytes of weights)"
  "$PYTHON" "$INPUTS/check_mlp.py" "$DEMO" "$name" "$DEMO/y_$name.npy"
}
run_scheme w8_channel "bits=8 group=0"
run_scheme w4_g32_sym "bits=4 group=32"
run_scheme w4_g32_asym "bits=4 group=32 sym=false"
run_scheme nf4_g64 "format=nf4 group=64"
echo "== quantized IR (w4 g32 asym): $DEMO/w4_g32_asym.mlir"
cat "$DEMO/w4_g32_asym.mlir"
