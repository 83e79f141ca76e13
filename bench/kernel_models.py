"""Models of the kernel benchmark (bench/kernels.py): shapes, schemes, the
generated modules and weights, and nibblec compiles through a cache.

A library per (shape, scheme, lowering, M class) holds the entries `m<M>`
(x [M, K] -> outputs [M, N]) over module-level weights (nibble.global:
random N(0, 1/K) float32 in a safetensors archive, seeded by shape and copy;
RTN quantizes them at compile time with nibblec --scheme). A decode library
holds L distinct copies of W and each entry applies all L to the same x;
a prefill library holds one. Compiled libraries are cached by a hash of
what made them (module text, generator, scheme, lowering, nibblec's bytes).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

SCHEMES = {
    "f32": None,
    "w8": "w8, channel, sym",
    "w4g32": "w4, group = 32, sym",
    "w4g128": "w4, group = 128, sym",
    # int8 activations (integer kernels: 8-bit dot products).
    "w8a8": "w8, channel, sym, act = int8_dynamic",
    "w4a8g32": "w4, group = 32, sym, act = int8_dynamic",
    "w4a8g128": "w4, group = 128, sym, act = int8_dynamic",
    # What nibble keeps of GGUF's Q8_0 and Q4_0 (docs/LLM.md).
    "q8_0": "w8, group = 32, sym, scale = f16",
    "q4_0": "w4, group = 32, sym, scale = f16",
}
SHAPE_GROUPS = {
    "llama": [(4096, 4096, "Llama-7B q/k/v/o"), (11008, 4096, "Llama-7B gate/up"),
              (4096, 11008, "Llama-7B down")],
    "smollm2": [(576, 576, "SmolLM2 q/o"), (192, 576, "SmolLM2 k/v"),
                (1536, 576, "SmolLM2 gate/up"), (576, 1536, "SmolLM2 down"),
                (49152, 576, "SmolLM2 lm_head")],
    "gemma3": [(1024, 640, "Gemma 3 270M q"), (256, 640, "Gemma 3 270M k/v"),
               (640, 1024, "Gemma 3 270M o"), (2048, 640, "Gemma 3 270M gate/up"),
               (640, 2048, "Gemma 3 270M down"),
               (262144, 640, "Gemma 3 270M lm_head")],
}
DEFAULT_M = [1, 8, 32, 128, 512]
QUICK_SHAPES = [(4096, 4096), (1536, 576)]
QUICK_M = [1, 128]
DECODE_MAX_M = 8
ROTATE_BYTES = 64 << 20
# Bumped whenever the generated modules or weights change meaning.
GENERATOR_VERSION = 1
MB = 1e6


def log(message):
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Shapes, schemes, weight bytes.
# --------------------------------------------------------------------------

def shape_label(n, k):
    for shapes in SHAPE_GROUPS.values():
        for sn, sk, label in shapes:
            if (sn, sk) == (n, k):
                return label
    return ""


def parse_shapes(text):
    shapes = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        if part == "all":
            found = [(n, k) for g in SHAPE_GROUPS.values() for n, k, _ in g]
        elif part in SHAPE_GROUPS:
            found = [(n, k) for n, k, _ in SHAPE_GROUPS[part]]
        else:
            try:
                n, k = (int(x) for x in part.split("x"))
            except ValueError:
                raise SystemExit(f"kernels.py: bad shape '{part}' (NxK, "
                                 f"llama, smollm2 or all)")
            found = [(n, k)]
        shapes += [s for s in found if s not in shapes]
    return shapes


def expected_weight_bytes(n, k, scheme):
    """Bytes of one N×K weight in `scheme` (f32 scales), as RTN stores it."""
    body = SCHEMES[scheme]
    if body is None:
        return 4 * n * k
    bits = int(body.split(",")[0][1:])
    group = scheme_group(scheme)
    scales = n * -(-k // group) if group else n
    return n * k * bits // 8 + 4 * scales


def scheme_group(scheme):
    """The group size of `scheme` (None: per channel or not quantized)."""
    body = SCHEMES[scheme]
    if body is None or "group" not in body:
        return None
    return int(body.split("group =")[1].split(",")[0])


def scheme_applies(k, scheme):
    """Whether RTN can quantize a weight of reduction size `k` in `scheme`
    (a group must divide K: SmolLM2's K = 576 has no group of 128)."""
    group = scheme_group(scheme)
    return group is None or k % group == 0


def decode_copies(n, k, scheme):
    """The smallest L with L × the weight's bytes > ROTATE_BYTES."""
    return ROTATE_BYTES // expected_weight_bytes(n, k, scheme) + 1


# --------------------------------------------------------------------------
# Models: module text, weights, compile, cache.
# --------------------------------------------------------------------------

ARCHIVE_PLACEHOLDER = "@ARCHIVE@"


def module_text(n, k, copies, ms):
    """A module over `copies` globals W<i> [n, k] f32 with an entry m<M> per
    M in `ms` applying every copy to x [M, k] (one output per copy)."""
    wt = f"tensor<{n}x{k}xf32>"
    lines = [f'module attributes {{nibble.weights = "{ARCHIVE_PLACEHOLDER}"}} {{']
    lines += [f'  nibble.global @w{i} "w{i}" : {wt}' for i in range(copies)]
    for m in ms:
        xt, yt = f"tensor<{m}x{k}xf32>", f"tensor<{m}x{n}xf32>"
        results = ", ".join([yt] * copies)
        lines.append(f"  func.func @m{m}(%x: {xt}) -> ({results}) {{")
        for i in range(copies):
            lines.append(f"    %w{i} = nibble.global_load @w{i} : {wt}")
            lines.append(f'    %y{i} = nibble.linear %x, %w{i} {{name = "copy{i}"}}'
                         f" : ({xt}, {wt}) -> {yt}")
        lines.append("    return " + ", ".join(f"%y{i}" for i in range(copies))
                     + f" : {results}")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_weights(path, n, k, copies):
    """Writes W0..W<copies-1> [n, k] float32 ~ N(0, 1/k) (seeded by shape
    and copy) to the safetensors file `path`, one tensor at a time."""
    nbytes = n * k * 4
    header = {f"w{i}": {"dtype": "F32", "shape": [n, k],
                        "data_offsets": [i * nbytes, (i + 1) * nbytes]}
              for i in range(copies)}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text)
        for i in range(copies):
            rng = np.random.default_rng([GENERATOR_VERSION, n, k, i])
            w = rng.standard_normal((n, k), dtype=np.float32)
            w *= np.float32(1 / np.sqrt(k))
            f.write(w.tobytes())


