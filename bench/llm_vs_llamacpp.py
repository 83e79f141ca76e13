#!/usr/bin/env python3
"""nibble vs llama.cpp on the same GGUF, plus compile time and memory (issue 8 §7).

Run with the reference virtualenv (it has llama-cpp-python):

    ~/.cache/nibble/ref-venv/bin/python bench/llm_vs_llamacpp.py [--gemma]

If ~/.cache/nibble/ref-venv is missing, make it with scripts/setup-reference.sh
(it builds llama-cpp-python 0.3.36 from source with GGML_NATIVE=ON: tens of
minutes on 2 cores). Nothing in the test command needs it. With
--skip-llamacpp any python3 >= 3.9 runs the nibble half alone. Models come
from $NIBBLE_CACHE_DIR/models (default ~/.cache/nibble/models,
scripts/fetch-models.sh). nibble's tools come from BUILD_DIR/bin (default
build; scripts/build.sh); nothing is rebuilt.

What it does, for each model (SmolLM2-135M-Instruct Q4_1 by default; --gemma
adds Gemma 3 270M Q4_K_M):

1. Compile. nibblec compiles the GGUF into a library (model.so +
   model.weights.safetensors + model.tokenizer.gguf) for each build:
     kept   --keep-quantization: the GGUF's own quantized linears
            (docs/LLM.md says which types are kept)
     kept-int8  kept, with --int8-activations: their inputs quantized to
            int8 per token, integer kernels where the codes have no mins
     f32    every weight dequantized to float32
     w4g64  --scheme "w4, group = 64" (RTN)
     w4g128 --scheme "w4, group = 128" (RTN; not SmolLM2: 128 does not
            divide its hidden size 576)
     w8     --scheme "w8, channel" (RTN)
   all with --capacity CAPACITY (KV cache, default 2048). Each nibblec is
   timed (wall clock and user+system CPU) and its peak RSS taken from the
   kernel's rusage of the child (os.wait4: the number /usr/bin/time -v prints
   as "Maximum resident set size").

2. Speed, at each thread count (default 1 and 2), tokens/s:
   llama.cpp, in this process (llama-cpp-python's low-level API on a
   Llama(model_path, n_ctx=CAPACITY, n_batch=n_ubatch=max(512, prefill and
   context sizes), n_threads=n_threads_batch=T, flash_attn off (the
   binding's default), logits_all=False)):
     prefill N   the memory (KV cache) is cleared, a batch of N tokens at
                 positions 0..N-1 is filled (logits for the last one only);
                 timed: llama_decode(ctx, batch) + llama_synchronize(ctx).
                 tokens/s = N / that time.
     decode @C   the memory is cleared and C context tokens are decoded as a
                 batch (not timed); then DECODE_TOKENS single-token batches
                 at positions C, C+1, ...; timed: the sum of their
                 llama_decode + llama_synchronize. tokens/s = DECODE_TOKENS /
                 that sum.
   Token ids are pseudo-random in [0, vocab) with a fixed seed (llama-bench
   does the same: the values do not change the work). Each test runs once
   untimed (warm-up), then REPETITIONS times; the median is reported.
   nibble: `nibble-run bench LIBRARY --num-threads=T --prefill=N
   --decode-at=C --decode-tokens=DECODE_TOKENS --repetitions=REPETITIONS` on
   the kept and f32 libraries of step 1, in a child process, one per
   (build, thread count); its stdout lines
     bench threads=2 test=prefill tokens=128 context=0 seconds=... tokens_per_s=...
     bench threads=2 test=decode tokens=32 context=128 seconds=... tokens_per_s=...
   (the medians over its repetitions; it runs no untimed warm-up) are the
   numbers. The ratio is nibble / llama.cpp (above 1: nibble is faster).

3. Memory. `nibble-run generate LIBRARY --prompt PROMPT --max-tokens
   RSS_TOKENS --num-threads=max(threads)` on each library; its peak RSS is
   set beside what the library must hold. From the header of its weights
   file (model.weights.safetensors, which the runtime mmaps): the bytes
   every token reads (packed linears' qweight/scales/mins, float linears,
   norms; the f32 token embedding too when it is also the LM head, i.e. a
   tied f32 build), apart from the f32 embedding when only the token lookup
   reads it (a few rows per token, so little of it becomes resident). The
   KV cache: 2 (keys, values) x layers x CAPACITY x kv_heads x head_dim x 4
   bytes (f32 states, zero-filled when a session opens, so all resident),
   with layers, kv_heads and head_dim from the GGUF's metadata. And
   nibble-run's own RSS with no model (`nibble-run generate --help`: its
   code and the MLIR/LLVM libraries it links).

Before each speed measurement at T threads the script waits (up to
--wait-quiet s, default 60) until the other processes leave T CPUs free
(busy below --quiet = 15% plus the share of CPUs T does not use; /proc/stat
over 2 s), and records how busy the CPUs were (the last column of the speed
table: before llama.cpp / each nibble build). On a shared 2-core machine the
other users' work decides the 2-thread numbers (llama.cpp's spinning
barriers slowed down 10x and more when a core was taken).

Everything prints as it goes; at the end three tables (markdown) and the raw
lines. Sizes are in MB = 10^6 bytes. The machine may be shared: run twice and
read the spread before believing a digit.

    --models smollm2,gemma3    --threads 1,2    --prefill 128
    --decode-at 128            --decode-tokens 16   --repetitions 3
    --capacity 2048            --builds kept,f32    (speed part)
    --work-dir DIR --reuse     keep the libraries in DIR and reuse them
    --skip-llamacpp --skip-nibble --skip-memory
    --quiet 0.15 --wait-quiet 60       (see above)
    --nibble-run PATH --nibblec PATH   (default BUILD_DIR/bin/...)

Results of 2026-12-02 and their caveats: docs/Benchmarks.md, "LLM end to
end (issue 8)".
"""

