"""Builds the transformer-block fixture of transformer-block.test.

Writes, into the directory given (default: transformer_block/ next to this
script):
  model.onnx  a pre-norm transformer block (LayerNormalization, 4-head causal
              self-attention, erf-GELU MLP, residuals), opset 17, built with
              onnx.helper, weights as initializers;
  x.npy       an input [1, 8, 32];
  y_f32.npy   onnxruntime's output of the float model;
  y_<scheme>.npy  onnxruntime's output of the same model whose linear weights
              were quantized and dequantized by an independent numpy RTN
              (w8_channel: 8-bit symmetric per output channel; w4_g32: 4-bit
              symmetric, groups of 32 along K), so nibble's quantized outputs
              can be checked to float tolerance.
Needs onnx and onnxruntime (PyPI); the committed outputs make the test itself
independent of onnxruntime. Re-run it only to change the fixture.
"""

import os
import sys

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

S, D, H, F = 8, 32, 4, 64  # sequence, model width, heads, MLP width
DH = D // H


def build(weights):
    """The block as a ModelProto; `weights` maps names to float32 arrays."""
    nodes, inits = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op, inputs, outputs, **attrs):
        nodes.append(helper.make_node(op, inputs, outputs, name=outputs[0],
                                      **attrs))
        return outputs[0]

    for name, array in weights.items():
        const(name, array)
    ln1 = node("LayerNormalization", ["x", "ln1.g", "ln1.b"], ["ln1"],
               axis=-1, epsilon=1e-5)
    heads_shape = const("heads_shape", np.array([1, S, H, DH], np.int64))
    merged_shape = const("merged_shape", np.array([1, S, D], np.int64))
    qkv = []
    for p in "qkv":
        mm = node("MatMul", [ln1, f"{p}.w"], [f"{p}_mm"])
        add = node("Add", [mm, f"{p}.b"], [f"{p}_lin"])
        split = node("Reshape", [add, heads_shape], [f"{p}_heads"])
        perm = [0, 2, 3, 1] if p == "k" else [0, 2, 1, 3]
        qkv.append(node("Transpose", [split], [f"{p}_t"], perm=perm))
    q, k, v = qkv
    scores = node("MatMul", [q, k], ["scores"])
    scale = const("scale", np.array(1 / np.sqrt(DH), np.float32))
    scaled = node("Mul", [scores, scale], ["scaled"])
    mask = const("mask", np.triu(np.full((S, S), -1e9, np.float32), 1))
    masked = node("Add", [scaled, mask], ["masked"])
    probs = node("Softmax", [masked], ["probs"], axis=-1)
    context = node("MatMul", [probs, v], ["context"])
    context_t = node("Transpose", [context], ["context_t"], perm=[0, 2, 1, 3])
    merged = node("Reshape", [context_t, merged_shape], ["merged"])
    attn_mm = node("MatMul", [merged, "o.w"], ["attn_mm"])
    attn = node("Add", [attn_mm, "o.b"], ["attn"])
    resid1 = node("Add", ["x", attn], ["resid1"])
    ln2 = node("LayerNormalization", [resid1, "ln2.g", "ln2.b"], ["ln2"],
               axis=-1, epsilon=1e-5)
    up_mm = node("MatMul", [ln2, "up.w"], ["up_mm"])
    up = node("Add", [up_mm, "up.b"], ["up"])
    # GELU as exporters write it: 0.5 x (1 + erf(x / sqrt(2))).
    inv_sqrt2 = const("inv_sqrt2", np.array(1 / np.sqrt(2), np.float32))
    half = const("half", np.array(0.5, np.float32))
    one = const("one", np.array(1.0, np.float32))
    erf = node("Erf", [node("Mul", [up, inv_sqrt2], ["up_s"])], ["erf"])
    gelu = node("Mul", [node("Mul", [up, half], ["up_h"]),
                        node("Add", [erf, one], ["erf1"])], ["gelu"])
    down_mm = node("MatMul", [gelu, "down.w"], ["down_mm"])
    down = node("Add", [down_mm, "down.b"], ["down"])
    node("Add", [resid1, down], ["y"])
    graph = helper.make_graph(
        nodes, "transformer_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, S, D])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, S, D])],
        inits)
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def rtn(w_kn, bits, group):
    """Numpy RTN of an ONNX MatMul weight [K, N] (quantized along K per
    output column, as nibble quantizes the [N, K] transpose): symmetric,
    scale = absmax / (2^(bits-1) - 1), round half to even."""
    w = w_kn.T.astype(np.float64)
    n, k = w.shape
    g = k if group == 0 else group
    groups = w.reshape(n, k // g, g)
    qmax = 2**(bits - 1) - 1
    scale = np.abs(groups).max(axis=2, keepdims=True) / qmax
    safe = np.where(scale == 0, 1, scale)
    deq = np.clip(np.round(groups / safe), -qmax - 1, qmax) * scale
    return deq.reshape(n, k).T.astype(np.float32)


def run(model, x):
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "transformer_block")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2024)
    weights = {}
    for p in "qkvo":
        weights[f"{p}.w"] = rng.standard_normal((D, D)) / np.sqrt(D)
        weights[f"{p}.b"] = rng.standard_normal(D) * 0.02
    weights["up.w"] = rng.standard_normal((D, F)) / np.sqrt(D)
    weights["up.b"] = rng.standard_normal(F) * 0.02
    weights["down.w"] = rng.standard_normal((F, D)) / np.sqrt(F)
    weights["down.b"] = rng.standard_normal(D) * 0.02
    for ln in ("ln1", "ln2"):
        weights[f"{ln}.g"] = 1 + rng.standard_normal(D) * 0.1
        weights[f"{ln}.b"] = rng.standard_normal(D) * 0.1
    weights = {k: v.astype(np.float32) for k, v in weights.items()}
    x = rng.standard_normal((1, S, D)).astype(np.float32)

    model = build(weights)
    onnx.save(model, os.path.join(out, "model.onnx"))
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "y_f32.npy"), run(model, x))
    linear_weights = [k for k in weights if k.endswith(".w")]
    for name, bits, group in (("w8_channel", 8, 0), ("w4_g32", 4, 32)):
        quantized = dict(weights)
        for k in linear_weights:
            quantized[k] = rtn(weights[k], bits, group)
        np.save(os.path.join(out, f"y_{name}.npy"), run(build(quantized), x))


if __name__ == "__main__":
    main()
