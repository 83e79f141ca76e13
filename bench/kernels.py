#!/usr/bin/env python3
"""The kernel benchmark (issue 9, section 3): linear layers y[M,N] = x[M,K] · W[N,K]ᵀ.

    ~/.cache/nibble/venv/bin/python bench/kernels.py [--quick]
        [--shapes 4096x4096,smollm2] [--m 1,8] [--schemes f32,w4g32]
        [--threads 1,2] [--kernels reference,fast]

For every shape (N×K), scheme and M, it compiles the linear with nibblec
(both lowerings: `--kernels=reference` and `--kernels=fast`, when nibblec
has the flag; without it, nibblec's only lowering, the reference one) and
times it with build/bin/nibble-kernel-bench (bench/KernelBench.cpp) at each
thread count, next to OpenBLAS cblas_sgemm (f32) on the same M, N, K and
thread count and the machine's DRAM read bandwidth, all measured in this
run. It prints one markdown table per shape, then summaries.

Models (bench/kernel_models.py). A library per (shape, scheme, lowering, M
class) holds the entries `m<M>` (x [M, K] -> outputs [M, N]) over
module-level weights (nibble.global, random N(0, 1/K) float32 in a
safetensors archive, fixed seed; RTN quantizes them at compile time with
`--scheme`):
  decode  (M <= 8): L distinct copies of W, and each entry applies all L to
          the same x (L outputs), L the smallest count with L × the
          scheme's weight bytes > 64 MiB (twice the 32 MiB L3); time per
          linear = time / L. Every run (OpenBLAS's too) is preceded by an
          untimed read of --flush-mib (256) MiB that evicts the caches, so
          the weights come from DRAM: cycling through 64 MiB is not enough
          on this machine, whose L3 keeps part of such a cycle (a streaming
          read of a 64 MiB buffer ran at ~35 GB/s, of 256 MiB and more at
          ~22, one thread).
  prefill (M > 8): one copy (compute-bound; small weights stay in cache, as
          they do for OpenBLAS).
OpenBLAS rotates through as many f32 copies as the f32 decode library.
OpenBLAS runs its AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX) where the CPU
has AVX-512F: Debian's 0.3.21 does not know this machine's CPU (family 26)
and the environment here sets OPENBLAS_CORETYPE=Haswell, whose AVX2 kernels
are 2-2.5x slower at M = 128 (--openblas-coretype=env keeps the inherited
value). The header line names the kernels used.
Libraries are cached under ~/.cache/nibble/bench/kernels/ (key: the module
text, the weight generator, scheme, lowering and nibblec's bytes), least
recently used first out beyond --cache-limit-gb.

Schemes: f32 (no quantization), w8 = `w8, channel, sym`, w4g32 = `w4, group
= 32, sym`, w4g128 = `w4, group = 128, sym` (f32 scales); w8a8, w4a8g32,
w4a8g128 the same with `act = int8_dynamic`; q8_0 = `w8, group = 32, sym,
scale = f16` and q4_0 = `w4, group = 32, sym, scale = f16` (what nibble keeps
of GGUF's Q8_0 and Q4_0). A group must divide K: w4g128 is left out for
K = 576 (most of SmolLM2's shapes).
Shapes (N×K): llama = 4096x4096, 11008x4096, 4096x11008 (Llama-7B's q/k/v/o,
gate/up, down); smollm2 = 576x576, 192x576, 1536x576, 576x1536, 49152x576
(SmolLM2-135M's q/o, k/v, gate/up, down, lm_head); gemma3 = 1024x640,
256x640, 640x1024, 2048x640, 640x2048, 262144x640 (Gemma 3 270M's q, k/v, o,
gate/up, down, lm_head).
--quick: shapes 4096x4096 and 1536x576, M = 1 and 128.

Columns: ms per linear (median of the timed runs after one warm-up run; at
least --runs runs and more until --min-time s), weight GB/s (the scheme's
bytes of one linear, codes and scales as stored in the library's weights
file, / time), % of the DRAM read bandwidth at the same thread count (the
best of `nibble-kernel-bench dram` over 1, 2, 4 and 8 runs read side by side
per thread and over two measurements, at the start and at the end),
GFLOP/s (2·M·N·K / time) and % of OpenBLAS's GFLOP/s, for each lowering, and
reference time / fast time. "others %": the CPU share the machine's other
processes used while OpenBLAS / reference / fast were measured (a shared
machine; before each measurement the script waits up to --wait-quiet s for
them to leave the CPUs it needs).

Needs: numpy (the venv of scripts/setup.sh), OpenBLAS (libopenblas-dev) for
the sgemm columns. Builds nibblec and nibble-kernel-bench in --build-dir
first (incremental; --no-build skips it).
"""

