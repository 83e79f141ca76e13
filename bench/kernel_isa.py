#!/usr/bin/env python3
"""The instruction mix of the generated kernels' inner loops (issue 9).

    ~/.cache/nibble/venv/bin/python bench/kernel_isa.py
        [--targets host,aarch64] [--schemes f32,w8,w4g32]
        [--shape 1x4096x4096] [--build-dir build] [--mnemonics]

qemu-aarch64 runs the AArch64 kernels correctly but its timing means
nothing, so they are judged by their code: for each target and scheme this
compiles a decode-shaped linear (bench/make_linear_model.py: x [1, 4096] ->
4096 outputs, with bias) with `nibblec --kernels=fast --emit=obj`,
disassembles the kernel functions (`__nibble_kernel_*`, with their outlined
`_parallel_task` bodies) with llvm-objdump, finds the innermost loops by
their backward branches and prints, for the loops that accumulate (hold
FMAs or integer dot products), how many instructions of each class one
iteration runs. No binary is built: it uses BUILD_DIR/bin/nibblec as it is.

Targets: host (this machine; nibblec's default), aarch64 (`--target=aarch64
--mattr=+neon,+dotprod,+i8mm`), avx2 (`--target=x86_64 --mattr=+avx2,+fma`).
Schemes: f32 (float weights), w8 (`w8, channel`), w4g32 (`w4, group = 32`),
w4g128, nf4g64 (`nf4, group = 64`), fp8 (`fp8, channel`).

Loops. A loop is the address range from a backward branch's target to the
branch (the code LLVM lays out contiguously; a block it moved out of the
range is not counted); innermost loops contain no other backward branch.
A linear kernel has two accumulating inner loops: the block of T tokens
(T × R accumulators: R output rows, T input rows) that prefill runs, and the
single token (R accumulators) that decode (M = 1) runs: the hot loop of a
decode-shaped linear. They are told apart by their number of accumulators
(FMA chains per iteration), whatever LLVM unrolled. The kernel configuration (lanes,
rows × tokens) comes from nibble-cpu-select-kernels' remarks.

Columns, per loop iteration: weights (weights it multiplies: FMAs × lanes
× rows / accumulators; a dot product counted as one FMA), insns / weight;
insns (all instructions); loads / stores
(instructions that read / write memory; on x86 a load folded into an
arithmetic instruction also counts in its class); stack (accesses through
sp / rsp: spills and reloads); then a partition of the instructions that
are not plain loads or stores: FMA (fmla, vfmadd...), dot (sdot, udot,
smmla, vpdpbusd...), fmul/fadd (other float arithmetic: scales), shift/and
(vector integer shifts and bit operations: unpacking codes), cvt/widen (int
<-> float conversions, zero/sign extensions: ushll, vpmovzxbd), perm/table
(permutes, shuffles, table lookups, lane moves: tbl, ext, vpermd), gather
(vector gathers, or lane-by-lane loads on NEON), vec int (vector integer
add/sub/mul/compare), mov/const (register copies, constants materialized in
the loop: signs of register pressure), scalar (general-register arithmetic
and branches: loop control and addresses), other. --mnemonics adds each
loop's instructions by mnemonic.
"""

import argparse
import datetime
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLVM_BIN = "/usr/lib/llvm-22/bin"

TARGETS = {
    "host": ([], "", ""),
    "aarch64": (["--target=aarch64", "--mattr=+neon,+dotprod,+i8mm"],
                "aarch64-unknown-linux-gnu", "+neon,+dotprod,+i8mm"),
    "avx2": (["--target=x86_64", "--mattr=+avx2,+fma"],
             "x86_64-unknown-linux-gnu", "+avx2,+fma"),
}
SCHEMES = {
    "f32": None,
    "w8": "w8, channel",
    "w4g32": "w4, group = 32",
    "w4g128": "w4, group = 128",
    "nf4g64": "nf4, group = 64",
    "fp8": "fp8, channel",
    "w8a8": "w8, channel, act = int8_dynamic",
    "w4a8g32": "w4, group = 32, act = int8_dynamic",
    "w4a8g128": "w4, group = 128, act = int8_dynamic",
}
COLUMNS = ["insns", "loads", "stores", "stack", "FMA", "dot", "fmul/fadd",
           "shift/and", "cvt/widen", "perm/table", "gather", "vec int",
           "mov/const", "scalar", "other"]
