"""Checks the generated attention kernel against the reference lowering.

Usage: check_attention_kernels.py DIR [--aarch64 AARCH64_BIN]

Runs nibble.attention cases through nibble-run with --kernels=fast and
--kernels=reference and compares them. The caches hold NaN past start + T
(and before the sliding window), so any read outside the keys a query may
see poisons the output.

Bound: each output is Σ_j w_j v_j with softmax weights w. The two lowerings
differ in (1) the order of the D-term dot products: each score moves by at
most Δ = γ_D · scale · Σ_d |q_d k_jd|; (2) the exponentials: the kernel's
polynomial is within a few ulp (e = 8u allowed) where the reference calls
libm; (3) the order of the L-term sums. A relative change δ of the
unnormalized weights moves the output by at most 2δ·max|v|, so

    |o_fast - o_ref| <= (2·(2Δ + e) + 2·γ_L) · max_j |v_j|   per query,

with γ_n = n·u / (1 - n·u) and u = 2^-24.

With --aarch64 AARCH64_BIN (the directory of the cross-built nibble-run-lib)
the fast kernel is generated for AArch64 instead (nibblec --target=aarch64
--mattr=+neon,+dotprod,+i8mm --emit=lib, 4 lanes) and run under qemu-aarch64
on the same inputs; it is compared with this machine's --kernels=reference
output under the same bound (it follows from the operands and the
exponential's accuracy, not from the machine). The pass's remarks for that target must name a 4-lane
kernel, and the compiled library must define exactly that function.
"""

import argparse
import os
import re
import subprocess
import sys

import numpy as np
from check_kernels import (AARCH64_FEATURES, AARCH64_TRIPLE, compile_aarch64,
                           run_aarch64)

U = 2.0**-24
CAPACITY = 48
SCALE = 0.17677669  # 1 / sqrt(32)

# name: (tokens, start, window, query heads, kv heads, head size, value size)
CASES = {
    "prefill": (5, 0, 0, 4, 2, 32, 32),
    "chunk": (3, 17, 0, 6, 2, 32, 16),
    "decode_short": (1, 3, 0, 4, 1, 16, 16),
    "decode_long": (1, 40, 0, 6, 2, 32, 32),
    "window": (4, 30, 5, 4, 2, 32, 32),
    "narrow": (2, 9, 0, 2, 2, 12, 8),
}


def tensor(shape, element="f32"):
    return "tensor<" + "x".join(str(d) for d in shape) + f"x{element}>"


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return result.stdout


def aarch64_kernel(module):
    """The attention kernel nibble-cpu-select-kernels picks for AArch64 in
    `module` (None if it picks none), from its remarks; it must use 4
    lanes (128-bit NEON)."""
    result = subprocess.run(
        ["nibble-opt", module, "-o", os.devnull,
         f"--nibble-cpu-select-kernels=triple={AARCH64_TRIPLE} "
         f"features={AARCH64_FEATURES} remarks"],
        capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"nibble-cpu-select-kernels on {module} failed:\n"
                 f"{result.stderr}")
    names = re.findall(r"remark: kernel @(\w+) \((\d+) lanes\)",
                       result.stderr)
    if len(names) != 1 or names[0][1] != "4":
        return None
    return names[0][0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir")
    parser.add_argument("--aarch64", metavar="AARCH64_BIN",
                        help="generate the fast kernel for AArch64 and run "
                        "it under qemu with AARCH64_BIN/nibble-run-lib")
    args = parser.parse_args()
    out = os.path.abspath(args.dir)
    rng = np.random.default_rng(7)
    failures = 0
    for name, (tokens, start, window, hq, hkv, d, dv) in CASES.items():
        q = rng.standard_normal((tokens, hq, d)).astype(np.float32) * 2
        k = np.full((CAPACITY, hkv, d), np.nan, dtype=np.float32)
        v = np.full((CAPACITY, hkv, dv), np.nan, dtype=np.float32)
        end = start + tokens
        k[:end] = rng.standard_normal((end, hkv, d))
        v[:end] = rng.standard_normal((end, hkv, dv))
        if window:
            k[: max(0, start - window + 1)] = np.nan
            v[: max(0, start - window + 1)] = np.nan
        paths = {}
        for part, array in (("q", q), ("k", k), ("v", v),
                            ("start", np.array([start], dtype=np.int64))):
            paths[part] = f"{out}/{name}_{part}.npy"
            np.save(paths[part], array)
        qt, kt, vt = tensor(q.shape), tensor(k.shape), tensor(v.shape)
        ot = tensor((tokens, hq, dv))
        win = f" window = {window}" if window else ""
        module = f"{out}/{name}.mlir"
        with open(module, "w") as f:
            f.write(f"""func.func @attn(%q: {qt}, %k: {kt}, %v: {vt}, %s: tensor<1xi64>) -> {ot} {{
  %c0 = arith.constant 0 : index
  %s64 = tensor.extract %s[%c0] : tensor<1xi64>
  %start = arith.index_cast %s64 : i64 to index
  %y = nibble.attention %q, %k, %v start %start scale = {SCALE}{win} : ({qt}, {kt}, {vt}, index) -> {ot}
  return %y : {ot}
}}
""")
        inputs = [paths[part] for part in ("q", "k", "v", "start")]
        results = {}
        if args.aarch64:
            kernel = aarch64_kernel(module)
            if kernel is None:
                print(f"{name}: FAIL: no 4-lane AArch64 attention kernel")
                failures += 1
                continue
            library = f"{out}/{name}_aarch64.so"
            built = compile_aarch64(module, "attn", library)
            if built != {kernel}:
                print(f"{name}: FAIL: the AArch64 library defines "
                      f"{sorted(built)}, the pass chose {kernel}")
                failures += 1
                continue
            path = f"{out}/{name}_aarch64.npy"
            run_aarch64(args.aarch64, library, "attn", inputs, [path])
            results["fast"] = np.load(path).astype(np.float64)
        else:
            selected = run(["nibble-opt", module,
                            "--nibble-cpu-select-kernels"])
            if "nibble.kernel_call" not in selected:
                print(f"{name}: FAIL: no attention kernel")
                failures += 1
                continue
        for kernels in ("reference",) if args.aarch64 else ("fast",
                                                            "reference"):
            path = f"{out}/{name}_{kernels}.npy"
            command = ["nibble-run", module, "-e", "attn",
                       f"--kernels={kernels}", "--output", path]
            for input_path in inputs:
                command += ["--input", input_path]
            run(command)
            results[kernels] = np.load(path).astype(np.float64)
        fast, ref = results["fast"], results["reference"]
        worst = 0.0
        ok = np.all(np.isfinite(fast))
        group = hq // hkv
        for t in range(tokens):
            p = start + t
            first = max(0, p - window + 1) if window else 0
            length = p - first + 1
            for h in range(hq):
                keys = k[first:p + 1, h // group].astype(np.float64)
                vals = v[first:p + 1, h // group].astype(np.float64)
                delta = d * U / (1 - d * U) * SCALE * np.max(
                    np.abs(keys) @ np.abs(q[t, h].astype(np.float64)))
                gamma_l = length * U / (1 - length * U)
                bound = (2 * (2 * delta + 8 * U) + 2 * gamma_l) * np.max(
                    np.abs(vals))
                err = np.max(np.abs(fast[t, h] - ref[t, h]))
                if not err <= bound:
                    ok = False
                worst = max(worst, err / bound)
        failures += not ok
        target = "aarch64: " if args.aarch64 else ""
        print(f"{name}: {target}max |fast - ref| / bound = {worst:.3f} -> "
              f"{'ok' if ok else 'FAIL'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