import argparse
import os
import subprocess
import sys
import time

from kernel_models import (DECODE_MAX_M, DEFAULT_M, QUICK_M, QUICK_SHAPES,
                           SCHEMES, Compiler, decode_copies, parse_shapes,
                           scheme_applies, shape_label)
from kernel_report import RunResults, report
from machine import OthersMeter, quiet_threshold, wait_quiet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE_DIR = os.environ.get(
    "NIBBLE_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "nibble"))


def log(message):
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Measurements: nibble-kernel-bench in child processes.
# --------------------------------------------------------------------------

def parse_lines(text):
    """[(kind, {key: value})] of the key=value lines of nibble-kernel-bench."""
    records = []
    for line in text.splitlines():
        parts = line.split()
        if not parts or "=" in parts[0]:
            continue
        fields = {}
        for part in parts[1:]:
            key, _, value = part.partition("=")
            fields[key] = value
        records.append((parts[0], fields))
    return records


def blas_environment(coretype):
    """The environment of nibble-kernel-bench: OPENBLAS_CORETYPE as
    --openblas-coretype says. "auto": SkylakeX (OpenBLAS's AVX-512 kernels)
    on a CPU with AVX-512F, as OpenBLAS 0.3.21 does not recognize every such
    CPU (this machine's family 26) and an inherited OPENBLAS_CORETYPE may
    name an older core; "env": as inherited; else that core name."""
    env = dict(os.environ)
    if coretype == "auto":
        try:
            with open("/proc/cpuinfo") as f:
                avx512 = " avx512f" in f.read()
        except OSError:
            avx512 = False
        if avx512:
            env["OPENBLAS_CORETYPE"] = "SkylakeX"
    elif coretype != "env":
        env["OPENBLAS_CORETYPE"] = coretype
    return env


class Runner:
    """Runs nibble-kernel-bench, waiting for a quiet machine when the last
    measurement saw the other processes busy, and recording how busy."""

    def __init__(self, binary, args):
        self.binary = binary
        self.args = args
        self.last_others = None  # Unknown: check before the first run.
        self.raw = []

    def timing_flags(self):
        return [f"--warmup={self.args.warmup}", f"--runs={self.args.runs}",
                f"--min-time={self.args.min_time}"]

    def run(self, arguments, threads):
        """Runs one subcommand at `threads`; returns (records, others)."""
        threshold = quiet_threshold(self.args.quiet, threads)
        if (self.args.wait_quiet > 0 and
                (self.last_others is None or self.last_others >= threshold)):
            wait_quiet(self.args.quiet, threads, self.args.wait_quiet, log)
        env = blas_environment(self.args.openblas_coretype)
        if arguments[0] != "sgemm":
            # OpenBLAS starts its threads when loaded; keep it to none where
            # it is not measured.
            env["OPENBLAS_NUM_THREADS"] = "1"
        command = [self.binary] + arguments + [f"--threads={threads}"]
        command += self.timing_flags()
        with OthersMeter() as meter:
            result = subprocess.run(command, capture_output=True, text=True,
                                    env=env)
        if result.returncode != 0:
            raise SystemExit(f"kernels.py: {' '.join(command)} failed:\n"
                             f"{result.stderr}")
        self.last_others = meter.others
        for line in result.stdout.splitlines():
            self.raw.append(f"{line} others={meter.others:.2f}")
        return parse_lines(result.stdout), meter.others


# --------------------------------------------------------------------------
# Main.
# --------------------------------------------------------------------------

def int_list(text):
    return [int(x) for x in text.split(",") if x.strip()]


def parse_arguments():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="shapes 4096x4096,1536x576 and M 1,128 (unless "
                             "--shapes / --m say otherwise)")
    parser.add_argument("--shapes", help="NxK list, or llama, smollm2, all "
                                         "(default all)")
    parser.add_argument("--m", type=int_list, help="default 1,8,32,128,512")
    parser.add_argument("--schemes", default="f32,w8,w4g32,w4g128",
                        help="of " + ", ".join(SCHEMES))
    parser.add_argument("--threads", type=int_list, default=[1, 2])
    parser.add_argument("--kernels", default="reference,fast",
                        help="lowerings to compare (nibblec --kernels); "
                             "without the flag, only nibblec's default, "
                             "reported as reference")
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--no-build", action="store_true",
                        help="do not build nibblec and nibble-kernel-bench")
    parser.add_argument("--cache-dir",
                        default=os.path.join(CACHE_DIR, "bench", "kernels"))
    parser.add_argument("--cache-limit-gb", type=float, default=10.0)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3,
                        help="timed runs at least")
    parser.add_argument("--min-time", type=float, default=0.5,
                        help="timed runs go on until this many seconds")
    parser.add_argument("--dram-mib", type=int, default=512)
    parser.add_argument("--flush-mib", type=int, default=256,
                        help="decode: read this many MiB before every run, "
                             "untimed, to evict the caches (0: do not)")
    parser.add_argument("--openblas-coretype", default="auto",
                        help="OPENBLAS_CORETYPE for sgemm: auto (SkylakeX "
                             "where the CPU has AVX-512F), env (as "
                             "inherited), or a core name (Haswell, ...)")
    parser.add_argument("--quiet", type=float, default=0.15)
    parser.add_argument("--wait-quiet", type=int, default=60,
                        help="seconds to wait at most for the other "
                             "processes to leave the CPUs (0: never)")
    parser.add_argument("--json", help="also write every number to this file")
    parser.add_argument("--report-from", metavar="JSON",
                        help="print the tables of a run saved with --json "
                             "and stop")
    parser.add_argument("--compile-only", action="store_true",
                        help="fill the cache with the libraries and stop "
                             "(compiling needs no quiet machine)")
    args = parser.parse_args()
    args.shapes = parse_shapes(args.shapes or (
        ",".join(f"{n}x{k}" for n, k in QUICK_SHAPES) if args.quick else "all"))
    args.m = sorted(set(args.m or (QUICK_M if args.quick else DEFAULT_M)))
    args.schemes = [s for s in args.schemes.split(",") if s]
    for scheme in args.schemes:
        if scheme not in SCHEMES:
            raise SystemExit(f"kernels.py: unknown scheme '{scheme}' "
                             f"(of {', '.join(SCHEMES)})")
    args.kernels = [k for k in args.kernels.split(",") if k]
    return args


