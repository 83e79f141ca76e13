#!/usr/bin/env bash
#===- scripts/test.sh - Set up, build and run every nibble test -----------===#
# Runs the lit suites (FileCheck, verifier diagnostics, end-to-end) and the
# GoogleTest unit tests on the normal build (build/, g++), then the same
# suites again on the AddressSanitizer + UndefinedBehaviorSanitizer build
# (build-asan/, clang-22; scripts/build-sanitized.sh), which adds the fuzz
# harnesses' deterministic smoke runs (test/Fuzz) and compiled models under
# ASan (test/E2E/asan-models.test). Each stage prints its own summary line;
# the last line, "N passed, N failed", counts both. NIBBLE_SANITIZED=0 skips
# the sanitized stage.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$ROOT/build"
ASAN_BUILD_DIR="$ROOT/build-asan"
LIT=/usr/lib/llvm-22/bin/lit

"$ROOT/scripts/setup.sh"

# lit ends with lines like "  Passed: 257 (100.00%)", padded to
# "  Passed     : 257 (99.70%)" when other kinds (Unsupported) are listed.
count() {
  awk -v key="$1" '$1 == key && $2 == ":" { n += $3 }
                   $1 == key ":" { n += $2 } END { print n + 0 }' "$2"
}

status=0
start=$SECONDS
"$ROOT/scripts/build.sh" "$BUILD_DIR"
echo "build: $((SECONDS - start)) s"
start=$SECONDS
LOG="$BUILD_DIR/lit-results.txt"
$LIT -sv "$BUILD_DIR/test" "$BUILD_DIR/test/Unit" | tee "$LOG" || status=$?
passed=$(count Passed "$LOG")
failed=$(count Failed "$LOG")
echo "tests: $((SECONDS - start)) s"
echo "normal build: $passed passed, $failed failed"

if [[ "${NIBBLE_SANITIZED:-1}" != 0 ]]; then
  start=$SECONDS
  "$ROOT/scripts/build-sanitized.sh" "$ASAN_BUILD_DIR"
  echo "sanitized build: $((SECONDS - start)) s"
  start=$SECONDS
  ASAN_LOG="$ASAN_BUILD_DIR/lit-results.txt"
  $LIT -sv "$ASAN_BUILD_DIR/test" "$ASAN_BUILD_DIR/test/Unit" |
    tee "$ASAN_LOG" || status=$?
  asan_passed=$(count Passed "$ASAN_LOG")
  asan_failed=$(count Failed "$ASAN_LOG")
  echo "sanitized tests: $((SECONDS - start)) s"
  echo "sanitized (ASan+UBSan) build: $asan_passed passed, $asan_failed failed"
  passed=$((passed + asan_passed))
  failed=$((failed + asan_failed))
fi
echo "$passed passed, $failed failed"
exit $status