import argparse
import os
import random
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

from machine import wait_quiet  # bench/machine.py, shared with kernels.py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE_DIR = os.environ.get(
    "NIBBLE_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "nibble"))
MODELS_DIR = os.path.join(CACHE_DIR, "models")
REF_PYTHON = os.path.join(CACHE_DIR, "ref-venv", "bin", "python")

MODELS = {
    "smollm2": {"file": "SmolLM2-135M-Instruct.Q4_1.gguf",
                "label": "SmolLM2-135M Q4_1"},
    "gemma3": {"file": "gemma-3-270m-q4_k_m.gguf",
               "label": "Gemma 3 270M Q4_K_M"},
}
# nibblec options of each build.
BUILDS = {
    "kept": ["--keep-quantization"],
    "kept-int8": ["--keep-quantization", "--int8-activations"],
    "f32": [],
    "w4g64": ["--scheme=w4, group = 64"],
    "w4g128": ["--scheme=w4, group = 128"],
    "w8": ["--scheme=w8, channel"],
}
# Builds a model cannot take (their cells stay "-").
UNSUPPORTED_BUILDS = {"smollm2": {"w4g128"}}
# The builds compiled for the memory part, per model.
MEMORY_BUILDS = {"smollm2": ["kept", "f32", "w4g64"], "gemma3": ["kept", "f32"]}

RSS_PROMPT = ("The history of computing is a story of machines that got "
              "smaller, faster and cheaper, and of the people who wrote the "
              "programs that ran on them. In the beginning")

MB = 1e6


def log(message):
    print(message, file=sys.stderr, flush=True)


def int_list(text):
    return [int(x) for x in text.split(",") if x.strip()]


# --------------------------------------------------------------------------
# Files: GGUF metadata, safetensors headers.
# --------------------------------------------------------------------------

