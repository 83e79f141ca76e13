"""Builds the fixture of quantized.test's ONNX Runtime-quantized models.

Quantizes transformer_block/model.onnx (make_transformer_block.py) with
ONNX Runtime's own tools and writes, into the directory given (default:
ort_quantized_block/ next to this script):
  dyn.onnx   quantize_dynamic, int8 weights: DynamicQuantizeLinear +
             MatMulInteger + Cast + Mul per linear;
  qdq.onnx   quantize_static in QDQ format, int8 activations and int8
             per-channel weights on the MatMuls (calibrated on x.npy):
             QuantizeLinear/DequantizeLinear around activations,
             DequantizeLinear on weights;
  y_dyn.npy, y_qdq.npy  onnxruntime's outputs for transformer_block/x.npy
             (graph optimizations off, so ONNX Runtime runs the operators
             as written).
Needs onnx and onnxruntime (PyPI); the committed files make the test itself
independent of onnxruntime. Re-run it only to change the fixture.
"""

import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat,
                                      QuantType, quantize_dynamic,
                                      quantize_static)

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "transformer_block", "model.onnx")
X = np.load(os.path.join(HERE, "transformer_block", "x.npy"))


class OneBatch(CalibrationDataReader):
    def __init__(self):
        name = onnx.load(SOURCE).graph.input[0].name
        self.batches = iter([{name: X}])

    def get_next(self):
        return next(self.batches, None)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        HERE, "ort_quantized_block")
    os.makedirs(out, exist_ok=True)
    dyn, qdq = os.path.join(out, "dyn.onnx"), os.path.join(out, "qdq.onnx")
    quantize_dynamic(SOURCE, dyn, weight_type=QuantType.QInt8)
    quantize_static(SOURCE, qdq, OneBatch(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8, per_channel=True,
                    op_types_to_quantize=["MatMul"])
    for name, path in [("dyn", dyn), ("qdq", qdq)]:
        options = ort.SessionOptions()
        options.graph_optimization_level = \
            ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = ort.InferenceSession(path, options,
                                       providers=["CPUExecutionProvider"])
        y = session.run(None, {session.get_inputs()[0].name: X})[0]
        np.save(os.path.join(out, f"y_{name}.npy"), y)


if __name__ == "__main__":
    main()