# Classes of the partition, in COLUMNS order.
CLASSES = COLUMNS[4:]

# --------------------------------------------------------------------------
# Instruction classes.
# --------------------------------------------------------------------------

A64_VECTOR_REG = re.compile(r"\b(v\d+\.|[qdshb]\d+\b|z\d+\.)")
A64 = {
    "FMA": re.compile(r"^(fmla|fmls|fmadd|fmsub|fnmadd|fnmsub|bfmla\w*|"
                      r"fmlal\w*|fmlsl\w*)$"),
    "dot": re.compile(r"^(sdot|udot|usdot|sudot|smmla|ummla|usmmla|bfdot|"
                      r"bfmmla)$"),
    "fmul/fadd": re.compile(r"^(fmul|fmulx|fadd|faddp|fsub|fdiv|fmax\w*|"
                            r"fmin\w*|fneg|fabs|frint\w*|fsqrt|frecp\w*|"
                            r"frsqrt\w*)$"),
    "shift/and": re.compile(r"^(ushr|sshr|shl|usra|ssra|ushl|sshl|urshr|"
                            r"srshr|sri|sli|and|bic|orr|orn|eor|not|mvn|bsl|"
                            r"bif|bit|cmtst)$"),
    "cvt/widen": re.compile(r"^(scvtf|ucvtf|fcvt\w*|ushll2?|sshll2?|uxtl2?|"
                            r"sxtl2?|xtn2?|sqxtn2?|uqxtn2?|sqxtun2?|shll2?|"
                            r"bfcvt\w*)$"),
    "perm/table": re.compile(r"^(tbl|tbx|zip[12]|uzp[12]|trn[12]|ext|rev\d+|"
                             r"dup|ins|umov|smov)$"),
    "vec int": re.compile(r"^(add|sub|mul|mla|mls|neg|addp|addv|uaddlv|"
                          r"saddlv|umax\w*|umin\w*|smax\w*|smin\w*|cm\w+|"
                          r"abs|uaddl2?|saddl2?|uaddw2?|saddw2?|umull2?|"
                          r"smull2?|umlal2?|smlal2?)$"),
    "mov/const": re.compile(r"^(mov|movi|mvni|fmov)$"),
}
X86 = {
    "FMA": re.compile(r"^v?f(n)?m(add|sub)(sub|add)?\d*[ps][sdh]$"),
    "dot": re.compile(r"^(vpdpbusds?|vpdpwssds?|vpmaddubsw|vpmaddwd|"
                      r"vdpbf16ps|vpdpbssds?|vpdpbuuds?)$"),
    "fmul/fadd": re.compile(r"^v?(mul|add|sub|div|max|min|hadd|sqrt|rcp|"
                            r"rsqrt)(p|s)[sdh]$|^vrcp14\w+|^vrsqrt14\w+"),
    "shift/and": re.compile(r"^v?(ps(rl|ll|ra)[wdq]|ps(rl|ll|ra)v[wdq]|"
                            r"pand[dq]?|pandn[dq]?|por[dq]?|pxor[dq]?|"
                            r"pternlog[dq]|andp[sd]|andnp[sd]|orp[sd]|"
                            r"xorp[sd])$"),
    "cvt/widen": re.compile(r"^v?(cvt\w+|pmov(zx|sx)\w+|pmov[dqw][bwd]|"
                            r"pmovus\w+|pmovs[dqw][bwd])$"),
    "perm/table": re.compile(r"^v?(perm\w*|pshuf\w*|shuf\w*|unpck\w+|"
                             r"punpck\w+|insert\w+|extract\w+|palignr|"
                             r"align[dq]|blend\w*|pblend\w*|movshdup|"
                             r"movsldup|movddup|pbroadcast\w*|broadcast\w*|"
                             r"pcompress\w*|pexpand\w*|compress\w*|"
                             r"expand\w*|pextr\w|pinsr\w)$"),
    "gather": re.compile(r"^v?p?gather\w+$"),
    "vec int": re.compile(r"^v?p(add|sub|mul|max|min|abs|cmp|avg|sad|sign)"
                          r"\w*$"),
    "mov/const": re.compile(r"^(v?mov(aps|apd|ups|upd|dqa\w*|dqu\w*|ss|sd|"
                            r"d|q)|kmov\w|kxor\w|kxnor\w|kor\w|kand\w)$"),
}
X86_PLAIN_MOVES = re.compile(r"^(v?mov(aps|apd|ups|upd|dqa\w*|dqu\w*|ss|sd|"
                             r"d|q|zx|sx|sxd|nt\w*)?|v?broadcast(ss|sd|"
                             r"f\w+|i\w+)|vpbroadcast[bwdq]|prefetch\w*)$")
