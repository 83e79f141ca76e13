#!/usr/bin/env python3
"""Writes the fixtures of GgufTests with the PyPI `gguf` package.

Usage (from the repository root, with scripts/setup.sh's virtualenv):
  ~/.cache/nibble/venv/bin/python test/Unit/Gguf/Inputs/make_gguf_fixtures.py \
      [--models DIR]

Writes next to this script:
  dequant.gguf    for every ggml type the dequantizers support, blocks of
                  random bytes (with finite f16 scale fields) as the tensor
                  "<TYPE>.random" stored in that type, and, where gguf can
                  quantize the type, gaussian data quantized by
                  gguf.quants.quantize as "<TYPE>.quantized"; each with
                  "<name>.expected", the F32 reference from
                  gguf.quants.dequantize. gguf has no dequantizer for Q8_1
                  and Q8_K; their references are the two-line formulas of
                  ggml's dequantize_row_q8_K (Q8_1 as Q8_0), in numpy below.
                  Metadata "nibble.f16_all.checksum": the checksum of the
                  floats of all 65536 f16 bit patterns (numpy's conversion).
  metadata.gguf   every metadata value type, arrays of each, nested arrays
                  and string arrays (the values in METADATA below, which the
                  test repeats), general.alignment = 64, tensors of 1 to 4
                  dimensions.
  real_models.gguf  (only with the models present) for each tensor of
                  SmolLM2-135M-Instruct.Q4_1.gguf and
                  gemma-3-270m-q4_k_m.gguf, in file order: its name, ggml
                  type, the checksum of its floats as gguf's numpy
                  dequantizer gives them, and its first 4 floats.

checksum(y) = sum over i of (2 i + 1) * bits(y[i]) mod 2^64, bits the
float32's bit pattern as an unsigned integer and i the flat element index:
any single changed bit changes it.

Re-running gives the same files (fixed seeds).
"""

import argparse
import os

import numpy as np

import gguf
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V
from gguf.constants import GGML_QUANT_SIZES

HERE = os.path.dirname(os.path.abspath(__file__))

# gguf-py still lists Q8_1 with its old 40-byte block (two f32); ggml's
# block_q8_1 is two f16 + 32 int8 = 36 bytes (ggml-common.h).
GGML_QUANT_SIZES[Q.Q8_1] = (32, 36)

# Byte offsets of the f16 fields of each block type (ggml-common.h).
F16_FIELDS = {
    Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0],
    Q.Q8_1: [0, 2], Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2],
    Q.Q5_K: [0, 2], Q.Q6_K: [208],
}

TYPES = [Q.F32, Q.F16, Q.BF16, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0,
         Q.Q8_1, Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K, Q.Q8_K]
QUANTIZABLE = [Q.F16, Q.BF16, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0]


