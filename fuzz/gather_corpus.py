#!/usr/bin/env python3
"""Gathers the seed corpus of every fuzz harness from the test data.

Usage: gather_corpus.py --out DIR

Writes DIR/<Harness>/ (emptied first) for each harness of fuzz/:
  OnnxImportFuzzer          every .onnx model of the tests (in the tree and
                            built by test/Frontends/onnx/Inputs/make_models.py
                            and make_quantized_models.py, every case), the
                            models of the ONNX backend node tests
                            (libonnx-testdata), and models whose initializers
                            live in the harness's external.data file
  SupportSafeTensorsFuzzer, archives of every dtype and shape kind, with
  RuntimeSafeTensorsFuzzer  metadata, gaps, empty tensors (and the test
                            archive of
                            test/Compiler/Transforms/Inputs/make_archive.py)
  SupportNpyFuzzer,         every .npy of the tests (in the tree and built by
  RuntimeNpyFuzzer          make_models.py), numpy.save of every dtype, and
                            format versions 1.0, 2.0, 3.0
  NibbleIrFuzzer            every test .mlir file, split at `// -----`, with
                            its comment lines dropped
  NibbleSchemeFuzzer        the body of every #nibble.scheme<...> in the
                            tests and docs
  GgufFuzzer                the GGUF fixtures of test/Unit/Gguf/Inputs, one
                            small file per ggml type and per metadata value
                            type, nested arrays, version 2, custom alignment,
                            and a few invalid ones (truncated, overlapping)
  TokenizerJsonFuzzer       the tokenizer.json fixtures of
                            test/Unit/Tokenizer/Inputs, a minimal BPE with
                            every supported normalizer, pre-tokenizer,
                            decoder and post-processor, rejected variants,
                            and plain JSON (escapes, numbers, deep nesting)
Seed files are named by a hash of their contents, so reruns are identical.
Needs numpy and onnx (scripts/setup.sh's virtualenv).
"""

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONNX_INPUTS = os.path.join(ROOT, "test", "Frontends", "onnx", "Inputs")
NODE_TESTS = "/usr/share/libonnx-testdata/data/node"
# external.data of OnnxImportFuzzer.cpp: float32 value i = (i % 251 - 125) / 64.
EXTERNAL_FLOATS = 65536


def external_values():
    i = np.arange(EXTERNAL_FLOATS)
    return ((i % 251) - 125).astype(np.float32) / np.float32(64)


class Corpus:
    def __init__(self, out_dir, name):
        self.dir = os.path.join(out_dir, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.count = 0

    def add(self, data):
        if isinstance(data, str):
            data = data.encode()
        path = os.path.join(self.dir, hashlib.sha1(data).hexdigest())
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
            self.count += 1

    def add_file(self, path):
        with open(path, "rb") as f:
            self.add(f.read())


def test_files(*patterns):
    files = set()
    for pattern in patterns:
        files.update(glob.glob(os.path.join(ROOT, pattern), recursive=True))
    return sorted(files)


def case_names(script, prefixes):
    """The case names a make_*models.py script accepts (its case_/err_/error_
    functions and the FILE_ERRORS keys)."""
    text = open(script).read()
    names = []
    for prefix, strip in prefixes:
        names += [m if not strip else m[len(prefix):]
                  for m in re.findall(rf"^def ({prefix}\w+)\(", text, re.M)]
    return names


def run_model_script(script, args, cwd):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "test", "python")
    subprocess.run([sys.executable, script] + args, check=True, cwd=cwd,
                   env=env, stdout=subprocess.DEVNULL)


# ---------------------------------------------------------------------------
# ONNX


