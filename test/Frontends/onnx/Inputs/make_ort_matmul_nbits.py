"""Builds the MatMulNBits fixture of quantized.test with ONNX Runtime's own
quantizer, so that nibble's reading of the layout is checked against the
producer's, not only against the test's own reading of it.

Writes into ort_matmul_nbits/ next to this script (or the directory given):
  sym.onnx        a float MLP x[4, 64] -> MatMul(64x64) + Add -> Relu ->
                  MatMul(64x32) + Add (seeded weights) quantized by
                  MatMulNBitsQuantizer, 4 bits, block 32, symmetric;
  asym.onnx       the same, asymmetric (packed uint8 zero points);
  x.npy           the input;
  y_sym.npy, y_asym.npy  onnxruntime's outputs of the quantized models
                  (graph optimizations off, accuracy_level 0: float32
                  dequantize-matmul).
Needs onnx, onnx_ir and onnxruntime (PyPI); the committed files make the
test itself independent of onnxruntime. Re-run it only to change the
fixture.
"""

import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization.matmul_nbits_quantizer import (
    DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer)

HERE = os.path.dirname(os.path.abspath(__file__))


def float_mlp(rng):
    k, hidden, n = 64, 64, 32
    inits = [
        numpy_helper.from_array(
            (rng.standard_normal((k, hidden)) / 8).astype(np.float32), "w1"),
        numpy_helper.from_array(
            (rng.standard_normal(hidden) / 10).astype(np.float32), "b1"),
        numpy_helper.from_array(
            (rng.standard_normal((hidden, n)) / 7).astype(np.float32), "w2"),
        numpy_helper.from_array(
            (rng.standard_normal(n) / 10).astype(np.float32), "b2"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"], name="fc1"),
        helper.make_node("Add", ["h0", "b1"], ["h1"], name="fc1_bias"),
        helper.make_node("Relu", ["h1"], ["h"], name="relu"),
        helper.make_node("MatMul", ["h", "w2"], ["y0"], name="fc2"),
        helper.make_node("Add", ["y0", "b2"], ["y"], name="fc2_bias"),
    ]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                     [4, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, n])],
        inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    m.ir_version = 9
    return m


def run(path, x):
    options = ort.SessionOptions()
    options.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    session = ort.InferenceSession(path, options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        HERE, "ort_matmul_nbits")
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20261202)
    m = float_mlp(rng)
    x = rng.standard_normal((4, 64)).astype(np.float32)
    np.save(os.path.join(out_dir, "x.npy"), x)
    for name, symmetric in (("sym", True), ("asym", False)):
        config = DefaultWeightOnlyQuantConfig(block_size=32,
                                              is_symmetric=symmetric,
                                              accuracy_level=0)
        quantizer = MatMulNBitsQuantizer(onnx.ModelProto.FromString(
            m.SerializeToString()), algo_config=config)
        quantizer.process()
        path = os.path.join(out_dir, f"{name}.onnx")
        quantizer.model.save_model_to_file(path)
        ops = [n.op_type for n in onnx.load(path).graph.node]
        assert ops.count("MatMulNBits") == 2, ops
        np.save(os.path.join(out_dir, f"y_{name}.npy"), run(path, x))
        print(f"{path}: {ops}")


if __name__ == "__main__":
    main()
