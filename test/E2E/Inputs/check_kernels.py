"""Checks the generated CPU kernels against the reference lowering.

Usage: check_kernels.py DIR [--aarch64 AARCH64_BIN] [--schemes NAME,...]

For every weight scheme in SCHEMES, a module with five linears of different
shapes is quantized with nibble-rtn and run by nibble-run twice on the same
inputs: --kernels=fast (generated kernels) and --kernels=reference (the
oracle). The shapes cover the kernels' edge cases:
  - a: x [5, 128]  -> 32 outputs  (4 + 1 input rows: block and tail)
  - b: x [70, 256] -> 30 outputs  (70 rows cross the 64-row tile; N % 4 = 2)
  - c: x [2, 3, 64] -> 33 outputs (rank 3 flattened; odd N)
  - d: x [20, 128] -> 72 outputs  (float kernels: packed panels of 32 rows
    x 8 tokens on AVX-512, 16 x 6 at 256 bits, then leftover rows and
    tokens)
  - e: x [17, 256] -> 48 outputs  (interleaved weights: 3 blocks of 16
    rows, two blocks of 8 tokens and a single token)

Both lowerings dequantize every weight to the same float (the kernels repeat
the reference's arithmetic) and differ only in the order of the K + 1 sums
(and FMA contraction). With u = 2^-24 and γ_n = n·u / (1 - n·u), each result
is within γ_{K+1}·(|x|·|Ŵ|ᵀ + |b|) of the exact value, so

    |y_fast - y_ref| <= 2·γ_{K+1}·(|x|·|Ŵ|ᵀ + |b|)     elementwise.

|Ŵ| comes from the oracle itself: run on x = I_K (and x = 0), row k of the
output is Ŵ[:, k] + b with a single rounding.

The kernels are generated twice: for this machine (AVX-512 here: 16 lanes,
codes of up to 4 bits dequantized by table lookups) and for 256-bit vectors
(nibble-cpu-select-kernels vector-bits=256: 8 lanes, codes converted one by
one, as on AVX2), both run here and checked with the same bound.

Kernels of integer codes or code books with group or channel scales
(all but INTERLEAVED_NOT) run twice more on weights interleaved at compile
time (nibble-cpu-interleave-weights: R rows side by side, R = the kernel's
lanes), for this machine and for AVX2 (8 rows, codes converted one by one),
which they read in place for every shape whose N is a multiple of R; the
script checks that those shapes (a and e at least) got such kernels, holds
them to the same bound, and requires the reference lowering of the
interleaved module (linalg.unpack back to row-major) to give the row-major
module's results bit for bit. Float kernels on interleaved weights apply
each group's scale to a sum of levels times x: their products are the
reference's to within one rounding, and min schemes' s·Σ u·x and m·Σ x
round relative to |u·s| + |m|, the bound every kernel of a min scheme has.

The script also checks that the fast pipeline really used kernels: a
supported scheme has no nibble.linear / nibble.qlinear left after
nibble-cpu-select-kernels, an unsupported one (int8 activations) keeps its
five qlinears and gives bit-identical results.

With --aarch64 AARCH64_BIN (the directory of the cross-built nibble-run-lib)
the fast kernels are generated for AArch64 instead: each module is compiled
by `nibblec --target=aarch64 --mattr=+neon,+dotprod,+i8mm --emit=lib` and
run under qemu-aarch64 on the same inputs, then compared with this machine's
--kernels=reference outputs under the same bound (it depends on K and the
operands, not on the machine). The kernels really are there: the pass's
remarks for that target name 4-lane kernels, and exactly those functions are
symbols of the compiled library. Those of INTERLEAVED_NOT's complement
also run on weights interleaved for AArch64 (4 rows).
"""

import argparse
import os
import re
import subprocess
import sys

import numpy as np
from nibble_testlib import read_safetensors, write_safetensors