X86_VECTOR_REG = re.compile(r"\b([xyz]mm\d+|k\d)\b")


def classify_aarch64(mnemonic, operands):
    """(class or None for a plain load/store, reads, writes, stack)."""
    stack = "[sp" in operands
    if mnemonic.startswith("ld") or mnemonic.startswith("prfm"):
        # Lane loads (ld1 {v0.s}[1], ...) are NEON's way to gather.
        lane = re.search(r"\}\s*\[\d+\]", operands)
        return ("gather" if lane else None), True, False, stack
    if mnemonic.startswith("st"):
        return None, False, True, stack
    vector = bool(A64_VECTOR_REG.search(operands))
    if mnemonic == "mov" and re.search(r"\.[bhsd]\[\d+\]", operands):
        return "perm/table", False, False, stack
    if mnemonic in ("dup",) and not re.search(r"\.[bhsd]\[\d+\]", operands):
        # dup v0.4s, w8: a splat of a general register.
        return "mov/const", False, False, stack
    for name, pattern in A64.items():
        if pattern.match(mnemonic):
            if name in ("shift/and", "vec int", "mov/const") and not vector:
                return "scalar", False, False, stack
            return name, False, False, stack
    if not vector:
        return "scalar", False, False, stack
    return "other", False, False, stack


def classify_x86(mnemonic, operands):
    """(class or None for a plain load/store, reads, writes, stack)."""
    parts = split_operands(operands)
    memory = [i for i, p in enumerate(parts) if "[" in p]
    lea = mnemonic == "lea"
    writes = bool(memory) and memory[0] == 0 and not lea and not \
        mnemonic.startswith(("cmp", "test", "prefetch"))
    reads = bool(memory) and not lea and (not writes or len(memory) > 1 or
                                          not X86_PLAIN_MOVES.match(mnemonic))
    stack = any("rsp" in parts[i] for i in memory) and not lea
    vector = bool(X86_VECTOR_REG.search(operands))
    if memory and not lea and X86_PLAIN_MOVES.match(mnemonic):
        return None, reads, writes, stack
    # Zero idioms: vxorps xmm1, xmm1, xmm1.
    if re.match(r"^v?p?xor(p[sd]|d|q)?$", mnemonic) and len(parts) >= 2 and \
            len(set(parts[-2:])) == 1:
        return "mov/const", reads, writes, stack
    for name, pattern in X86.items():
        if pattern.match(mnemonic):
            if name == "mov/const" and not vector:
                break
            return name, reads, writes, stack
    if not vector:
        return "scalar", reads, writes, stack
    return "other", reads, writes, stack


def split_operands(operands):
    """Operands split at top-level commas (not inside [] or {})."""
    parts, depth, current = [], 0, ""
    for char in operands:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


# --------------------------------------------------------------------------
# Disassembly and loops.
# --------------------------------------------------------------------------

FUNCTION = re.compile(r"^([0-9a-f]+) <(.+)>:$")
INSTRUCTION = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")
BRANCH_TARGET = re.compile(r"\b0x([0-9a-f]+) <")


def is_branch(mnemonic, aarch64):
    if aarch64:
        return mnemonic in ("b", "cbz", "cbnz", "tbz", "tbnz") or \
            mnemonic.startswith("b.")
    return mnemonic.startswith("j") or mnemonic.startswith("loop")


def disassemble(objdump, obj, aarch64):
    """{function: [(address, mnemonic, operands)]} of the kernel
    functions in `obj`."""
    command = [objdump, "-d", "--no-show-raw-insn", obj]
    if not aarch64:
        command.append("--x86-asm-syntax=intel")
    text = subprocess.run(command, check=True, capture_output=True,
                          text=True).stdout
    functions, current = {}, None
    for line in text.splitlines():
        match = FUNCTION.match(line)
        if match:
            name = match.group(2)
            current = [] if name.startswith("__nibble_kernel_") else None
            if current is not None:
                functions[name] = current
            continue
        match = INSTRUCTION.match(line)
        if match and current is not None:
            operands = re.split(r"\s+(//|#)\s", match.group(3))[0].strip()
            current.append((int(match.group(1), 16), match.group(2),
                            operands))
    return functions


