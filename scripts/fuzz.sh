#!/usr/bin/env bash
#===- scripts/fuzz.sh - Run nibble's fuzz harnesses -----------------------===#
#
# Usage: scripts/fuzz.sh [options] [SECONDS | -runs=N] [HARNESS...]
#
#   SECONDS        run each harness this long (default 60)
#   -runs=N        stop a harness after N executions (or SECONDS, whichever
#                  comes first)
#   HARNESS...     which harnesses (default: every one in <build>/bin/fuzz)
#   --smoke        the test suite's deterministic check: -seed=1, a fixed
#                  number of runs (-runs=N, default 1000) over the seed corpus
#                  (left untouched), after every reproducer in
#                  fuzz/regressions/<HARNESS>/
#   --jobs=J       harnesses run J at a time (default 1)
#   --keep-going   long runs go on past a crash, leak or timeout (libFuzzer's
#                  -fork=1 -ignore_crashes=1 ...), saving every reproducer
#   --build=DIR    the sanitized build (default build-asan, made by
#                  scripts/build-sanitized.sh)
#   --work=DIR     long runs keep their growing corpus, crash reproducers
#                  and logs here (default ~/.cache/nibble/fuzz), seeded
#                  from <build>/fuzz/corpus
#
# Prints one line per harness, "<harness>: <runs> runs in <s> s, cov <c>
# ft <f>, <k> crashes", then "fuzz: N passed, N failed"; exits non-zero if
# a harness found anything (crash, leak, sanitizer report, timeout, OOM).
# Reproducers go to <work>/crashes/<harness>/; replay one with
#   build-asan/bin/fuzz/<harness> <file>
# and commit it under fuzz/regressions/<harness>/ (docs/Fuzzing.md).
#
#===----------------------------------------------------------------------===#
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$ROOT/build-asan"
WORK_DIR="${NIBBLE_CACHE_DIR:-$HOME/.cache/nibble}/fuzz"
SECONDS_EACH=60
RUNS=""
SMOKE=0
KEEP_GOING=0
JOBS=1
HARNESSES=()
for arg in "$@"; do
  case "$arg" in
    --smoke) SMOKE=1 ;;
    --keep-going) KEEP_GOING=1 ;;
    --jobs=*) JOBS="${arg#--jobs=}" ;;
    --build=*) BUILD_DIR="${arg#--build=}" ;;
    --work=*) WORK_DIR="${arg#--work=}" ;;
    -runs=*) RUNS="${arg#-runs=}" ;;
    -h|--help) awk 'NR > 2 && /^#===/ {exit} NR > 2 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}"; exit 0 ;;
    [0-9]*) SECONDS_EACH="$arg" ;;
    -*) echo "fuzz.sh: unknown option $arg" >&2; exit 2 ;;
    *) HARNESSES+=("$arg") ;;
  esac
done
FUZZ_BIN="$BUILD_DIR/bin/fuzz"
SEEDS="$BUILD_DIR/fuzz/corpus"
if [[ ! -d "$FUZZ_BIN" ]]; then
  echo "fuzz.sh: no harnesses in $FUZZ_BIN; run scripts/build-sanitized.sh" >&2
  exit 2