# (name, nibble-rtn scheme body or None for float, has a kernel)
SCHEMES = [
    ("f32", None, True),
    ("w8_channel", "w8, channel", True),
    ("w8_tensor", "w8, tensor", True),
    ("w8_g32_asym", "w8, group = 32, asym", True),
    ("w4_g32_sym", "w4, group = 32", True),
    ("w4_g32_asym", "w4, group = 32, asym", True),
    ("w4_g64_f16", "w4, group = 64, scale = f16", True),
    ("w4_channel_bf16", "w4, channel, scale = bf16", True),
    ("w3_g64_asym", "w3, group = 64, asym", True),
    ("w2_g64_sym", "w2, group = 64", True),
    ("nf4_g64", "nf4, group = 64", True),
    ("nf4_g64_dq", "nf4, group = 64, double_quant = 4", True),
    ("fp4_g32", "fp4, group = 32", True),
    ("fp8_channel", "fp8, channel", True),
    # int8 activations: integer kernels (8-bit dot products; on AVX-512, groups
# of 32 and 16 share a 64-code chunk, each on its own lanes) ...
    ("w8a8", "w8, channel, act = int8_dynamic", True),
    ("w4a8_g32", "w4, group = 32, act = int8_dynamic", True),
    ("w4a8_g32_asym", "w4, group = 32, asym, act = int8_dynamic", True),
    ("w3a8_g64", "w3, group = 64, act = int8_dynamic", True),
    ("w2a8_channel", "w2, channel, asym, act = int8_dynamic", True),
    ("w2a8_g16", "w2, group = 16, act = int8_dynamic", True),
    ("w8a8_g32_asym", "w8, group = 32, asym, act = int8_dynamic", True),
    ("w4a8_g32_f16", "w4, group = 32, scale = f16, act = int8_dynamic", True),
    # Float minimums (value = u·s + m, GGUF's Q4_1 / K-quant form; made from
    # the asym scheme, see MIN_SCHEMES): float kernels, and integer kernels
    # with int8 activations (Σ (u·s + m)·q = s·Σ u·q + m·Σ q).
    ("w4_g32_min", "w4, group = 32, asym", True),
    ("w4a8_g32_min", "w4, group = 32, asym, act = int8_dynamic", True),
    ("w8a8_channel_min", "w8, channel, asym, act = int8_dynamic", True),
    # One activation scale per act_group values of a token (ggml's Q8_0
    # blocks): the groups' sums scale by s·s_a. Activation groups as long
    # as the weights' (Q4_0), shorter (per-channel weights; 64-wide weight
    # groups) and longer (Q6_K-like groups of 16), with minimums (Q4_1).
    ("w4a8_g32_ag32", "w4, group = 32, act = int8_dynamic, act_group = 32",
     True),
    ("w8a8_channel_ag32", "w8, channel, act = int8_dynamic, act_group = 32",
     True),
    ("w4a8_g64_ag32", "w4, group = 64, act = int8_dynamic, act_group = 32",
     True),
    ("w4a8_g16_ag32_asym",
     "w4, group = 16, asym, act = int8_dynamic, act_group = 32", True),
    ("w4a8_g32_min_ag32",
     "w4, group = 32, asym, act = int8_dynamic, act_group = 32", True),
    # ... and float kernels on the dequantized activations.
    ("nf4a8_g64", "nf4, group = 64, act = int8_dynamic", True),
    ("nf4a8_g64_ag16", "nf4, group = 64, act = int8_dynamic, act_group = 16",
     True),
    ("fp8a8_channel", "fp8, channel, act = fp8_dynamic", False),
]

# Schemes whose kernels are integer kernels (int8 activations times integer
# codes by 8-bit dot products); the other quantized-activation schemes run
# float kernels on the dequantized activations x̃.
INTEGER_KERNELS = {"w8a8", "w4a8_g32", "w4a8_g32_asym", "w3a8_g64",
                   "w2a8_channel", "w2a8_g16", "w8a8_g32_asym", "w4a8_g32_f16",
                   "w4a8_g32_min", "w8a8_channel_min", "w4a8_g32_ag32",
                   "w8a8_channel_ag32",
                   "w4a8_g64_ag32", "w4a8_g16_ag32_asym",
                   "w4a8_g32_min_ag32"}