def read_gguf_metadata(path):
    """The key/value metadata of a GGUF file (arrays are skipped: None)."""
    scalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f",
              7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"{path}: not a GGUF file")
        version, _, n_kv = struct.unpack("<IQQ", f.read(20))
        if version < 2:
            raise ValueError(f"{path}: GGUF version {version}")

        def read(fmt):
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

        def read_string():
            return f.read(read("<Q")).decode("utf-8", "replace")

        def read_value(kind):
            if kind == 8:
                return read_string()
            if kind == 9:
                item, count = read("<I"), read("<Q")
                if item in scalar:
                    f.seek(count * struct.calcsize(scalar[item]), 1)
                else:
                    for _ in range(count):
                        read_value(item)
                return None
            return read(scalar[kind])

        metadata = {}
        for _ in range(n_kv):
            key = read_string()
            metadata[key] = read_value(read("<I"))
        return metadata


def kv_cache_bytes(gguf_path, capacity):
    """Bytes of nibble's KV cache states: 2 x [layers, capacity, kv_heads,
    head_dim] f32 (frontends/llm/TransformerBuilder.cpp)."""
    meta = read_gguf_metadata(gguf_path)
    arch = meta["general.architecture"]
    layers = meta[f"{arch}.block_count"]
    heads = meta[f"{arch}.attention.head_count"]
    kv_heads = meta.get(f"{arch}.attention.head_count_kv", heads)
    head_dim = meta.get(f"{arch}.attention.key_length",
                        meta[f"{arch}.embedding_length"] // heads)
    size = 2 * layers * capacity * kv_heads * head_dim * 4
    how = f"2 x {layers} layers x {capacity} x {kv_heads} kv heads x {head_dim} x 4 B"
    return size, how


def weights_breakdown(path):
    """Bytes of a compiled model's weights file (safetensors) by use:
    `per_token`, what every token reads (packed qweight/scales/mins, float
    linears, norms, and the f32 embedding when it is also the LM head: a
    tied, unquantized build), `lookup`, the f32 embedding when only the
    token lookup reads it (a few rows per token), and `file`."""
    import json
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    embedding = "model.embed_tokens.weight"
    separate_head = any(name in header for name in (
        "lm_head.weight", "lm_head.qweight", "model.embed_tokens.qweight"))
    out = {"per_token": 0, "lookup": 0, "packed": 0,
           "file": os.path.getsize(path)}
    for name, info in header.items():
        size = info["data_offsets"][1] - info["data_offsets"][0]
        if name.rsplit(".", 1)[-1] in ("qweight", "scales", "mins", "zeros"):
            out["packed"] += size
        if name == embedding and separate_head:
            out["lookup"] += size
        else:
            out["per_token"] += size
    return out


# --------------------------------------------------------------------------
# Child processes with their peak RSS.
# --------------------------------------------------------------------------

def run_measured(command, timeout, stdout=subprocess.PIPE):
    """Runs `command`; returns (returncode, stdout, stderr, wall s, cpu s,
    peak RSS bytes). Peak RSS is the child's ru_maxrss (os.wait4)."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, stdout=out, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return (process.returncode, out.read().decode("utf-8", "replace"),
                err.read().decode("utf-8", "replace"), wall,
                usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)


# --------------------------------------------------------------------------
# llama.cpp
# --------------------------------------------------------------------------

def llamacpp_bench(gguf, threads, prefills, contexts, decode_tokens,
                   repetitions, capacity, seed=1234):
    """[(test, tokens, context, median seconds)] of llama.cpp on `gguf`."""
    import llama_cpp
    n_batch = max([512] + prefills + contexts)
    llm = llama_cpp.Llama(model_path=gguf, n_ctx=capacity, n_batch=n_batch,
                          n_ubatch=n_batch, n_threads=threads,
                          n_threads_batch=threads, logits_all=False,
                          verbose=False)
    try:
        ctx = llm._ctx.ctx
        memory = llama_cpp.llama_get_memory(ctx)
        rng = random.Random(seed)
        tokens = [rng.randrange(llm.n_vocab()) for _ in range(capacity)]
        batch = llama_cpp.llama_batch_init(n_batch, 0, 1)

        def fill(ids, first_position):
            batch.n_tokens = len(ids)
            for i, token in enumerate(ids):
                batch.token[i] = token
                batch.pos[i] = first_position + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = 0
            batch.logits[len(ids) - 1] = 1

        def decode():
            if llama_cpp.llama_decode(ctx, batch) != 0:
                raise RuntimeError("llama_decode failed")
            llama_cpp.llama_synchronize(ctx)

        def prefill_once(n):
            llama_cpp.llama_memory_clear(memory, True)
            fill(tokens[:n], 0)
            start = time.perf_counter()
            decode()
            return time.perf_counter() - start

        def decode_once(context):
            llama_cpp.llama_memory_clear(memory, True)
            for first in range(0, context, n_batch):
                fill(tokens[first:min(context, first + n_batch)], first)
                decode()
            total = 0.0
            for i in range(decode_tokens):
                fill([tokens[context + i]], context + i)
                start = time.perf_counter()
                decode()
                total += time.perf_counter() - start
            return total

        results = []
        for n in prefills:
            prefill_once(n)  # warm-up
            seconds = statistics.median(
                prefill_once(n) for _ in range(repetitions))
            results.append(("prefill", n, 0, seconds))
        for context in contexts:
            decode_once(context)  # warm-up
            seconds = statistics.median(
                decode_once(context) for _ in range(repetitions))
            results.append(("decode", decode_tokens, context, seconds))
        llama_cpp.llama_batch_free(batch)
        return results
    finally:
        llm.close()


# --------------------------------------------------------------------------
# nibble
# --------------------------------------------------------------------------

BENCH_LINE = re.compile(r"^bench\s+(.*)$")


def has_bench(nibble_run):
    try:
        result = subprocess.run([nibble_run, "bench", "--help"],
                                capture_output=True, text=True, timeout=60)
    except OSError:
        return False
    return result.returncode == 0 and "--decode-at" in result.stdout + result.stderr


def parse_bench_lines(text):
    """[(test, tokens, context, seconds)] from `bench key=value ...` lines."""
    results = []
    for line in text.splitlines():
        match = BENCH_LINE.match(line.strip())
        if not match:
            continue
        fields = dict(item.split("=", 1) for item in match.group(1).split()
                      if "=" in item)
        results.append((fields["test"], int(fields["tokens"]),
                        int(fields["context"]), float(fields["seconds"])))
    return results


def compile_library(nibblec, gguf, build, capacity, work_dir, stem, reuse,
                    timeout):
    """Compiles one build; returns a dict with the library and the compile's
    measurements (None when reused)."""
    library = os.path.join(work_dir, stem + ".so")
    weights = os.path.join(work_dir, stem + ".weights.safetensors")
    info = {"library": library, "weights": weights, "wall": None, "cpu": None,
            "rss": None}
    if reuse and os.path.exists(library) and os.path.exists(weights):
        log(f"  {stem}: reusing {library}")
        return info
    command = [nibblec, gguf, *BUILDS[build], f"--capacity={capacity}",
               "-o", library]
    log(f"  {stem}: {' '.join(command)}")
    rc, _, err, wall, cpu, rss = run_measured(command, timeout)
    if rc != 0:
        raise RuntimeError(f"nibblec failed ({rc}):\n{err[-4000:]}")
    info.update(wall=wall, cpu=cpu, rss=rss)
    log(f"  {stem}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS "
        f"{rss / MB:.0f} MB")
    return info


def nibble_bench(nibble_run, library, threads, prefills, contexts,
                 decode_tokens, repetitions, timeout):
    command = [nibble_run, "bench", library, f"--num-threads={threads}",
               "--prefill=" + ",".join(map(str, prefills)),
               "--decode-at=" + ",".join(map(str, contexts)),
               f"--decode-tokens={decode_tokens}",
               f"--repetitions={repetitions}"]
    log("  " + " ".join(command))
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"  timed out after {timeout} s")
        return []
    if result.returncode != 0:
        log(f"  nibble-run bench failed ({result.returncode}):\n"
            f"{result.stderr[-4000:]}")
        return []
    return parse_bench_lines(result.stdout)


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------

def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |"
              for row in rows]
    return "\n".join(lines)


def size_key(entry):
    """A prefill is known by its size, a decode by its context."""
    test, tokens, context, _ = entry
    return tokens if test == "prefill" else context


def rate(entry):
    test, tokens, _, seconds = entry
    return tokens / seconds if seconds > 0 else float("nan")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="See the module docstring (head -80 of this file) for what "
               "is timed.")
    parser.add_argument("--models", default="smollm2",
                        help="comma-separated: " + ", ".join(MODELS))
    parser.add_argument("--gemma", action="store_true",
                        help="add gemma3 to --models")
    parser.add_argument("--threads", type=int_list, default=[1, 2])
    parser.add_argument("--prefill", type=int_list, default=[128],
                        help="prefill sizes (tokens into an empty cache)")
    parser.add_argument("--decode-at", type=int_list, default=[128],
                        help="contexts at which decode is timed")
    parser.add_argument("--decode-tokens", type=int, default=16,
                        help="single-token decode steps timed per repetition")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--capacity", type=int, default=2048,
                        help="KV cache capacity (nibblec --capacity, "
                             "llama.cpp n_ctx)")
    parser.add_argument("--builds", default="kept,f32",
                        help="nibble builds in the speed part: kept, kept-int8, "
                             "f32, w4g64, w4g128, w8")
    parser.add_argument("--rss-tokens", type=int, default=16,
                        help="tokens nibble-run generate makes in the "
                             "memory part")
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--nibblec")
    parser.add_argument("--nibble-run")
    parser.add_argument("--work-dir",
                        help="where the compiled libraries go (default: a "
                             "temporary directory, removed at the end)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse libraries already in --work-dir (their "
                             "compile is then not measured)")
    parser.add_argument("--skip-llamacpp", action="store_true")
    parser.add_argument("--skip-nibble", action="store_true",
                        help="skip nibble's tokens/s")
    parser.add_argument("--skip-memory", action="store_true",
                        help="skip the generate RSS runs")
    parser.add_argument("--quiet", type=float, default=0.15,
                        help="before each speed measurement at T threads, "
                             "wait until the CPUs are less busy than this "
                             "fraction plus the share of the CPUs T leaves "
                             "(others' work on a shared machine)")
    parser.add_argument("--wait-quiet", type=int, default=60,
                        help="seconds to wait for that at most (0: never "
                             "wait)")
    parser.add_argument("--timeout", type=int, default=1800,
                        help="seconds allowed to each child process")
    args = parser.parse_args()

    models = [m for m in args.models.split(",") if m]
    if args.gemma and "gemma3" not in models:
        models.append("gemma3")
    for model in models:
        if model not in MODELS:
            parser.error(f"unknown model {model!r}; known: {', '.join(MODELS)}")
    builds = [b for b in args.builds.split(",") if b]
    for build in builds:
        if build not in BUILDS:
            parser.error(f"unknown build {build!r}; known: {', '.join(BUILDS)}")
    needed = max(args.prefill + [c + args.decode_tokens for c in args.decode_at])
    if needed > args.capacity:
        parser.error(f"--capacity {args.capacity} < {needed} tokens needed")
    nibblec = args.nibblec or os.path.join(args.build_dir, "bin", "nibblec")
    nibble_run = args.nibble_run or os.path.join(args.build_dir, "bin",
                                                 "nibble-run")
    for tool in (nibblec, nibble_run):
        if not os.access(tool, os.X_OK):
            sys.exit(f"llm_vs_llamacpp: {tool} missing; run scripts/build.sh "
                     "(or pass --build-dir)")
    if not args.skip_llamacpp:
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            sys.exit("llm_vs_llamacpp: this python has no llama_cpp. Run with "
                     f"the reference virtualenv:\n  {REF_PYTHON} "
                     f"{' '.join(sys.argv)}\nmade by scripts/setup-reference.sh "
                     "(builds llama-cpp-python from source; slow), or pass "
                     "--skip-llamacpp.")
    bench_available = not args.skip_nibble and has_bench(nibble_run)
    if not args.skip_nibble and not bench_available:
        log(f"llm_vs_llamacpp: {nibble_run} has no `bench` subcommand: "
            "nibble's tokens/s cells stay empty (rebuild nibble-run once it "
            "has one)")

    # What nibble-run holds with no model (its code, MLIR/LLVM libraries).
    baseline_rss = run_measured([nibble_run, "generate", "--help"], 60)[5]
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="nibble-llm-bench-")
    os.makedirs(work_dir, exist_ok=True)
    started = time.monotonic()
    speed_rows, compile_rows, memory_rows, raw = [], [], [], []
    try:
        for model in models:
            gguf = os.path.join(MODELS_DIR, MODELS[model]["file"])
            if not os.path.exists(gguf):
                sys.exit(f"llm_vs_llamacpp: {gguf} missing; run "
                         "scripts/fetch-models.sh")
            label = MODELS[model]["label"]
            log(f"== {label} ({gguf})")

            # 1. Compile.
            wanted = []
            model_builds = [b for b in builds
                            if b not in UNSUPPORTED_BUILDS.get(model, ())]
            if bench_available:
                wanted += model_builds
            if not args.skip_memory:
                wanted += MEMORY_BUILDS[model]
            libraries = {}
            for build in dict.fromkeys(wanted):
                stem = f"{model}-{build}"
                libraries[build] = compile_library(
                    nibblec, gguf, build, args.capacity, work_dir, stem,
                    args.reuse, args.timeout)
                info = libraries[build]
                size = (os.path.getsize(info["library"]) +
                        os.path.getsize(info["weights"]))
                compile_rows.append([
                    label, build,
                    "reused" if info["wall"] is None else f"{info['wall']:.1f}",
                    "reused" if info["cpu"] is None else f"{info['cpu']:.1f}",
                    "reused" if info["rss"] is None else f"{info['rss'] / MB:.0f}",
                    f"{size / MB:.1f}"])

            # 2. Speed.
            for threads in args.threads:
                llama, nibble, busy = {}, {}, []

                def record(source, entries, busy_before):
                    for entry in entries:
                        test, tokens, context, seconds = entry
                        line = (f"{source} model={model} threads={threads} "
                                f"test={test} tokens={tokens} "
                                f"context={context} seconds={seconds:.4f} "
                                f"tokens_per_s={rate(entry):.2f} "
                                f"busy_before={busy_before:.2f}")
                        raw.append(line)
                        log("  " + line)

                if not args.skip_llamacpp:
                    busy.append(
                        wait_quiet(args.quiet, threads, args.wait_quiet))
                    log(f"  llama.cpp, {threads} thread(s)")
                    entries = llamacpp_bench(
                        gguf, threads, args.prefill, args.decode_at,
                        args.decode_tokens, args.repetitions, args.capacity)
                    llama = {(e[0], size_key(e)): e for e in entries}
                    record("llamacpp", entries, busy[-1])
                for build in model_builds if bench_available else []:
                    busy.append(
                        wait_quiet(args.quiet, threads, args.wait_quiet))
                    entries = nibble_bench(
                        nibble_run, libraries[build]["library"], threads,
                        args.prefill, args.decode_at, args.decode_tokens,
                        args.repetitions, args.timeout)
                    nibble.update({(build, e[0], size_key(e)): e
                                   for e in entries})
                    record(f"nibble-{build}", entries, busy[-1])
                for test, size in ([("prefill", n) for n in args.prefill] +
                                   [("decode", c) for c in args.decode_at]):
                    base = (rate(llama[(test, size)])
                            if (test, size) in llama else None)
                    name = (f"prefill {size}" if test == "prefill"
                            else f"decode {args.decode_tokens} @{size}")
                    row = [label, threads, name,
                           f"{base:.2f}" if base else "-"]
                    for build in builds:
                        entry = nibble.get((build, test, size))
                        if entry:
                            value = rate(entry)
                            row += [f"{value:.2f}",
                                    f"{value / base:.3f}" if base else "-"]
                        else:
                            row += ["-", "-"]
                    row.append("/".join(f"{b * 100:.0f}" for b in busy) or "-")
                    speed_rows.append(row)

            # 3. Memory.
            if not args.skip_memory:
                kv, kv_how = kv_cache_bytes(gguf, args.capacity)
                threads = max(args.threads)
                for build in MEMORY_BUILDS[model]:
                    info = libraries[build]
                    parts = weights_breakdown(info["weights"])
                    command = [nibble_run, "generate", info["library"],
                               "--prompt", RSS_PROMPT,
                               f"--max-tokens={args.rss_tokens}",
                               f"--num-threads={threads}"]
                    log("  " + " ".join(command[:3]) +
                        f" --prompt '...' --max-tokens={args.rss_tokens} "
                        f"--num-threads={threads}")
                    rc, out, err, wall, cpu, rss = run_measured(
                        command, args.timeout)
                    if rc != 0:
                        log(f"  generate failed ({rc}):\n{err[-4000:]}")
                        continue
                    speed = [l for l in err.splitlines()
                             if l.startswith("prefill:")]
                    log(f"  {build}: peak RSS {rss / MB:.1f} MB; "
                        f"{speed[-1] if speed else ''}")
                    expected = parts["per_token"] + kv
                    memory_rows.append([
                        label, build,
                        f"{parts['file'] / MB:.1f}",
                        f"{parts['packed'] / MB:.1f}",
                        f"{parts['per_token'] / MB:.1f}",
                        f"{parts['lookup'] / MB:.1f}",
                        f"{kv / MB:.1f}",
                        f"{expected / MB:.1f}",
                        f"{rss / MB:.1f}",
                        f"{rss / expected:.2f}"])
                    raw.append(f"rss model={model} build={build} "
                               f"capacity={args.capacity} kv_bytes={kv} "
                               f"weights_file={parts['file']} "
                               f"packed={parts['packed']} "
                               f"per_token={parts['per_token']} "
                               f"lookup={parts['lookup']} peak_rss={rss} "
                               f"threads={threads} tokens={args.rss_tokens}")
                log(f"  KV cache: {kv_how} = {kv / MB:.1f} MB")
    finally:
        if not args.work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)

    print()
    print(f"llm_vs_llamacpp: threads {args.threads}, prefill {args.prefill}, "
          f"decode {args.decode_tokens} tokens at {args.decode_at}, median of "
          f"{args.repetitions}, capacity {args.capacity}; "
          f"{time.monotonic() - started:.0f} s in all")
    if speed_rows:
        header = ["model", "threads", "test", "llama.cpp tok/s"]
        for build in builds:
            header += [f"nibble {build} tok/s", f"{build} / llama.cpp"]
        header.append("CPU busy before, %")
        print()
        print(markdown_table(header, speed_rows))
    if compile_rows:
        print()
        print(markdown_table(
            ["model", "build", "nibblec wall s", "nibblec CPU s",
             "nibblec peak RSS MB", "library + weights MB"], compile_rows))
    if memory_rows:
        print()
        print(markdown_table(
            ["model", "build", "weights file MB", "of which packed MB",
             "read per token MB", "lookup-only f32 embedding MB",
             "KV cache MB", "per token + KV MB", "generate peak RSS MB",
             "RSS / (per token + KV)"], memory_rows))
        print(f"(nibble-run's own RSS, no model: {baseline_rss / MB:.1f} MB)")
    if raw:
        print()
        print("\n".join(raw))


if __name__ == "__main__":
    main()
