"""Helpers shared by nibble's Python test scripts (numpy only).

Reads and writes safetensors files with plain numpy (so no test needs the
safetensors package) and holds the code books of the quantized formats,
written from their definitions rather than from nibble's C++.
"""

import json
import struct

import numpy as np

# The 16 NF4 levels of QLoRA / bitsandbytes, in code order.
NF4 = np.array([-1.0, -0.6961928009986877, -0.5250730514526367,
                -0.39491748809814453, -0.28444138169288635,
                -0.18477343022823334, -0.09105003625154495, 0.0,
                0.07958029955625534, 0.16093020141124725, 0.24611230194568634,
                0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                0.7229568362236023, 1.0])


def fp4_e2m1_levels():
    """The 16 FP4 E2M1 values in code order: bit 3 is the sign."""
    magnitudes = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
    return np.array(magnitudes + [-m for m in magnitudes])


def fp8_e4m3fn_levels():
    """The 256 FP8 E4M3FN values in code order, decoded from the bit fields:
    1 sign, 4 exponent (bias 7), 3 mantissa bits; exponent field 0 is
    subnormal (m · 2^-9); 0x7f and 0xff are NaN (no infinities)."""
    values = np.empty(256)
    for code in range(256):
        sign = -1.0 if code & 0x80 else 1.0
        exponent, mantissa = (code >> 3) & 0xF, code & 0x7
        if exponent == 0xF and mantissa == 0x7:
            values[code] = np.nan
        elif exponent == 0:
            values[code] = sign * mantissa * 2.0**-9
        else:
            values[code] = sign * (1 + mantissa / 8) * 2.0**(exponent - 7)
    return values


FP4 = fp4_e2m1_levels()
FP8 = fp8_e4m3fn_levels()

# safetensors dtype of each numpy dtype the tests write.
_WRITE_DTYPES = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16",
                 np.dtype("i1"): "I8", np.dtype("u1"): "U8"}
# numpy dtype each safetensors dtype is read as: BF16 as its raw uint16
# bits, I8/U8 as unsigned bytes (packed codes, scale codes and zero points
# are unsigned).
_READ_DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "I8": "u1",
                "U8": "u1", "F64": "<f8", "I64": "<i8", "I32": "<i4",
                "I16": "<i2"}


def write_safetensors(path, tensors):
    """Writes {name: numpy array} (float32, float16, int8 or uint8) in the
    safetensors format: u64 header length, JSON header padded with spaces to
    a multiple of 8, then the tensors back to back."""
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        data = array.tobytes()
        header[name] = {"dtype": _WRITE_DTYPES[array.dtype],
                        "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    """{name: (dtype string, numpy array)} of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    base = 8 + length
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = info["dtype"]
        if dtype not in _READ_DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {dtype}")
        array = np.frombuffer(data[base + begin:base + end],
                              dtype=_READ_DTYPES[dtype])
        tensors[name] = (dtype, array.reshape(info["shape"]))
    return tensors


def nibble_linear(result, x, prefix, batch, d_in, d_out):
    """nibble IR lines computing %result = %x · Wᵀ + b ([batch, d_out]) over
    the params <prefix>.weight [d_out, d_in] and <prefix>.bias [d_out]."""
    xt, wt = f"tensor<{batch}x{d_in}xf32>", f"tensor<{d_out}x{d_in}xf32>"
    bt, yt = f"tensor<{d_out}xf32>", f"tensor<{batch}x{d_out}xf32>"
    return (f'    %{prefix}_w = nibble.param "{prefix}.weight" : {wt}\n'
            f'    %{prefix}_b = nibble.param "{prefix}.bias" : {bt}\n'
            f"    %{result} = nibble.linear %{x}, %{prefix}_w bias "
            f"%{prefix}_b : ({xt}, {wt}, {bt}) -> {yt}\n")


def nibble_module(archive, func, batch, d_in, d_out, body, result):
    """A module over the weight archive `archive` whose function `func` maps
    %x [batch, d_in] f32 to %<result> [batch, d_out] f32 with the IR lines
    `body`."""
    xt, yt = f"tensor<{batch}x{d_in}xf32>", f"tensor<{batch}x{d_out}xf32>"
    return (f'module attributes {{nibble.weights = "{archive}"}} {{\n'
            f"  func.func @{func}(%x: {xt}) -> {yt} {{\n"
            f"{body}"
            f"    return %{result} : {yt}\n"
            "  }\n"
            "}\n")
