"""Checks the packed params nibble wrote for an already-quantized model
against the model's initializers, read with the onnx package.

Usage: check_quantized_archive.py ARCHIVE MODEL.onnx WEIGHT KIND

KIND says how the ONNX weight initializer WEIGHT maps to nibble's codes
(docs/Formats.md: [N, K] codes, 8-bit codes one per byte, 4-bit codes
packed low nibble first):
  uint8_kn  [K, N] uint8 q: codes = q.T, zeros = the zero point
  int8_nk   [N, K] int8 q:  codes = q + 128, zeros = zero point + 128
  nbits     MatMulNBits B [N, blocks, blob]: packed bytes = B as [N, K/2],
            zeros = the packed 4-bit zero points unpacked
Prints one line per tensor and "-> ok" or "-> FAIL".
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper
from nibble_testlib import read_safetensors


def main():
    archive, model_path, weight, kind = sys.argv[1:5]
    m = onnx.load(model_path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    tensors = read_safetensors(archive)
    codes = tensors[weight + ".qweight"][1].view(np.uint8)
    zeros = tensors.get(weight + ".zeros")
    zeros = None if zeros is None else zeros[1].view(np.uint8)
    node = next(n for n in m.graph.node if weight in n.input)
    if kind == "uint8_kn":
        want = inits[weight].T
        want_zeros = inits[node.input[2]].astype(np.uint8).reshape(1, 1)
    elif kind == "int8_nk":
        want = (inits[weight].astype(np.int16) + 128).astype(np.uint8)
        want_zeros = (inits[node.input[2]].astype(np.int16) + 128).astype(
            np.uint8).reshape(-1, 1)
    elif kind == "nbits":
        b = inits[weight]
        want = b.reshape(b.shape[0], -1)
        packed = inits[node.input[3]].reshape(b.shape[0], -1)
        unpacked = np.stack([packed & 0xF, packed >> 4], -1).reshape(
            b.shape[0], -1)
        want_zeros = unpacked[:, :b.shape[1]]
    ok = np.array_equal(codes, want) and np.array_equal(zeros, want_zeros)
    print(f"{weight}.qweight {list(codes.shape)}, {weight}.zeros "
          f"{list(zeros.shape)} -> {'ok' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