def checksum(values):
    """sum (2 i + 1) * bits(values[i]) mod 2^64 over the flat float32s."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    bits = bits.reshape(-1).astype(np.uint64)
    weights = np.arange(bits.size, dtype=np.uint64) * np.uint64(2) + \
        np.uint64(1)
    return int((bits * weights).sum(dtype=np.uint64))


def random_f16(rng, count):
    """Finite f16 bit patterns of magnitude below 2^5 (so no product of a
    scale and a code overflows): zeros, subnormals and normals of both
    signs."""
    sign = rng.integers(0, 2, count, dtype=np.uint16) << np.uint16(15)
    exponent = rng.integers(0, 20, count, dtype=np.uint16) << np.uint16(10)
    mantissa = rng.integers(0, 1024, count, dtype=np.uint16)
    return sign | exponent | mantissa


def random_blocks(rng, qtype, rows, blocks_per_row):
    """Random bytes for rows × blocks_per_row blocks of `qtype` with every
    f16 (Q8_K: f32) scale field finite."""
    block_elements, block_bytes = GGML_QUANT_SIZES[qtype]
    n = rows * blocks_per_row
    data = rng.integers(0, 256, (n, block_bytes), dtype=np.uint8)
    if qtype in F16_FIELDS:
        for offset in F16_FIELDS[qtype]:
            data[:, offset:offset + 2] = \
                random_f16(rng, n).view(np.uint8).reshape(n, 2)
    if qtype == Q.Q8_K:
        d = (rng.standard_normal(n) * 0.01).astype(np.float32)
        data[:, 0:4] = d.view(np.uint8).reshape(n, 4)
    return data.reshape(rows, blocks_per_row * block_bytes)


def reference_dequantize(data, qtype):
    """gguf's numpy dequantizer; for the two types it lacks, ggml's formula."""
    if qtype == Q.Q8_K:
        # dequantize_row_q8_K: y = x.d * x.qs[j], d an f32.
        blocks = data.reshape(-1, 292)
        d = blocks[:, 0:4].copy().view(np.float32)
        qs = blocks[:, 4:260].view(np.int8).astype(np.float32)
        return (d * qs).reshape(data.shape[0], -1)
    if qtype == Q.Q8_1:
        # ggml has no dequantize_row_q8_1; Q8_1's d and qs mean what Q8_0's
        # do: y = qs[j] * d (s = d * sum(qs) is redundant).
        blocks = data.reshape(-1, 36)
        d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
        qs = blocks[:, 4:36].view(np.int8).astype(np.float32)
        return (qs * d).reshape(data.shape[0], -1)
    return gguf.quants.dequantize(data, qtype)


def write_dequant(path):
    rng = np.random.default_rng(20261202)
    writer = gguf.GGUFWriter(path, "nibble-test")
    for qtype in TYPES:
        name = qtype.name
        block_elements, block_bytes = GGML_QUANT_SIZES[qtype]
        if block_elements == 1:
            # Plain floats: every bit pattern (F16: NaN and infinity too).
            raw = rng.integers(0, 256, (3, 64 * block_bytes), dtype=np.uint8)
        else:
            blocks_per_row = 2 if block_elements == 256 else 4
            raw = random_blocks(rng, qtype, 3, blocks_per_row)
        expected = reference_dequantize(raw, qtype)
        writer.add_tensor(name + ".random", raw, raw_dtype=qtype)
        writer.add_tensor(name + ".random.expected",
                          np.ascontiguousarray(expected, dtype=np.float32))
        if qtype in QUANTIZABLE:
            values = (rng.standard_normal((4, 256)) *
                      rng.uniform(0.01, 2.0, (4, 1))).astype(np.float32)
            values[1, :7] = [0, -0.0, 1e-8, -1e-8, 65504, -3.5, 100]
            quantized = gguf.quants.quantize(values, qtype)
            raw = np.ascontiguousarray(quantized).view(np.uint8)
            expected = reference_dequantize(raw, qtype)
            writer.add_tensor(name + ".quantized", raw, raw_dtype=qtype)
            writer.add_tensor(name + ".quantized.expected",
                              np.ascontiguousarray(expected, dtype=np.float32))
    every_f16 = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    writer.add_uint64("nibble.f16_all.checksum",
                      checksum(every_f16.view(np.float16).astype(np.float32)))
    finish(writer)


# (key, value type, value, array element type or None). The test repeats
# these values.
METADATA = [
    ("t.uint8", V.UINT8, 200, None),
    ("t.int8", V.INT8, -100, None),
    ("t.uint16", V.UINT16, 60000, None),
    ("t.int16", V.INT16, -30000, None),
    ("t.uint32", V.UINT32, 4000000000, None),
    ("t.int32", V.INT32, -2000000000, None),
    ("t.float32", V.FLOAT32, 0.1, None),
    ("t.bool", V.BOOL, True, None),
    ("t.bool_false", V.BOOL, False, None),
    ("t.string", V.STRING, "h\u00e9llo w\u00f6rld \U0001f600", None),
    ("t.uint64", V.UINT64, 18000000000000000000, None),
    ("t.int64", V.INT64, -9000000000000000000, None),
    ("t.float64", V.FLOAT64, -2.5e300, None),
    ("t.array.uint8", V.ARRAY, [0, 1, 255], V.UINT8),
    ("t.array.int8", V.ARRAY, [-128, 0, 127], V.INT8),
    ("t.array.uint16", V.ARRAY, [0, 65535], V.UINT16),
    ("t.array.int16", V.ARRAY, [-32768, 32767], V.INT16),
    ("t.array.uint32", V.ARRAY, [1, 2, 4294967295], V.UINT32),
    ("t.array.int32", V.ARRAY, [-1, 0, 2147483647], V.INT32),
    ("t.array.float32", V.ARRAY, [1.5, -0.25, 3.0e38], V.FLOAT32),
    ("t.array.bool", V.ARRAY, [True, False, True], V.BOOL),
    ("t.array.string", V.ARRAY, ["a", "", "\u00fcber", "<0x0A>"], V.STRING),
    ("t.array.uint64", V.ARRAY, [0, 18446744073709551615], V.UINT64),
    ("t.array.int64", V.ARRAY, [-9223372036854775808, 5], V.INT64),
    ("t.array.float64", V.ARRAY, [1e-300, -0.5], V.FLOAT64),
    ("t.array.nested", V.ARRAY, [[1, 2], [3], [4, 5, 6]], None),
    ("t.array.nested_strings", V.ARRAY, [["x", "yz"], ["w"]], None),
    ("t.array.deep", V.ARRAY, [[[7, 8]], [[9]]], None),
]


def write_metadata(path):
    writer = gguf.GGUFWriter(path, "nibble-test")
    writer.add_custom_alignment(64)
    for key, vtype, value, sub_type in METADATA:
        writer.add_key_value(key, value, vtype, sub_type=sub_type)
    rng = np.random.default_rng(7)
    writer.add_tensor("one_d", np.arange(5, dtype=np.float32))
    writer.add_tensor("two_d", rng.standard_normal((3, 4)).astype(np.float16))
    writer.add_tensor("three_d", np.ones((2, 3, 4), dtype=np.float32))
    raw = random_blocks(rng, Q.Q4_0, 2 * 3 * 5, 2)
    writer.add_tensor("four_d.q4_0", raw.reshape(2, 3, 5, 36),
                      raw_dtype=Q.Q4_0)
    finish(writer)


MODELS = ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"]


def tensor_checksum(tensor):
    """checksum() of the whole dequantized tensor, computed a slice of rows
    at a time (a large embedding would not fit in memory at once)."""
    qtype = Q(tensor.tensor_type)
    data = tensor.data
    rows = data.reshape(-1, data.shape[-1]) if data.ndim > 1 else \
        data.reshape(1, -1)
    total, offset, first = 0, 0, None
    for start in range(0, rows.shape[0], 4096):
        chunk = np.asarray(rows[start:start + 4096])
        values = reference_dequantize(chunk, qtype).astype(np.float32)
        values = values.reshape(-1)
        if first is None:
            first = values[:4].copy()
        bits = values.view(np.uint32).astype(np.uint64)
        weights = (np.arange(values.size, dtype=np.uint64) +
                   np.uint64(offset)) * np.uint64(2) + np.uint64(1)
        total = (total + int((bits * weights).sum(dtype=np.uint64))) % 2**64
        offset += values.size
    return total, first


def write_real_models(path, models_dir):
    writer = gguf.GGUFWriter(path, "nibble-test")
    for index, model in enumerate(MODELS):
        reader = gguf.GGUFReader(os.path.join(models_dir, model))
        names, types, sums, firsts = [], [], [], []
        for tensor in reader.tensors:
            total, first = tensor_checksum(tensor)
            names.append(tensor.name)
            types.append(int(tensor.tensor_type))
            sums.append(total)
            firsts.extend(float(x) for x in first)
        prefix = f"model{index}."
        writer.add_key_value(prefix + "file", model, V.STRING)
        writer.add_key_value(prefix + "names", names, V.ARRAY, V.STRING)
        writer.add_key_value(prefix + "types", types, V.ARRAY, V.UINT32)
        writer.add_key_value(prefix + "checksums", sums, V.ARRAY, V.UINT64)
        writer.add_key_value(prefix + "first_values", firsts, V.ARRAY,
                             V.FLOAT32)
    finish(writer)


def finish(writer):
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=os.path.join(
        os.environ.get("NIBBLE_CACHE_DIR",
                       os.path.expanduser("~/.cache/nibble")), "models"))
    parser.add_argument("--out", default=HERE)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    write_dequant(os.path.join(args.out, "dequant.gguf"))
    write_metadata(os.path.join(args.out, "metadata.gguf"))
    if all(os.path.exists(os.path.join(args.models, m)) for m in MODELS):
        write_real_models(os.path.join(args.out, "real_models.gguf"),
                          args.models)
    else:
        print(f"models not found in {args.models}: real_models.gguf kept")


if __name__ == "__main__":
    main()
