#!/usr/bin/env python3
"""Time of the same linears compiled by two nibblec binaries (decode or prefill).

    ~/.cache/nibble/venv/bin/python bench/compare_nibblec.py \\
        --old /tmp/nibblec-old --new build/bin/nibblec \\
        --shapes llama --schemes w4a8g128,w8a8 [--threads 1,2] [--m 128]

A before/after measurement of a kernel change in one run: for each shape and
scheme, both binaries compile the benchmark's model (bench/kernel_models.py:
L copies of W rotated through more than the L3, as bench/kernels.py does;
each binary's libraries cached under --cache-dir/old and /new) and
nibble-kernel-bench times each library's entry for M tokens (--m: 1, decode,
by default; with M > 1 one copy of W, which stays in cache) `--rounds` times,
alternating old and new so that both see the same machine. A row prints the
fastest time per linear of each binary, its GB/s of weight traffic (M = 1)
or GFLOP/s (M > 1) and the ratio old / new (> 1: the new binary is faster).

Keep a copy of the old binary before rebuilding (`cp build/bin/nibblec
/tmp/nibblec-old`); nothing is rebuilt here.
"""

import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import kernel_models as km  # noqa: E402


def int_list(text):
    return [int(part) for part in text.split(",") if part]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the nibblec to beat")
    parser.add_argument("--new", required=True, help="the changed nibblec")
    parser.add_argument("--shapes", default="llama",
                        help="NxK list, or llama, smollm2, gemma3, all")
    parser.add_argument("--schemes", default="w4a8g128,w8a8",
                        help=f"comma-separated, of {', '.join(km.SCHEMES)}")
    parser.add_argument("--threads", type=int_list, default=[1, 2])
    parser.add_argument("--m", type=int, default=1,
                        help="tokens per call (1: decode)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternating old/new measurements per library")
    parser.add_argument("--flush-mib", type=int, default=64)
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--cache-dir", default=os.path.join(
        os.environ.get("NIBBLE_CACHE_DIR",
                       os.path.expanduser("~/.cache/nibble")),
        "bench", "compare"))
    args = parser.parse_args()

    bench = os.path.join(args.build_dir, "bin", "nibble-kernel-bench")
    if not os.access(bench, os.X_OK):
        parser.error(f"{bench} is missing; build nibble-kernel-bench")
    for scheme in args.schemes.split(","):
        if scheme not in km.SCHEMES:
            parser.error(f"unknown scheme {scheme!r}")
    compilers = {name: km.Compiler(path, os.path.join(args.cache_dir, name),
                                   True)
                 for name, path in (("old", args.old), ("new", args.new))}
    threads = ",".join(map(str, args.threads))
    m = args.m
    unit = "GB/s of weights" if m == 1 else "GFLOP/s"
    print(f"M = {m}, ms per linear ({unit}); old {args.old}, "
          f"new {args.new}; fastest of {args.rounds} rounds")
    print("| N×K | scheme | " + " | ".join(
        f"old {t}T | new {t}T | old/new {t}T" for t in args.threads) + " |")
    print("|---|---|" + "---|---|---|" * len(args.threads))
    for n, k in km.parse_shapes(args.shapes):
        for scheme in args.schemes.split(","):
            if not km.scheme_applies(k, scheme):
                continue
            copies = km.decode_copies(n, k, scheme) if m == 1 else 1
            libraries = {name: compiler.library(n, k, scheme, "fast", copies,
                                                [m])
                         for name, compiler in compilers.items()}
            times = {}
            for _ in range(args.rounds):
                for name, library in libraries.items():
                    output = subprocess.run(
                        [bench, "model", library, f"--entries=m{m}",
                         f"--threads={threads}", "--runs=5",
                         f"--flush-mib={args.flush_mib if m == 1 else 0}"],
                        capture_output=True, text=True, check=True).stdout
                    for t, ms in re.findall(r"threads=(\d+).* ms=([\d.]+)",
                                            output):
                        times.setdefault((name, int(t)), []).append(
                            float(ms) / copies)
            # Bytes of weights (decode) or FLOPs (prefill) per millisecond.
            work = (km.expected_weight_bytes(n, k, scheme) if m == 1 else
                    2.0 * m * n * k)
            cells = []
            for t in args.threads:
                old, new = min(times[("old", t)]), min(times[("new", t)])
                cells += [f"{old:.3f} ({work / old / 1e6:.1f})",
                          f"{new:.3f} ({work / new / 1e6:.1f})",
                          f"{old / new:.2f}"]
            print(f"| {n}×{k} | {scheme} | " +
                  " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