def innermost_loops(instructions, aarch64):
    """[(start index, end index inclusive)] of the innermost loops."""
    position = {address: i for i, (address, _, _) in enumerate(instructions)}
    loops = []
    for i, (address, mnemonic, operands) in enumerate(instructions):
        if not is_branch(mnemonic, aarch64):
            continue
        match = BRANCH_TARGET.search(operands)
        if not match:
            continue
        target = int(match.group(1), 16)
        if target <= address and target in position:
            loops.append((position[target], i))
    return [(s, e) for s, e in loops
            if not any((s, e) != (s2, e2) and s <= s2 and e2 <= e
                       for s2, e2 in loops)]


def addend_operand(mnemonic, aarch64):
    """Which operand of an FMA / dot product is the addend (the
    accumulator): x86's 132 / 213 forms add their second / third operand,
    the others accumulate into the first; AArch64's scalar fmadd adds its
    fourth."""
    if aarch64:
        return 3 if mnemonic in ("fmadd", "fmsub", "fnmadd", "fnmsub") else 0
    form = re.search(r"(132|213|231)", mnemonic)
    return {"132": 1, "213": 2}.get(form.group(1), 0) if form else 0


def loop_mix(body, aarch64):
    """(Counter of COLUMNS, Counter of mnemonics, accumulators) of a loop
    body. Accumulators: the FMA / dot-product chains of one iteration, the
    FMAs whose addend no earlier FMA of the iteration wrote."""
    counts, mnemonics = Counter(), Counter()
    accumulators, written = 0, set()
    for _, mnemonic, operands in body:
        classify = classify_aarch64 if aarch64 else classify_x86
        name, reads, writes, stack = classify(mnemonic, operands)
        counts["insns"] += 1
        counts["loads"] += reads
        counts["stores"] += writes
        counts["stack"] += stack
        if name:
            counts[name] += 1
        mnemonics[mnemonic] += 1
        if name in ("FMA", "dot"):
            parts = split_operands(operands)
            addend = parts[addend_operand(mnemonic, aarch64)]
            accumulators += addend not in written
            written.add(parts[0])
    return counts, mnemonics, accumulators


# --------------------------------------------------------------------------
# Compiling.
# --------------------------------------------------------------------------

def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True,
                            **kwargs)
    if result.returncode != 0:
        sys.exit(f"kernel_isa.py: {' '.join(command)} failed:\n"
                 f"{result.stderr}")
    return result


def kernel_remarks(nibble_opt, quantized, target):
    """nibble-cpu-select-kernels' remark on the linear: its kernel and
    configuration on `target`."""
    _, triple, features = TARGETS[target]
    option = "remarks"
    if triple:
        option = f"triple={triple} features={features} remarks"
    result = run([nibble_opt, quantized, "-o", os.devnull,
                  f"--nibble-cpu-select-kernels={option}"])
    match = re.search(r"remark: (kernel @\S+ \(.*?\)|reference lowering: .*)",
                      result.stderr)
    return match.group(1) if match else "no remark"


def analyse(args, work, model, scheme, target):
    """Rows for one (scheme, target)."""
    flags, _, _ = TARGETS[target]
    nibblec = os.path.join(args.build_dir, "bin", "nibblec")
    nibble_opt = os.path.join(args.build_dir, "bin", "nibble-opt")
    scheme_flags = [f"--scheme={SCHEMES[scheme]}"] if SCHEMES[scheme] else []
    quantized = os.path.join(work, f"{scheme}.mlir")
    # For the target: nibblec lays weights out for its kernels (interleaved
    # integer weights), and the remark must see the same layout.
    run([nibblec, model, "--entry=linear", *scheme_flags, *flags,
         "--emit=mlir", "-o", quantized])
    remark = kernel_remarks(nibble_opt, quantized, target)
    obj = os.path.join(work, f"{scheme}-{target}.o")
    run([nibblec, model, "--entry=linear", *scheme_flags, *flags,
         "--kernels=fast", "--emit=obj", "-o", obj])
    aarch64 = target == "aarch64"
    functions = disassemble(os.path.join(LLVM_BIN, "llvm-objdump"), obj,
                            aarch64)
    loops = []
    for name, instructions in functions.items():
        for start, end in innermost_loops(instructions, aarch64):
            body = instructions[start:end + 1]
            counts, mnemonics, accumulators = loop_mix(body, aarch64)
            if counts["FMA"] + counts["dot"] == 0:
                continue
            loops.append({"function": name, "start": body[0][0],
                          "end": body[-1][0], "counts": counts,
                          "mnemonics": mnemonics,
                          "accumulators": accumulators})
    if not loops:
        sys.exit(f"kernel_isa.py: no accumulating loop in the kernels of "
                 f"{scheme} on {target} ({remark})")
    loops.sort(key=lambda loop: loop["accumulators"])
    fewest, most = loops[0]["accumulators"], loops[-1]["accumulators"]
    for loop in loops:
        if fewest == most:
            loop["kind"] = "only loop"
        elif loop["accumulators"] == fewest:
            loop["kind"] = "1 token (decode)"
        elif loop["accumulators"] == most:
            loop["kind"] = "token block (prefill)"
        else:
            loop["kind"] = "other"
    return remark, loops


