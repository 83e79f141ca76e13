"""Lists the tensors of an imported model's weight archive against the
model's initializers.

Usage: check_archive.py ARCHIVE MODEL.onnx

For each tensor of the safetensors ARCHIVE prints one line
    NAME DTYPE [SHAPE] = initializer            (bit-identical)
    NAME DTYPE [SHAPE] = initializer transposed (bit-identical to its .T)
or "... = MISMATCH" (and exits non-zero) when it is neither. Initializers
are read with the onnx package (external data included), independently of
nibble.
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper
from nibble_testlib import read_safetensors


def main():
    archive, model_path = sys.argv[1], sys.argv[2]
    m = onnx.load(model_path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    failed = False
    for name, (dtype, array) in sorted(read_safetensors(archive).items()):
        base = name.removesuffix(".transposed").removesuffix(".original")
        ref = inits.get(base)
        verdict = "MISMATCH"
        if ref is not None:
            ref = np.asarray(ref, ref.dtype.newbyteorder("<"))
            raw = array.tobytes()
            if array.shape == ref.shape and raw == ref.tobytes():
                verdict = "initializer"
            elif ref.ndim == 2 and array.shape == ref.T.shape and \
                    raw == ref.T.tobytes():
                verdict = "initializer transposed"
        print(f"{name} {dtype} {list(array.shape)} = {verdict}")
        failed |= verdict == "MISMATCH"
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