# Schemes whose kernels read row-major weights only: float weights,
# per-tensor or double-quantized scales, fp8 codes, and no kernel.
INTERLEAVED_NOT = {"f32", "w8_tensor", "nf4_g64_dq", "fp8_channel",
                   "fp8a8_channel"}

# Schemes with float minimums. nibble-rtn does not make them: the asym
# weights it writes are turned into mins = -(scale · zero) (f32) with the
# same codes and scales, `zero_points` into `mins` and `asym` into `min`
# (to_min_scheme).
MIN_SCHEMES = {"w4_g32_min", "w4a8_g32_min", "w8a8_channel_min",
               "w4a8_g32_min_ag32"}

# name: (input shape, outputs)
SHAPES = {"a": ((5, 128), 32), "b": ((70, 256), 30), "c": ((2, 3, 64), 33),
          "d": ((20, 128), 72), "e": ((17, 256), 48)}

U = 2.0**-24

# nibble-cpu-select-kernels / -interleave-weights options for AVX2.
AVX2_TARGET = "triple=x86_64-unknown-linux-gnu features=+avx2,+fma"

AARCH64_TRIPLE = "aarch64-unknown-linux-gnu"
AARCH64_FEATURES = "+neon,+dotprod,+i8mm"
QEMU = ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]