def host_cpu():
    """This machine's CPU model name."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default="host,aarch64",
                        help=f"comma-separated, of {', '.join(TARGETS)}")
    parser.add_argument("--schemes", default="f32,w8,w4g32",
                        help=f"comma-separated, of {', '.join(SCHEMES)}")
    parser.add_argument("--shape", default="1x4096x4096",
                        help="MxKxN of the linear (default 1x4096x4096)")
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--mnemonics", action="store_true",
                        help="also list each loop's instructions by mnemonic")
    args = parser.parse_args()
    targets = args.targets.split(",")
    schemes = args.schemes.split(",")
    for value, known, what in ((targets, TARGETS, "target"),
                               (schemes, SCHEMES, "scheme")):
        unknown = [v for v in value if v not in known]
        if unknown:
            sys.exit(f"kernel_isa.py: unknown {what} {', '.join(unknown)}")
    tokens, d_in, d_out = (int(v) for v in args.shape.split("x"))

    with tempfile.TemporaryDirectory(prefix="kernel-isa-") as work:
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "test", "python"))
        run([sys.executable, os.path.join(ROOT, "bench",
                                          "make_linear_model.py"),
             work, str(tokens), str(d_in), str(d_out)], env=env)
        model = os.path.join(work, "linear.mlir")
        print(f"# Kernel inner loops: linear {tokens} x {d_in} -> {d_out} "
              f"(bias), nibblec --kernels=fast --emit=obj, "
              f"{datetime.date.today().isoformat()}")
        print()
        print(f"Host: {host_cpu()}. Counts per loop iteration; classes in "
              "bench/kernel_isa.py's docstring.")
        details = []
        for target in targets:
            flags = " ".join(TARGETS[target][0]) or "(host: default target)"
            print()
            print(f"## {target}: `{flags}`")
            print()
            print("| scheme | kernel | loop | accumulators | weights | "
                  "insns / weight | " + " | ".join(COLUMNS) + " |")
            print("|---|---|---|---:|---:|---:|" + "---:|" * len(COLUMNS))
            for scheme in schemes:
                remark, loops = analyse(args, work, model, scheme, target)
                config = re.search(r"\((.*)\)", remark)
                config = config.group(1) if config else remark
                shape = re.search(r"(\d+) lanes, (\d+) rows", remark)
                for loop in loops:
                    cells = [str(loop["counts"][c]) for c in COLUMNS]
                    # FMAs x lanes / tokens, tokens = accumulators / rows.
                    weights, per_weight = "?", "?"
                    if shape:
                        lanes, rows = int(shape.group(1)), int(shape.group(2))
                        count = (loop["counts"]["FMA"] + loop["counts"]["dot"]
                                 ) * lanes * rows // loop["accumulators"]
                        weights = str(count)
                        per_weight = f"{loop['counts']['insns'] / count:.2f}"
                    print(f"| {scheme} | {config} | {loop['kind']} | "
                          f"{loop['accumulators']} | {weights} | "
                          f"{per_weight} | " + " | ".join(cells) + " |")
                    details.append((target, scheme, loop))
        if args.mnemonics:
            print()
            print("## Mnemonics per loop iteration")
            print()
            for target, scheme, loop in details:
                listing = ", ".join(f"{m} {n}" for m, n in
                                    loop["mnemonics"].most_common())
                print(f"- {target} {scheme}, {loop['kind']} "
                      f"(`{loop['function']}` "
                      f"0x{loop['start']:x}-0x{loop['end']:x}): {listing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