def external_models():
    """Quantized-op and plain models whose initializers point into
    external.data (offsets inside it, outside it, misaligned, with and
    without a length)."""
    import onnx
    from onnx import TensorProto, helper

    values = external_values()
    models = []

    def ext(name, data_type, dims, offset, nbytes, length=True):
        t = TensorProto(name=name, data_type=data_type, dims=dims)
        t.data_location = TensorProto.EXTERNAL
        for key, value in [("location", "external.data"),
                           ("offset", str(offset))] + \
                ([("length", str(nbytes))] if length else []):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        return t

    def model(nodes, inputs, outputs, inits, ms=False):
        graph = helper.make_graph(nodes, "fuzz", inputs, outputs, inits)
        opsets = [helper.make_opsetid("", 19)]
        if ms:
            opsets.append(helper.make_opsetid("com.microsoft", 1))
        return helper.make_model(graph, opset_imports=opsets, ir_version=9)

    FLOAT, INT8, UINT8 = TensorProto.FLOAT, TensorProto.INT8, TensorProto.UINT8
    x = helper.make_tensor_value_info("x", FLOAT, [2, 8])
    y = helper.make_tensor_value_info("y", FLOAT, [2, 4])
    # MatMul over an external float weight; Gemm with an external bias.
    models.append(model([helper.make_node("MatMul", ["x", "w"], ["y"])],
                        [x], [y], [ext("w", FLOAT, [8, 4], 0, 128)]))
    models.append(model([helper.make_node("MatMul", ["x", "w"], ["y"])],
                        [x], [y], [ext("w", FLOAT, [8, 4], 4096, 128, False)]))
    models.append(model([helper.make_node("Gemm", ["x", "w", "b"], ["y"],
                                          transB=1)],
                        [x], [y], [ext("w", FLOAT, [4, 8], 256, 128),
                                   ext("b", FLOAT, [4], 1024, 16)]))
    # Past the end of the file, and a misaligned offset.
    models.append(model([helper.make_node("MatMul", ["x", "w"], ["y"])],
                        [x], [y], [ext("w", FLOAT, [8, 4],
                                       4 * EXTERNAL_FLOATS - 64, 128)]))
    models.append(model([helper.make_node("MatMul", ["x", "w"], ["y"])],
                        [x], [y], [ext("w", FLOAT, [8, 4], 3, 128)]))
    # DequantizeLinear of an external int8 / uint8 weight, per channel.
    for qtype in (INT8, UINT8):
        inits = [ext("q", qtype, [8, 4], 64, 32),
                 helper.make_tensor("s", FLOAT, [4], [0.1, 0.2, 0.3, 0.4])]
        if qtype == UINT8:
            inits.append(helper.make_tensor("z", UINT8, [4], [128, 1, 2, 3]))
        models.append(model(
            [helper.make_node("DequantizeLinear",
                              ["q", "s"] + (["z"] if qtype == UINT8 else []),
                              ["w"], axis=1),
             helper.make_node("MatMul", ["x", "w"], ["y"])],
            [x], [y], inits))
    # MatMulNBits (com.microsoft): K=8, N=4, block 16 -> one block per row.
    blob = ext("B", UINT8, [4, 1, 8], 512, 32)
    scales = ext("scales", FLOAT, [4], 2048, 16)
    zeros = helper.make_tensor("zp", UINT8, [4], [0x88, 0x88, 0x88, 0x88])
    models.append(model(
        [helper.make_node("MatMulNBits", ["x", "B", "scales", "zp"], ["y"],
                          domain="com.microsoft", K=8, N=4, bits=4,
                          block_size=16)],
        [x], [y], [blob, scales, zeros], ms=True))
    # QDQ activations around a MatMul over an external weight.
    models.append(model(
        [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
         helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
         helper.make_node("DequantizeLinear", ["q", "s"], ["w"], axis=1),
         helper.make_node("MatMul", ["xd", "w"], ["y"])],
        [x], [y],
        [helper.make_tensor("xs", FLOAT, [], [0.05]),
         helper.make_tensor("xz", UINT8, [], [128]),
         ext("q", INT8, [8, 4], 100, 32),
         helper.make_tensor("s", FLOAT, [4], [0.1, 0.1, 0.1, 0.1])]))
    # DynamicQuantizeLinear + MatMulInteger over an external weight.
    models.append(model(
        [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
         helper.make_node("MatMulInteger", ["xq", "q", "xz", "qz"], ["acc"]),
         helper.make_node("Cast", ["acc"], ["accf"], to=FLOAT),
         helper.make_node("Mul", ["accf", "xs"], ["y"])],
        [x], [y],
        [ext("q", UINT8, [8, 4], 7, 32),
         helper.make_tensor("qz", UINT8, [], [128])]))
    # QLinearMatMul with an external uint8 weight.
    models.append(model(
        [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
         helper.make_node("QLinearMatMul", ["xq", "xs", "xz", "q", "ws", "wz",
                                            "ys", "yz"], ["yq"]),
         helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])],
        [x], [y],
        [helper.make_tensor("xs", FLOAT, [], [0.05]),
         helper.make_tensor("xz", UINT8, [], [128]),
         ext("q", UINT8, [8, 4], 33, 32),
         helper.make_tensor("ws", FLOAT, [], [0.02]),
         helper.make_tensor("wz", UINT8, [], [128]),
         helper.make_tensor("ys", FLOAT, [], [0.1]),
         helper.make_tensor("yz", UINT8, [], [128])]))
    assert values.nbytes == 4 * EXTERNAL_FLOATS
    return [m.SerializeToString() for m in models]