fi
if ((${#HARNESSES[@]} == 0)); then
  for exe in "$FUZZ_BIN"/*Fuzzer; do HARNESSES+=("$(basename "$exe")"); done
fi

# The dictionary of each harness (fuzz/dicts).
dict_of() {
  case "$1" in
    OnnxImportFuzzer) echo onnx ;;
    *SafeTensorsFuzzer) echo safetensors ;;
    *NpyFuzzer) echo npy ;;
    NibbleIrFuzzer) echo mlir ;;
    NibbleSchemeFuzzer) echo scheme ;;
    GgufFuzzer) echo gguf ;;
    TokenizerJsonFuzzer) echo tokenizer_json ;;
  esac
}

# Sanitizers stop at the first report, with a symbolized stack. (The
# harnesses' own defaults are in fuzz/SanitizerOptions.cpp.)
export ASAN_OPTIONS="${ASAN_OPTIONS:-allow_user_poisoning=0:detect_leaks=1:halt_on_error=1:print_stacktrace=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-22/bin/llvm-symbolizer}"

# Runs one harness; its summary line goes to stdout, status to the caller.
run_one() {
  local name="$1" exe="$FUZZ_BIN/$1" dict status=0
  dict="$ROOT/fuzz/dicts/$(dict_of "$name").dict"
  local args=(-rss_limit_mb=4096 -timeout=60 -print_final_stats=1)
  [[ -f "$dict" ]] && args+=(-dict="$dict")
  if [[ ! -x "$exe" ]]; then
    echo "$name: no such harness in $FUZZ_BIN"; return 1
  fi
  local tmp log crash_dir corpus
  tmp="$(mktemp -d)"
  if ((SMOKE)); then
    log="$tmp/log"
    crash_dir="$tmp/crashes"
    mkdir -p "$crash_dir" "$tmp/new"
    # Every committed reproducer must pass.
    local regressions=()
    if [[ -d "$ROOT/fuzz/regressions/$name" ]]; then
      while IFS= read -r -d '' f; do regressions+=("$f"); done < \
        <(find "$ROOT/fuzz/regressions/$name" -type f ! -name '*.md' -print0 | sort -z)
    fi
    local broken=0
    for f in "${regressions[@]}"; do
      if ! "$exe" "${args[@]}" "$f" >"$tmp/regression.log" 2>&1; then
        grep -a -E "ERROR: |runtime error|SUMMARY|nibble fuzz harness" \
          "$tmp/regression.log" | head -5 >&2
        echo "$name: reproducer ${f#"$ROOT/"} fails"
        broken=$((broken + 1))
      fi
    done
    if ((broken)); then
      rm -rf "$tmp"; return 1
    fi
    # New inputs go to a scratch directory: the seed corpus stays as built.
    "$exe" "${args[@]}" -seed=1 -runs="${RUNS:-1000}" \
      -artifact_prefix="$crash_dir/" "$tmp/new" "$SEEDS/$name" >"$log" 2>&1 ||
      status=$?
  else
    corpus="$WORK_DIR/corpus/$name"
    crash_dir="$WORK_DIR/crashes/$name"
    log="$WORK_DIR/logs/$name.log"
    mkdir -p "$corpus" "$crash_dir" "$WORK_DIR/logs"
    local limit=(-max_total_time="$SECONDS_EACH")
    [[ -n "$RUNS" ]] && limit+=(-runs="$RUNS")
    ((KEEP_GOING)) && limit+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1
                              -ignore_ooms=1)
    "$exe" "${args[@]}" "${limit[@]}" -artifact_prefix="$crash_dir/" \
      "$corpus" "$SEEDS/$name" >"$log" 2>&1 || status=$?
  fi
  local stats runs secs cov ft crashes
  # A plain run ends with "Done N runs in S second(s)"; a fork-mode run's
  # last status line reads "#N: cov: ... time: S job: ...".
  stats=$(grep -a -E '^#[0-9]+' "$log" | tail -1)
  runs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$log" | tail -1)
  secs=$(awk '/^Done [0-9]+ runs in/ {print $5}' "$log" | tail -1)
  [[ -z "$runs" ]] && runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$stats")
  [[ -z "$secs" ]] && secs=$(sed -n 's/.* time: \([0-9]*\)s.*/\1/p' <<<"$stats")
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$stats")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$stats")
  crashes=$(find "$crash_dir" -type f | wc -l)
  echo "$name: ${runs:-?} runs in ${secs:-?} s, cov ${cov:-?} ft ${ft:-?}, $crashes crashes (exit $status)"
  if ((status != 0)); then
    grep -a -E "ERROR: |runtime error|SUMMARY|nibble fuzz harness|Test unit written" "$log" | head -20 >&2
    ((SMOKE)) && tail -60 "$log" >&2
  fi
  rm -rf "$tmp"
  return $status
}

passed=0
failed=0
pids=()
results="$(mktemp -d)"
for name in "${HARNESSES[@]}"; do
  (run_one "$name" >"$results/$name.out"; echo $? >"$results/$name.rc") &
  pids+=($!)
  while (($(jobs -rp | wc -l) >= JOBS)); do wait -n; done
done
wait
for name in "${HARNESSES[@]}"; do
  cat "$results/$name.out"
  if [[ "$(cat "$results/$name.rc")" == 0 ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
rm -rf "$results"
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