def file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Compiler:
    """Compiles the benchmark's modules with nibblec, through the cache."""

    def __init__(self, nibblec, cache_root, kernels_flag):
        self.nibblec = nibblec
        self.cache_root = cache_root
        self.kernels_flag = kernels_flag
        self.nibblec_digest = file_digest(nibblec)
        self.used = set()
        os.makedirs(cache_root, exist_ok=True)

    def library(self, n, k, scheme, kernels, copies, ms):
        """The path of the compiled library (compiled now if not cached)."""
        text = module_text(n, k, copies, ms)
        key = hashlib.sha256(json.dumps({
            "generator": GENERATOR_VERSION, "module": text,
            "scheme": SCHEMES[scheme], "kernels": kernels,
            "kernels_flag": self.kernels_flag,
            "nibblec": self.nibblec_digest}, sort_keys=True).encode()
        ).hexdigest()[:16]
        name = f"{n}x{k}-{scheme}-{kernels}-L{copies}-{key}"
        directory = os.path.join(self.cache_root, name)
        library = os.path.join(directory, "model.so")
        self.used.add(name)
        if os.path.exists(library):
            os.utime(directory)
            return library
        work = tempfile.mkdtemp(prefix="tmp-", dir=self.cache_root)
        try:
            archive = os.path.join(work, "source.safetensors")
            start = time.monotonic()
            write_weights(archive, n, k, copies)
            with open(os.path.join(work, "model.mlir"), "w") as f:
                f.write(text.replace(ARCHIVE_PLACEHOLDER, archive))
            generated = time.monotonic() - start
            command = [self.nibblec, os.path.join(work, "model.mlir"),
                       "--emit=lib", "-o", os.path.join(work, "model.so")]
            if SCHEMES[scheme]:
                command.append(f"--scheme={SCHEMES[scheme]}")
            if self.kernels_flag:
                command.append(f"--kernels={kernels}")
            start = time.monotonic()
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                errors = "\n".join(result.stderr.splitlines()[:20])
                raise SystemExit(f"kernels.py: {' '.join(command)} failed:\n"
                                 f"{errors}")
            log(f"  compiled {name}: weights generated in {generated:.1f} s, "
                f"nibblec {time.monotonic() - start:.1f} s")
            os.remove(archive)
            os.rename(work, directory)
        finally:
            if os.path.isdir(work):
                shutil.rmtree(work)
        return library

    def prune(self, limit_bytes):
        """Removes the least recently used libraries not used by this run
        until the cache holds at most `limit_bytes`."""
        entries = []
        for name in os.listdir(self.cache_root):
            path = os.path.join(self.cache_root, name)
            if not os.path.isdir(path):
                continue
            if name.startswith("tmp-"):  # A compile that was interrupted.
                if time.time() - os.path.getmtime(path) > 86400:
                    shutil.rmtree(path, ignore_errors=True)
                continue
            size = sum(os.path.getsize(os.path.join(path, f))
                       for f in os.listdir(path))
            entries.append((os.path.getmtime(path), name, path, size))
        total = sum(e[3] for e in entries)
        for _, name, path, size in sorted(entries):
            if total <= limit_bytes:
                break
            if name in self.used:
                continue
            shutil.rmtree(path, ignore_errors=True)
            total -= size
            log(f"  cache: removed {name} ({size / MB:.0f} MB)")