def gather_onnx(out_dir):
    corpus = Corpus(out_dir, "OnnxImportFuzzer")
    for path in test_files("test/**/*.onnx"):
        corpus.add_file(path)
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(ONNX_INPUTS, "make_models.py")
        names = case_names(script, [("case_", True), ("err_", True)])
        run_model_script(script, [tmp] + names, tmp)
        script = os.path.join(ONNX_INPUTS, "make_quantized_models.py")
        names = case_names(script, [("case_", True), ("error_", False)])
        run_model_script(script, [tmp] + names, tmp)
        for path in sorted(glob.glob(os.path.join(tmp, "*.onnx"))):
            corpus.add_file(path)
        # The inputs and references of the cases, for the .npy readers.
        npys = [open(p, "rb").read()
                for p in sorted(glob.glob(os.path.join(tmp, "*.npy")))
                if os.path.getsize(p) <= 16384]
    for path in sorted(glob.glob(os.path.join(NODE_TESTS, "*", "model.onnx"))):
        corpus.add_file(path)
    for data in external_models():
        corpus.add(data)
    return corpus, npys


# ---------------------------------------------------------------------------
# safetensors


def safetensors_bytes(entries, metadata=None, data=b"", pad=True):
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    header.update(entries)
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    seeds = []
    sizes = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4,
             "I16": 2, "I8": 1, "U8": 1, "BOOL": 1, "U16": 2, "U32": 4,
             "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1}
    for dtype, size in sizes.items():
        n = 6 * size
        data = bytes((i * 37 + 11) % 256 for i in range(n))
        if dtype == "BOOL":
            data = bytes(i % 2 for i in range(n))
        seeds.append(safetensors_bytes(
            {"t": {"dtype": dtype, "shape": [2, 3], "data_offsets": [0, n]}},
            data=data))
    f32 = np.arange(8, dtype="<f4").tobytes()
    f16 = np.arange(4, dtype="<f2").tobytes()
    seeds.append(safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [2, 4], "data_offsets": [0, 32]},
         "b": {"dtype": "F16", "shape": [4], "data_offsets": [32, 40]},
         "c": {"dtype": "I8", "shape": [], "data_offsets": [40, 41]},
         "empty": {"dtype": "F32", "shape": [0, 3], "data_offsets": [41, 41]}},
        metadata={"format": "pt", "nibble.note": "seed"},
        data=f32 + f16 + b"\x7f"))
    # A gap between tensors, trailing bytes, unpadded header, unicode names.
    seeds.append(safetensors_bytes(
        {"w\u00e9ight": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]},
         "x": {"dtype": "U8", "shape": [3], "data_offsets": [16, 19]}},
        data=bytes(range(24)), pad=False))
    seeds.append(safetensors_bytes({}, metadata={}))
    seeds.append(safetensors_bytes({}))
    # Invalid on purpose: overlapping, out of range, wrong size, bad JSON.
    seeds.append(safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}},
        data=bytes(12)))
    seeds.append(safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
        data=bytes(8)))
    seeds.append(struct.pack("<Q", 1 << 40) + b"{}")
    seeds.append(struct.pack("<Q", 6) + b"[1,2]" + b" ")
    return seeds


