"""Writes the archive of interleave-params.mlir and checks what
nibble-cpu-interleave-weights made of it.

    interleave_archive.py write ARCHIVE
    interleave_archive.py check ARCHIVE ROWS

`check` reads the new archive and compares its tensors with the layout
computed here with numpy: codes [N, B] -> [N/R, B/4, R, 4] (element
[b, w, r, j] = byte 4w + j of row bR + r), scales [N, G] -> [N/R, G, R];
the bias is copied unchanged and the metadata names both layouts.
"""

import json
import struct
import sys

import numpy as np

DTYPES = {"I8": np.int8, "F32": np.float32}


def tensors():
    return {"fc.qweight": np.arange(64, dtype=np.int8).reshape(4, 16),
            "fc.scales": np.array([[1], [2], [3], [4]], np.float32),
            "fc.bias": np.array([0.5, -1, 2, 0], np.float32)}


def write(path, named):
    header, data = {}, b""
    for name, array in named.items():
        dtype = "I8" if array.dtype == np.int8 else "F32"
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [len(data), len(data) + array.nbytes]}
        data += array.tobytes()
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def read(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    metadata = header.pop("__metadata__", {})
    arrays = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        arrays[name] = np.frombuffer(data[begin:end], DTYPES[entry["dtype"]]
                                     ).reshape(entry["shape"])
    return arrays, metadata


def check(path, rows):
    arrays, metadata = read(path)
    source = tensors()
    codes = source["fc.qweight"]
    n, width = codes.shape
    expected = {
        f"fc.qweight.interleaved{rows}":
            codes.reshape(n // rows, rows, width // 4, 4).transpose(0, 2, 1, 3),
        f"fc.scales.interleaved{rows}":
            source["fc.scales"].reshape(n // rows, rows, 1).transpose(0, 2, 1),
        "fc.bias": source["fc.bias"],
    }
    ok = sorted(arrays) == sorted(expected)
    for name, array in expected.items():
        if name not in arrays or not np.array_equal(arrays[name], array):
            print(f"FAIL: {name}")
            ok = False
    for name in expected:
        if name.startswith("fc.bias"):
            continue
        layout = metadata.get(f"nibble.layout.{name}", "")
        if f"rows interleaved by {rows}" not in layout:
            print(f"FAIL: no layout for {name}: {metadata}")
            ok = False
    print("ok" if ok else "FAIL")


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], tensors())
    else:
        check(sys.argv[2], int(sys.argv[3]))