def fake_quantized(x, group=0):
    """x̃: x [M, K] (f32) quantized to int8 per row (per `group` values of a
    row) and dequantized, as the scheme's `act = int8_dynamic` (`act_group`)
    says, in f32 like the reference."""
    if group:
        m, k = x.shape
        return fake_quantized(x.reshape(m * k // group, group)).reshape(m, k)
    scale = np.max(np.abs(x), axis=-1, keepdims=True) / np.float32(127)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.clip(np.rint(x / scale), -127, 127)
        return np.where(scale == 0, np.float32(0),
                        (q * scale).astype(np.float32))


def tensor_type(shape):
    return "tensor<" + "x".join(str(d) for d in shape) + "xf32>"


def module_text(archive, shapes):
    """y_name = x_name · W_nameᵀ + b_name for each shape, in one function."""
    args, results, body = [], [], []
    for name, (shape, outputs) in shapes.items():
        k = shape[-1]
        xt = tensor_type(shape)
        yt = tensor_type(shape[:-1] + (outputs,))
        args.append(f"%x_{name}: {xt}")
        results.append((f"%y_{name}", yt))
        body.append(
            f'    %w_{name} = nibble.param "{name}.weight" : '
            f"tensor<{outputs}x{k}xf32>\n"
            f'    %b_{name} = nibble.param "{name}.bias" : '
            f"tensor<{outputs}xf32>\n"
            f"    %y_{name} = nibble.linear %x_{name}, %w_{name} bias "
            f'%b_{name} {{name = "{name}"}} : ({xt}, tensor<{outputs}x{k}xf32>, '
            f"tensor<{outputs}xf32>) -> {yt}\n")
    return (f'module attributes {{nibble.weights = "{archive}"}} {{\n'
            f"  func.func @linears({', '.join(args)}) -> "
            f"({', '.join(t for _, t in results)}) {{\n" + "".join(body) +
            f"    return {', '.join(r for r, _ in results)} : "
            f"{', '.join(t for _, t in results)}\n  }}\n}}\n")


def to_min_scheme(module, archive):
    """Rewrites the asym module `module` and its archive `archive` (nibble-rtn
    output) in place into the `min` form of the same codes: P.zeros z
    becomes P.mins = -(scale · z) in f32."""
    tensors = {name: array.view(np.int8) if dtype == "I8" else array
               for name, (dtype, array) in read_safetensors(archive).items()}
    for name in [n for n in tensors if n.endswith(".zeros")]:
        prefix = name[:-len(".zeros")]
        scales = tensors[prefix + ".scales"]
        zeros = tensors.pop(name).view(np.uint8).astype(np.float32)
        tensors[prefix + ".mins"] = -(scales * zeros)
    write_safetensors(archive, tensors)
    with open(module) as f:
        text = f.read()
    text = re.sub(r'nibble.param "(\S+)\.zeros" : tensor<(\d+)x(\d+)xi8>',
                  r'nibble.param "\1.mins" : tensor<\2x\3xf32>', text)
    # The zero points' type follows the scales' (the same shape).
    text = re.sub(r"(tensor<(\d+x\d+)xf32>), tensor<\2xi8>, ",
                  r"\1, \1, ", text)
    text = text.replace(" zero_points ", " mins ").replace(", asym", ", min")
    with open(module, "w") as f:
        f.write(text)


def min_terms(archive, scheme):
    """{name: |U·S| + |M| [K, N]} of each linear in the min archive: the two
    terms the integer kernel sums apart (their rounding errors are relative
    to them, not to |Ŵ|)."""
    tensors = {name: array for name, (_, array) in
               read_safetensors(archive).items()}
    bits = int(scheme.split(",")[0][1:])
    terms = {}
    for name in SHAPES:
        packed = tensors[f"{name}.qweight"]
        if bits == 4:
            codes = np.stack([packed & 15, packed >> 4], axis=-1).reshape(
                packed.shape[0], -1)
        else:
            codes = packed
        k = codes.shape[1]
        scales = tensors[f"{name}.scales"].astype(np.float64)
        mins = tensors[f"{name}.mins"].astype(np.float64)
        group = k // scales.shape[1]
        s = np.repeat(scales, group, axis=1)
        m = np.repeat(mins, group, axis=1)
        terms[name] = (np.abs(codes * s) + np.abs(m)).T
    return terms


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return result.stdout


def aarch64_kernels(module):
    """The kernels nibble-cpu-select-kernels picks for AArch64 in `module`:
    (names, number of ops left for the reference lowering), from its
    remarks. Every kernel must be generated for 128-bit NEON."""
    result = subprocess.run(
        ["nibble-opt", module, "-o", os.devnull,
         f"--nibble-cpu-select-kernels=triple={AARCH64_TRIPLE} "
         f"features={AARCH64_FEATURES} remarks"],
        capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"nibble-cpu-select-kernels on {module} failed:\n"
                 f"{result.stderr}")
    names = re.findall(r"remark: kernel @(\w+) \(aarch64 128-bit",
                       result.stderr)
    if result.stderr.count("remark: kernel @") != len(names):
        sys.exit(f"{module}: a kernel not generated for AArch64 NEON:\n"
                 f"{result.stderr}")
    return set(names), result.stderr.count("remark: reference lowering")


def compile_aarch64(module, entry, library):
    """`module` compiled for AArch64 NEON + dotprod + i8mm (fast kernels)
    into the shared library `library`; returns the kernel functions it
    defines (global __nibble_kernel_* symbols)."""
    # Weights stay as the module has them (interleaved or not).
    run(["nibblec", module, f"--entry={entry}", "--target=aarch64",
         f"--mattr={AARCH64_FEATURES}", "--kernels=fast",
         "--interleave-weights=false", "--emit=lib", "-o", library])
    symbols = run(["llvm-nm", "--defined-only", "--extern-only", library])
    return {
        m.group(1)
        for m in re.finditer(r"^\S+ T (__nibble_kernel_\w+)$", symbols, re.M)
        if not m.group(1).endswith("_parallel_task")
    }


def run_aarch64(aarch64_bin, library, entry, input_paths, output_paths):
    """Runs `entry` of the AArch64 `library` under qemu."""
    command = QEMU + [os.path.join(aarch64_bin, "nibble-run-lib"), library,
                      "--entry", entry]
    for path in input_paths:
        command += ["--input", path]
    for path in output_paths:
        command += ["--output", path]
    run(command)


def interleave(module, out_dir, tag, target=""):
    """`module` with the weights of its kernels interleaved at compile time for `target` (nibble-cpu-interleave-weights options), and
    an error message unless every shape whose outputs are a multiple of the
    layout's rows R reads interleaved weights (at least two: a and e)."""
    result = os.path.join(out_dir, f"interleaved_{tag}.mlir")
    run(["nibble-opt", module,
         f"--nibble-cpu-interleave-weights={target} output-weights="
         f"{out_dir}/interleaved_{tag}.safetensors", "-o", result])
    remarks = subprocess.run(
        ["nibble-opt", result, "-o", os.devnull,
         f"--nibble-cpu-select-kernels={target} remarks"],
        capture_output=True, text=True).stderr
    rows = {int(r) for r in
            re.findall(r"weights interleaved by (\d+) rows", remarks)}
    found = remarks.count("weights interleaved by")
    if len(rows) != 1:
        return result, f"interleaved rows {sorted(rows)} in:\n{remarks}"
    expected = sum(1 for _, n in SHAPES.values() if n % min(rows) == 0)
    if found != expected or found < 2:
        return result, (f"{found} kernels read interleaved weights, "
                        f"expected {expected}")
    return result, None


def run_module(module, inputs, kernels, out_dir, tag):
    command = ["nibble-run", module, "-e", "linears", f"--kernels={kernels}"]
    outputs = []
    for name, array in inputs.items():
        path = os.path.join(out_dir, f"{tag}_x_{name}.npy")
        np.save(path, array)
        command += ["--input", path]
    for name in inputs:
        path = os.path.join(out_dir, f"{tag}_{kernels}_y_{name}.npy")
        outputs.append(path)
        command += ["--output", path]
    run(command)
    return {name: np.load(path) for name, path in zip(inputs, outputs)}


def run_module_aarch64(aarch64_bin, module, inputs, out_dir, tag):
    """run_module's outputs from the AArch64 build of `module` (fast
    kernels) under qemu, and the kernels the library defines."""
    library = os.path.join(out_dir, f"{tag}_aarch64.so")
    kernels = compile_aarch64(module, "linears", library)
    input_paths, output_paths = [], []
    for name, array in inputs.items():
        input_paths.append(os.path.join(out_dir, f"{tag}_x_{name}.npy"))
        np.save(input_paths[-1], array)
        output_paths.append(
            os.path.join(out_dir, f"{tag}_aarch64_y_{name}.npy"))
    run_aarch64(aarch64_bin, library, "linears", input_paths, output_paths)
    return ({name: np.load(path) for name, path in zip(inputs, output_paths)},
            kernels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir")
    parser.add_argument("--aarch64", metavar="AARCH64_BIN",
                        help="generate the fast kernels for AArch64 and run "
                        "them under qemu with AARCH64_BIN/nibble-run-lib")
    parser.add_argument("--schemes",
                        help="comma-separated names of SCHEMES to check "
                        "(default: all)")
    args = parser.parse_args()
    out_dir = os.path.abspath(args.dir)
    schemes = SCHEMES
    if args.schemes:
        wanted = args.schemes.split(",")
        unknown = set(wanted) - {name for name, _, _ in SCHEMES}
        if unknown:
            sys.exit(f"unknown schemes: {', '.join(sorted(unknown))}")
        schemes = [s for s in SCHEMES if s[0] in wanted]
    rng = np.random.default_rng(20261202)
    tensors, inputs, identity = {}, {}, {}
    identity_shapes = {}
    for name, (shape, outputs) in SHAPES.items():
        k = shape[-1]
        weight = rng.standard_normal((outputs, k)) / np.sqrt(k)
        weight[1, 5] = 3.0  # an outlier: one large scale
        tensors[f"{name}.weight"] = weight.astype(np.float32)
        tensors[f"{name}.bias"] = (rng.standard_normal(outputs) *
                                   0.1).astype(np.float32)
        inputs[name] = rng.standard_normal(shape).astype(np.float32)
        # A zero token: scale 0 when activations are quantized.
        inputs[name].reshape(-1, k)[-1] = 0
        eye_shape = (1,) * (len(shape) - 2) + (k, k)
        identity[name] = np.eye(k, dtype=np.float32).reshape(eye_shape)
        identity_shapes[name] = (eye_shape, outputs)
    archive = os.path.join(out_dir, "linears.safetensors")
    write_safetensors(archive, tensors)
    with open(os.path.join(out_dir, "linears.mlir"), "w") as f:
        f.write(module_text(archive, SHAPES))
    with open(os.path.join(out_dir, "eye.mlir"), "w") as f:
        f.write(module_text(archive, identity_shapes))
    zeros = {name: np.zeros_like(a) for name, a in identity.items()}

    failures = 0
    for scheme_name, scheme, has_kernel in schemes:
        modules = {}
        for stem in ("linears", "eye"):
            source = os.path.join(out_dir, f"{stem}.mlir")
            if scheme is None:
                modules[stem] = source
                continue
            target = os.path.join(out_dir, f"{stem}_{scheme_name}.mlir")
            archive_out = f"{out_dir}/{stem}_{scheme_name}.safetensors"
            run(["nibble-opt", source,
                 f"--nibble-rtn=scheme='{scheme}' output-weights="
                 f"{archive_out}", "-o", target])
            if scheme_name in MIN_SCHEMES:
                to_min_scheme(target, archive_out)
            modules[stem] = target
        if args.aarch64:
            names, left = aarch64_kernels(modules["linears"])
            calls = len(names)
            # A kernel per shape: distinct kernels.
            expected = ((len(SHAPES), 0) if has_kernel else
                        (0, len(SHAPES)))
            if (calls, left) != expected:
                print(f"{scheme_name}: FAIL: {calls} AArch64 kernels, {left} "
                      "linears left for the reference lowering")
                failures += 1
                continue
            fast, built = run_module_aarch64(args.aarch64, modules["linears"],
                                             inputs, out_dir, scheme_name)
            if built != names:
                print(f"{scheme_name}: FAIL: the AArch64 library defines "
                      f"{sorted(built)}, the pass chose {sorted(names)}")
                failures += 1
                continue
            variants = {"aarch64": fast}
            if scheme_name not in INTERLEAVED_NOT:
                interleaved, problem = interleave(
                    modules["linears"], out_dir, scheme_name + "_aarch64",
                    f"triple={AARCH64_TRIPLE} features={AARCH64_FEATURES}")
                if problem:
                    print(f"{scheme_name}: FAIL: {problem}")
                    failures += 1
                    continue
                variants["aarch64 interleaved"], _ = run_module_aarch64(
                    args.aarch64, interleaved, inputs, out_dir,
                    scheme_name + "_interleaved")
        else:
            selected = run(["nibble-opt", modules["linears"],
                            "--nibble-cpu-select-kernels"])
            left = selected.count("nibble.qlinear") + selected.count(
                "nibble.linear")
            calls = selected.count("nibble.kernel_call")
            integer = selected.count("func.func private "
                                     "@__nibble_kernel_qlinear_i8_")
            if integer != (len(SHAPES) if scheme_name in INTEGER_KERNELS
                           else 0):
                print(f"{scheme_name}: FAIL: {integer} integer kernels")
                failures += 1
                continue
            if has_kernel and (left != 0 or calls != len(SHAPES)):
                print(f"{scheme_name}: FAIL: {calls} kernel calls, {left} "
                      "linears left for the reference lowering")
                failures += 1
                continue
            if not has_kernel and (left != len(SHAPES) or calls != 0):
                print(f"{scheme_name}: FAIL: expected the reference lowering")
                failures += 1
                continue

            narrow = os.path.join(out_dir, f"narrow_{scheme_name}.mlir")
            run(["nibble-opt", modules["linears"],
                 "--nibble-cpu-select-kernels=vector-bits=256", "-o", narrow])
            variants = {
                "native": run_module(modules["linears"], inputs, "fast",
                                     out_dir, scheme_name),
                "256-bit": run_module(narrow, inputs, "fast", out_dir,
                                      scheme_name + "_256"),
            }
            # Weights interleaved at compile time: the kernels read them in
            # place; the reference lowering unpacks them to the same Ŵ.
            interleaved = None
            if scheme_name not in INTERLEAVED_NOT:
                interleaved, problem = interleave(modules["linears"], out_dir,
                                                  scheme_name)
                narrow_interleaved, narrow_problem = interleave(
                    modules["linears"], out_dir, scheme_name + "_256",
                    AVX2_TARGET)
                if problem or narrow_problem:
                    print(f"{scheme_name}: FAIL: {problem or narrow_problem}")
                    failures += 1
                    continue
                variants["interleaved"] = run_module(
                    interleaved, inputs, "fast", out_dir,
                    scheme_name + "_interleaved")
                selected = os.path.join(out_dir,
                                        f"narrow_interleaved_{scheme_name}.mlir")
                run(["nibble-opt", narrow_interleaved,
                     f"--nibble-cpu-select-kernels={AVX2_TARGET}", "-o",
                     selected])
                variants["AVX2 interleaved"] = run_module(
                    selected, inputs, "fast", out_dir,
                    scheme_name + "_256_interleaved")
        ref = run_module(modules["linears"], inputs, "reference", out_dir,
                         scheme_name)
        if not args.aarch64 and interleaved:
            unpacked = run_module(interleaved, inputs, "reference", out_dir,
                                  scheme_name + "_interleaved")
            if any(not np.array_equal(unpacked[n], ref[n]) for n in ref):
                print(f"{scheme_name}: FAIL: the reference lowering of the "
                      "interleaved weights differs from the row-major one")
                failures += 1
                continue
        eye = run_module(modules["eye"], identity, "reference", out_dir,
                         scheme_name + "_eye")
        bias = run_module(modules["eye"], zeros, "reference", out_dir,
                          scheme_name + "_zero")
        # Ŵ = fl(fl(u·s) + m) rounds relative to |u·s| + |m| (the
        # reference), as do the integer kernel's s·Σ u·q and m·Σ q.
        extra = (min_terms(f"{out_dir}/linears_{scheme_name}.safetensors",
                           scheme) if scheme_name in MIN_SCHEMES else {})
        failures_before = failures
        worst = 0.0
        for (variant, fast), (name, (shape, outputs)) in (
                (v, s) for v in variants.items() for s in SHAPES.items()):
            k = shape[-1]
            b = bias[name].reshape(k, outputs)[0].astype(np.float64)
            y_eye = eye[name].reshape(k, outputs).astype(np.float64)
            # |Ŵᵀ| from one rounding of Ŵ + b.
            w_abs = np.abs(y_eye - b) + 2 * U * (np.abs(y_eye) + np.abs(b))
            x = inputs[name].reshape(-1, k)
            n = k + 1
            if scheme and "int8_dynamic" in scheme:
                group = re.search(r"act_group = (\d+)", scheme)
                x = fake_quantized(x, int(group.group(1)) if group else 0)
                n = k + 4
            x = x.astype(np.float64)
            gamma = n * U / (1 - n * U)
            if name in extra:
                w_abs = w_abs + extra[name]
            bound = 2 * gamma * (np.abs(x) @ w_abs + np.abs(b))
            diff = np.abs(fast[name].reshape(-1, outputs).astype(np.float64) -
                          ref[name].reshape(-1, outputs))
            where = f"{scheme_name}/{variant}/{name}"
            if not np.all(np.isfinite(fast[name])):
                print(f"{where}: FAIL: non-finite output")
                failures += 1
                continue
            if not has_kernel and np.any(diff != 0):
                print(f"{where}: FAIL: differs from the reference without "
                      "a kernel")
                failures += 1
            if np.any(diff > bound):
                i = np.unravel_index(np.argmax(diff - bound), diff.shape)
                print(f"{where}: FAIL: |fast - ref| = "
                      f"{diff[i]:.3g} > bound {bound[i]:.3g} at {i}")
                failures += 1
            worst = max(worst, float(np.max(diff / bound)))
        target = "aarch64: " if args.aarch64 else ""
        print(f"{scheme_name}: {target}max |fast - ref| / bound = "
              f"{worst:.3f} -> "
              f"{'ok' if failures == failures_before else 'FAIL'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