def gather_safetensors(out_dir):
    corpora = [Corpus(out_dir, "SupportSafeTensorsFuzzer"),
               Corpus(out_dir, "RuntimeSafeTensorsFuzzer")]
    seeds = safetensors_seeds()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "archive.safetensors")
        run_model_script(os.path.join(ROOT, "test", "Compiler", "Transforms",
                                      "Inputs", "make_archive.py"), [path], tmp)
        seeds.append(open(path, "rb").read())
    for corpus in corpora:
        for seed in seeds:
            corpus.add(seed)
    return corpora


# ---------------------------------------------------------------------------
# .npy


def npy_bytes(array, version=None):
    import io
    buffer = io.BytesIO()
    if version is None:
        np.save(buffer, array)
    else:
        np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def gather_npy(out_dir, generated_npys):
    corpora = [Corpus(out_dir, "SupportNpyFuzzer"),
               Corpus(out_dir, "RuntimeNpyFuzzer")]
    seeds = [open(p, "rb").read() for p in test_files("test/**/*.npy")]
    seeds += generated_npys
    for dtype in ("<f8", "<f4", "<f2", "<i8", "<i4", "<i2", "i1", "u1", "?",
                  ">f4", "<u2", "<u4", "<u8", "<c8"):
        seeds.append(npy_bytes(np.arange(6).astype(dtype).reshape(2, 3)))
    seeds.append(npy_bytes(np.float32(1.5)))                  # scalar
    seeds.append(npy_bytes(np.zeros((0, 4), np.float32)))     # empty
    seeds.append(npy_bytes(np.zeros((1, 1, 1, 1, 2), np.int8)))
    seeds.append(npy_bytes(np.asfortranarray(
        np.arange(6, dtype=np.float32).reshape(2, 3))))       # Fortran order
    for version in ((1, 0), (2, 0), (3, 0)):
        seeds.append(npy_bytes(np.arange(4, dtype=np.float32), version))
    seeds.append(npy_bytes(np.arange(6, dtype=np.float32))[:-4])  # truncated
    for corpus in corpora:
        for seed in seeds:
            corpus.add(seed)
    return corpora


# ---------------------------------------------------------------------------
# MLIR


def strip_comments(text):
    return "\n".join(line for line in text.splitlines()
                     if not line.lstrip().startswith("//")) + "\n"


def gather_mlir(out_dir):
    ir = Corpus(out_dir, "NibbleIrFuzzer")
    scheme = Corpus(out_dir, "NibbleSchemeFuzzer")
    for path in test_files("test/**/*.mlir"):
        text = open(path).read()
        for chunk in re.split(r"^// -----.*$", text, flags=re.M):
            chunk = strip_comments(chunk)
            if chunk.strip():
                ir.add(chunk)
    # Scheme bodies: the text between "#nibble.scheme<" and its matching ">".
    for path in test_files("test/**/*.mlir", "test/**/*.test", "docs/*.md",
                           "README.md", "dialects/*.td"):
        text = open(path).read()
        for match in re.finditer(r"#nibble\.scheme<", text):
            depth, i = 1, match.end()
            while i < len(text) and depth and text[i] != "\n":
                depth += {"<": 1, ">": -1}.get(text[i], 0)
                i += 1
            if depth == 0:
                scheme.add(text[match.end():i - 1])
    return [ir, scheme]


# ---------------------------------------------------------------------------
# GGUF


def gguf_string(text):
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(data)) + data


