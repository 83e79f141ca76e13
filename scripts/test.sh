#!/usr/bin/env bash
#===- scripts/test.sh - Set up, build and run every nibble test -----------===#
# Runs the lit suites (FileCheck, verifier diagnostics, end-to-end) and the
# GoogleTest unit tests, then prints "N passed, N failed".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$ROOT/build"

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" "$BUILD_DIR"

LOG="$BUILD_DIR/lit-results.txt"
status=0
/usr/lib/llvm-22/bin/lit -sv "$BUILD_DIR/test" "$BUILD_DIR/test/Unit" \
  | tee "$LOG" || status=$?
# lit ends with lines like "  Passed: 257 (100.00%)".
count() {
  awk -v key="$1" '$1 == key ":" { n += $2 } END { print n + 0 }' "$LOG"
}
passed=$(count Passed)
failed=$(count Failed)
echo "$passed passed, $failed failed"
exit $status