def measure(args, run):
    """Builds, compiles and measures what `args` selects into `run`."""
    bin_dir = os.path.join(args.build_dir, "bin")
    if not args.no_build:
        subprocess.run(["cmake", "--build", args.build_dir, "--target",
                        "nibblec", "nibble-kernel-bench"], check=True,
                       stdout=subprocess.DEVNULL)
    nibblec = os.path.join(bin_dir, "nibblec")
    bench = os.path.join(bin_dir, "nibble-kernel-bench")
    help_text = subprocess.run([nibblec, "--help"], capture_output=True,
                               text=True).stdout
    kernels_flag = "--kernels" in help_text
    if not kernels_flag:
        log("nibblec has no --kernels: measuring its one lowering, the "
            "reference")
        run.kernels = ["reference"]
    run.openblas = parse_lines(subprocess.run(
        [bench, "info"], capture_output=True, text=True, check=True,
        env=blas_environment(args.openblas_coretype)).stdout)[0][1]
    have_blas = run.openblas.get("openblas") == "1"
    if not have_blas:
        log("nibble-kernel-bench was built without OpenBLAS: no sgemm "
            "columns (install libopenblas-dev and rebuild)")

    compiler = Compiler(nibblec, args.cache_dir, kernels_flag)
    runner = Runner(bench, args)
    log(f"kernel bench: shapes {run.shapes}, M {run.ms}, schemes "
        f"{run.schemes}, threads {run.threads}, lowerings {run.kernels}")

    def dram():
        result = {}
        for threads in run.threads:
            records, _ = runner.run(["dram", f"--mib={args.dram_mib}"],
                                    threads)
            # The best of the stream counts (runs read side by side).
            result[threads] = max(float(r["gbps"]) for _, r in records)
            log(f"  DRAM read GB/s, {threads} thread(s): " + ", ".join(
                f"{r['streams']} stream(s) {float(r['gbps']):.2f}"
                for _, r in records))
        return result

    # Measured at the start, after each shape and at the end: the machine is
    # a VM whose memory bandwidth drifts; the best is the denominator.
    if not args.compile_only:
        run.dram.append(("start", dram()))
    for n, k in run.shapes:
        log(f"== {n}x{k} {shape_label(n, k)}")
        classes = [("decode", [m for m in run.ms if m <= DECODE_MAX_M]),
                   ("prefill", [m for m in run.ms if m > DECODE_MAX_M])]
        for cls, ms in classes:
            if not ms:
                continue
            # Entries: the default M of the class too, so filtered runs
            # reuse the libraries of a full one.
            entries = sorted(set(ms) | {
                m for m in DEFAULT_M
                if (m <= DECODE_MAX_M) == (cls == "decode")})
            flush = ([f"--flush-mib={args.flush_mib}"]
                     if cls == "decode" and args.flush_mib else [])
            if have_blas and not args.compile_only:
                copies = decode_copies(n, k, "f32") if cls == "decode" else 1
                for threads in run.threads:
                    records, others = runner.run(
                        ["sgemm", "--m=" + ",".join(map(str, ms)), f"--n={n}",
                         f"--k={k}", f"--copies={copies}"] + flush, threads)
                    for _, r in records:
                        run.times[(n, k, int(r["m"]), "f32", threads,
                                   "openblas")] = (float(r["ms"]), others)
                        if float(r["max_rel_err"]) > 1e-4:
                            log(f"  warning: OpenBLAS's result is off by "
                                f"{r['max_rel_err']} (relative)")
            for scheme in run.schemes:
                if not scheme_applies(k, scheme):
                    continue
                copies = decode_copies(n, k, scheme) if cls == "decode" else 1
                for kernels in run.kernels:
                    library = compiler.library(n, k, scheme, kernels, copies,
                                               entries)
                    if args.compile_only:
                        continue
                    for threads in run.threads:
                        records, others = runner.run(
                            ["model", library, "--entries=" + ",".join(
                                f"m{m}" for m in ms)] + flush, threads)
                        for _, r in records:
                            m = int(r["entry"][1:])
                            run.weight_bytes[(n, k, scheme, kernels, cls)] = (
                                float(r["weight_bytes"]) / copies)
                            ms_per_linear = float(r["ms"]) / int(r["outputs"])
                            run.times[(n, k, m, scheme, threads, kernels)] = (
                                ms_per_linear, others)
                            log(f"  M={m:<4} {scheme:<6} {kernels:<9} "
                                f"{threads}T L={copies:<4} "
                                f"{ms_per_linear:10.4f} ms/linear "
                                f"(others {others:.0%})")
        if not args.compile_only:
            run.dram.append((f"after {n}×{k}", dram()))
    compiler.prune(args.cache_limit_gb * 1e9)
    log("raw measurements:\n" + "\n".join(runner.raw))


def main():
    args = parse_arguments()
    if args.report_from:
        print(report(RunResults.load(args.report_from)))
        return
    run = RunResults("bench/kernels.py " + " ".join(sys.argv[1:]),
                     time.strftime("%Y-%m-%d %H:%M"), None, args.shapes,
                     args.m, args.schemes, args.threads, args.kernels)
    measure(args, run)
    if args.compile_only:
        return
    if args.json:
        run.save(args.json)
    print(report(run))


if __name__ == "__main__":
    main()