def gguf_bytes(entries=(), tensors=(), data=b"", version=3, alignment=32):
    """A GGUF file: entries are (key, type, value bytes), tensors (name, ne,
    ggml type, offset)."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(entries))
    for key, vtype, value in entries:
        out += gguf_string(key) + struct.pack("<I", vtype) + value
    for name, ne, gtype, offset in tensors:
        out += gguf_string(name) + struct.pack("<I", len(ne))
        out += b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", gtype, offset)
    if tensors:
        out += bytes(-len(out) % alignment)
    return out + data


# ggml type: (block elements, block bytes), as runtime/Gguf.cpp lists them.
GGML_BLOCKS = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22),
               7: (32, 24), 8: (32, 34), 9: (32, 36), 10: (256, 84),
               11: (256, 110), 12: (256, 144), 13: (256, 176),
               14: (256, 210), 15: (256, 292), 30: (1, 2)}


def gguf_seeds():
    seeds = []
    rng = np.random.default_rng(5)
    arch = ("general.architecture", 8, gguf_string("seed"))
    # One tensor of two rows of random blocks per type.
    for gtype, (elements, nbytes) in GGML_BLOCKS.items():
        row = elements if elements > 1 else 8
        data = bytearray(rng.integers(0, 256, 2 * row // elements * nbytes,
                                      dtype=np.uint8).tobytes())
        seeds.append(gguf_bytes([arch], [("w", [row, 2], gtype, 0)],
                                bytes(data)))
    # Every metadata value type, arrays of them, nested arrays.
    scalars = [(0, "<B", 7), (1, "<b", -7), (2, "<H", 700), (3, "<h", -700),
               (4, "<I", 70000), (5, "<i", -70000), (6, "<f", 0.5),
               (7, "<B", 1), (10, "<Q", 7 << 40), (11, "<q", -7 << 40),
               (12, "<d", 0.25)]
    entries = [arch]
    for vtype, fmt, value in scalars:
        entries.append((f"k.{vtype}", vtype, struct.pack(fmt, value)))
        entries.append((f"a.{vtype}", 9, struct.pack("<IQ", vtype, 2) +
                        struct.pack(fmt, value) * 2))
    entries.append(("k.8", 8, gguf_string("h\u00e9llo")))
    entries.append(("a.8", 9, struct.pack("<IQ", 8, 3) + gguf_string("a") +
                    gguf_string("") + gguf_string("<0x0A>")))
    inner = struct.pack("<IQ", 5, 2) + struct.pack("<ii", 1, 2)
    entries.append(("a.9", 9, struct.pack("<IQ", 9, 2) + inner * 2))
    entries.append(("general.alignment", 4, struct.pack("<I", 64)))
    seeds.append(gguf_bytes(entries, [("a", [16], 0, 0), ("b", [32, 2], 2, 64)],
                            bytes(range(100)), alignment=64))
    seeds.append(gguf_bytes([arch], [("a", [4], 0, 0)], bytes(16), version=2))
    seeds.append(gguf_bytes())
    # Invalid on purpose: truncated data, overlapping tensors, bad magic.
    seeds.append(gguf_bytes([arch], [("a", [32], 0, 0)], bytes(64)))
    seeds.append(gguf_bytes([arch], [("a", [16], 0, 0), ("b", [8], 0, 32)],
                            bytes(64)))
    seeds.append(b"GGUG" + seeds[-1][4:])
    return seeds


def gather_gguf(out_dir):
    corpus = Corpus(out_dir, "GgufFuzzer")
    for path in test_files("test/Unit/Gguf/Inputs/*.gguf"):
        corpus.add_file(path)
    for seed in gguf_seeds():
        corpus.add(seed)
    return [corpus]


# ---------------------------------------------------------------------------
# tokenizer.json


def tokenizer_json_seeds():
    vocab = {"a": 0, "b": 1, "ab": 2, "<s>": 3, "\u2581": 4, "\u2581a": 5,
             "<0x0A>": 6, "<0xC3>": 7, "<0xA9>": 8, "\u0120": 9, "1": 10}
    model = {"type": "BPE", "vocab": vocab, "merges": ["a b", "\u2581 a"],
             "byte_fallback": True, "unk_token": "<s>", "fuse_unk": True}
    added = [{"id": 3, "content": "<s>", "special": True, "lstrip": False,
              "rstrip": True, "single_word": False, "normalized": False}]
    base = {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": added, "normalizer": None, "pre_tokenizer": None,
            "post_processor": None, "decoder": None, "model": model}
    components = [
        ("normalizer", {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "},
             "content": "\u2581"},
            {"type": "Strip", "strip_left": True, "strip_right": True}]}),
        ("pre_tokenizer", {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"String": "-"},
             "behavior": "MergedWithNext", "invert": False},
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": True,
             "use_regex": True}]}),
        ("pre_tokenizer", {"type": "Split", "pattern": {"Regex": (
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
            "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+"
            "|\\s+(?!\\S)|\\s+")}, "behavior": "Isolated",
            "invert": False}),
        ("pre_tokenizer", {"type": "Metaspace", "replacement": "\u2581",
                           "prepend_scheme": "first", "split": True}),
        ("decoder", {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"},
             "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}),
        ("decoder", {"type": "ByteLevel"}),
        ("decoder", {"type": "Metaspace", "replacement": "\u2581",
                     "prepend_scheme": "always"}),
        ("post_processor", {"type": "TemplateProcessing", "single": [
            {"SpecialToken": {"id": "<s>", "type_id": 0}},
            {"Sequence": {"id": "A", "type_id": 0}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [3],
                                       "tokens": ["<s>"]}}}),
        ("post_processor", {"type": "ByteLevel"}),
        # Rejected.
        ("normalizer", {"type": "NFKC"}),
        ("pre_tokenizer", {"type": "Whitespace"}),
        ("decoder", {"type": "WordPiece"}),
        ("truncation", {"max_length": 8}),
    ]
    seeds = [json.dumps(base)]
    for key, value in components:
        seeds.append(json.dumps(dict(base, **{key: value})))
    everything = dict(base)
    for key, value in components[:9]:
        everything[key] = value
    seeds.append(json.dumps(everything, indent=1))
    seeds.append(json.dumps(dict(base, model=dict(model, merges=[
        ["a", "b"], ["\u2581", "a"]]))))
    seeds.append(json.dumps(dict(base, model=dict(model, type="Unigram"))))
    seeds.append(json.dumps(dict(base, model=dict(model, merges=["a c"]))))
    seeds.append(json.dumps(dict(base, added_tokens=added + [
        {"id": 70000, "content": "x"}])))
    # Plain JSON for the parser.
    seeds += ['{"a": [1, -2.5e-3, 1E+2, 0, true, false, null], "b": {}}',
              '"\\u00e9\\ud83d\\ude00\\n\\t\\"\\/"',
              "[" * 64 + "]" * 64, "[" * 65 + "]" * 65,
              '{"k": 1, "k": 2}', '[1,]', '"\\ud800"', "01", "-", "1.5e",
              '"\u00e9 caf\u00e9 \U0001f642"']
    return [seed.encode("utf-8") if isinstance(seed, str) else seed
            for seed in seeds]


def gather_tokenizer_json(out_dir):
    corpus = Corpus(out_dir, "TokenizerJsonFuzzer")
    for path in test_files("test/Unit/Tokenizer/Inputs/*.json"):
        corpus.add_file(path)
    for seed in tokenizer_json_seeds():
        corpus.add(seed)
    return [corpus]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    onnx_corpus, npys = gather_onnx(args.out)
    corpora = [onnx_corpus]
    corpora += gather_safetensors(args.out)
    corpora += gather_npy(args.out, npys)
    corpora += gather_mlir(args.out)
    corpora += gather_gguf(args.out)
    corpora += gather_tokenizer_json(args.out)
    print("fuzz corpus: " + ", ".join(
        f"{os.path.basename(c.dir)} {c.count}" for c in corpora))


if __name__ == "__main__":
    main()
