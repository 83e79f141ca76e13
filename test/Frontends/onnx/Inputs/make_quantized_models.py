"""Builds already-quantized ONNX test models with onnx.helper.

Usage: make_quantized_models.py [--check-ort] DIR CASE...

Writes, like make_models.py, DIR/CASE.onnx, CASE.in<i>.npy, CASE.ref<i>.npy
and CASE.scale<i>.npy (the error scale check_outputs.py multiplies its
relative tolerance with). References implement the ONNX operator
definitions (and ONNX Runtime's com.microsoft::MatMulNBits) in numpy,
float64 for float outputs; integer outputs (uint8 included) are exact.
With --check-ort, every reference is also compared with onnxruntime's
output (not needed by the tests).
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT = TensorProto.FLOAT
RNG = np.random.default_rng(20261124)


def value(name, elem_type, shape):
    return helper.make_tensor_value_info(name, elem_type, shape)


def model(nodes, inputs, outputs, initializers=(), opset=19, ms=False):
    graph = helper.make_graph(nodes, "test_graph", inputs, outputs,
                              list(initializers))
    opsets = [helper.make_opsetid("", opset)]
    if ms:
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    m = helper.make_model(graph, opset_imports=opsets)
    m.ir_version = 10 if opset >= 21 else 9
    return m


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def f64(x):
    return np.asarray(x, dtype=np.float64)


class Case:
    def __init__(self, m, inputs, refs, scales):
        self.model, self.inputs, self.refs, self.scales = m, inputs, refs, \
            scales


def linear_ref(x, w, bias=None):
    """x [.., K] · w [K, N] (+ bias) in float64, and the error scale."""
    y = f64(x) @ f64(w)
    scale = np.abs(f64(x)) @ np.abs(f64(w))
    if bias is not None:
        y = y + f64(bias)
        scale = scale + np.abs(f64(bias))
    return y, scale


def dequantize(q, scale, zero, axis=1, block=0):
    """ONNX DequantizeLinear: (q - zero) * scale, broadcast per axis or per
    block along `axis`."""
    q = q.astype(np.int64)
    zero = np.zeros_like(scale, dtype=np.int64) if zero is None else \
        zero.astype(np.int64)
    scale = f64(scale)
    if scale.size == 1 and block == 0:
        return (q - zero.reshape(())) * scale.reshape(())
    if block:
        scale = np.repeat(scale, block, axis=axis)
        zero = np.repeat(zero, block, axis=axis)
    else:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (q - zero) * scale


def round_half_even(x):
    return np.round(x)  # numpy rounds half to even


#===----------------------------------------------------------------------===#
# Weight-only: DequantizeLinear -> MatMul
#===----------------------------------------------------------------------===#

def case_dq_channel():
    """int8 weight [K, N], per output channel (axis 1), zero point 0, bias;
    a second MatMul reads the same weight."""
    k, n = 64, 32
    q = RNG.integers(-127, 128, (k, n), dtype=np.int8)
    s = (np.abs(randn(n)) * 0.02 + 0.01).astype(np.float32)
    z = np.zeros(n, np.int8)
    bias = randn(n)
    x = randn(4, k)
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"],
                         axis=1, name="dq"),
        helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
        helper.make_node("Add", ["h", "b"], ["y"], name="bias"),
        helper.make_node("MatMul", ["x", "w"], ["y2"], name="fc2"),
    ]
    m = model(nodes, [value("x", FLOAT, [4, k])],
              [value("y", FLOAT, [4, n]), value("y2", FLOAT, [4, n])],
              [init("wq", q), init("ws", s), init("wz", z), init("b", bias)])
    y, scale = linear_ref(x, dequantize(q, s, z, axis=1), bias)
    y2, scale2 = linear_ref(x, dequantize(q, s, z, axis=1))
    return Case(m, [x], [y, y2], [scale, scale2])


def case_dq_tensor_uint8():
    """uint8 weight, one scale and zero point 131 for the whole tensor."""
    k, n = 64, 16
    q = RNG.integers(0, 256, (k, n), dtype=np.uint8)
    s = np.array(0.015, np.float32)
    z = np.array(131, np.uint8)
    x = randn(2, 3, k)
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"],
                         name="dq"),
        helper.make_node("MatMul", ["x", "w"], ["y"], name="fc"),
    ]
    m = model(nodes, [value("x", FLOAT, [2, 3, k])],
              [value("y", FLOAT, [2, 3, n])],
              [init("wq", q), init("ws", s), init("wz", z)])
    y, scale = linear_ref(x, dequantize(q, s, z))
    return Case(m, [x], [y], [scale])


def case_dq_transposed():
    """int8 weight stored [N, K] (PyTorch layout) with per-channel non-zero
    zero points (axis 0), then Transpose, then MatMul; and a uint8 weight
    with zero point 128 everywhere (symmetric)."""
    k, n = 32, 8
    q = RNG.integers(-128, 128, (n, k), dtype=np.int8)
    s = (np.abs(randn(n)) * 0.02 + 0.01).astype(np.float32)
    z = RNG.integers(-20, 20, n, dtype=np.int8)
    q2 = RNG.integers(0, 256, (k, n), dtype=np.uint8)
    s2 = (np.abs(randn(n)) * 0.02 + 0.01).astype(np.float32)
    z2 = np.full(n, 128, np.uint8)
    x = randn(5, k)
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"],
                         axis=0, name="dq"),
        helper.make_node("Transpose", ["w"], ["wt"], perm=[1, 0], name="t"),
        helper.make_node("MatMul", ["x", "wt"], ["y"], name="fc"),
        helper.make_node("DequantizeLinear", ["wq2", "ws2", "wz2"], ["w2"],
                         axis=1, name="dq2"),
        helper.make_node("MatMul", ["x", "w2"], ["y2"], name="fc2"),
    ]
    m = model(nodes, [value("x", FLOAT, [5, k])],
              [value("y", FLOAT, [5, n]), value("y2", FLOAT, [5, n])],
              [init("wq", q), init("ws", s), init("wz", z), init("wq2", q2),
               init("ws2", s2), init("wz2", z2)])
    y, scale = linear_ref(x, dequantize(q, s, z, axis=0).T)
    y2, scale2 = linear_ref(x, dequantize(q2, s2, z2, axis=1))
    return Case(m, [x], [y, y2], [scale, scale2])


def case_dq_blocked():
    """Opset 21 blocked int8 weight: block_size 32 along K (axis 0), zero
    point 0."""
    k, n = 96, 16
    q = RNG.integers(-127, 128, (k, n), dtype=np.int8)
    s = (np.abs(randn(k // 32, n)) * 0.02 + 0.01).astype(np.float32)
    x = randn(3, k)
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "ws"], ["w"], axis=0,
                         block_size=32, name="dq"),
        helper.make_node("MatMul", ["x", "w"], ["y"], name="fc"),
    ]
    m = model(nodes, [value("x", FLOAT, [3, k])], [value("y", FLOAT, [3, n])],
              [init("wq", q), init("ws", s)], opset=21)
    y, scale = linear_ref(x, dequantize(q, s, None, axis=0, block=32))
    return Case(m, [x], [y], [scale])


def case_dq_int4():
    """Opset 21 4-bit weights, blocked along K (block 32): int4 [K, N] with
    non-zero int4 zero points (asym), and uint4 [N, K] with zero point 8
    everywhere through a Transpose (sym)."""
    k, n = 64, 16
    q = RNG.integers(-8, 8, (k, n)).astype(np.int8)
    s = (np.abs(randn(k // 32, n)) * 0.05 + 0.01).astype(np.float32)
    z = RNG.integers(-3, 4, (k // 32, n)).astype(np.int8)
    q2 = RNG.integers(0, 16, (n, k)).astype(np.uint8)
    s2 = (np.abs(randn(n, k // 32)) * 0.05 + 0.01).astype(np.float32)
    z2 = np.full((n, k // 32), 8, np.uint8)
    x = randn(3, k)

    def tensor4(name, array, dtype):
        return helper.make_tensor(name, dtype, array.shape,
                                  array.flatten().tolist())

    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"],
                         axis=0, block_size=32, name="dq"),
        helper.make_node("MatMul", ["x", "w"], ["y"], name="fc"),
        helper.make_node("DequantizeLinear", ["wq2", "ws2", "wz2"], ["w2"],
                         axis=1, block_size=32, name="dq2"),
        helper.make_node("Transpose", ["w2"], ["w2t"], perm=[1, 0],
                         name="t"),
        helper.make_node("MatMul", ["x", "w2t"], ["y2"], name="fc2"),
    ]
    m = model(nodes, [value("x", FLOAT, [3, k])],
              [value("y", FLOAT, [3, n]), value("y2", FLOAT, [3, n])],
              [tensor4("wq", q, TensorProto.INT4), init("ws", s),
               tensor4("wz", z, TensorProto.INT4),
               tensor4("wq2", q2, TensorProto.UINT4), init("ws2", s2),
               tensor4("wz2", z2, TensorProto.UINT4)], opset=21)
    y, scale = linear_ref(x, dequantize(q, s, z, axis=0, block=32))
    y2, scale2 = linear_ref(x, dequantize(q2, s2, z2, axis=1, block=32).T)
    return Case(m, [x], [y, y2], [scale, scale2])


#===----------------------------------------------------------------------===#
# com.microsoft::MatMulNBits
#===----------------------------------------------------------------------===#

def nbits_weight(n, k, block, with_zeros):
    """Random 4-bit codes in MatMulNBits' layout and the [K, N] float weight
    they stand for (ONNX Runtime's contrib-op definition)."""
    nb = k // block
    codes = RNG.integers(0, 16, (n, k), dtype=np.uint8)
    packed = (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)
    packed = packed.reshape(n, nb, block // 2)
    scales = (np.abs(randn(n * nb)) * 0.05 + 0.01).astype(np.float32)
    if with_zeros:
        zeros = RNG.integers(0, 16, (n, nb), dtype=np.uint8)
        padded = np.zeros((n, (nb + 1) // 2 * 2), np.uint8)
        padded[:, :nb] = zeros
        zp = (padded[:, 0::2] | (padded[:, 1::2] << 4)).astype(np.uint8)
        zp = zp.reshape(-1)
    else:
        zeros = np.full((n, nb), 8, np.uint8)
        zp = None
    w = (codes.astype(np.int64) - np.repeat(zeros, block, axis=1)) * \
        np.repeat(f64(scales).reshape(n, nb), block, axis=1)
    return packed, scales, zp, w.T


def case_nbits():
    """MatMulNBits, 4 bits, block 32, with packed zero points (3 blocks, an
    odd count: the last byte of each row is half used); and one without
    zero points (default 8) whose bias input folds into the qlinear."""
    k, n, block = 96, 24, 32
    b, s, zp, w = nbits_weight(n, k, block, True)
    b2, s2, _, w2 = nbits_weight(n, k, block, False)
    bias = randn(n)
    x = randn(2, 3, k)
    attrs = dict(K=k, N=n, bits=4, block_size=block, domain="com.microsoft")
    nodes = [
        helper.make_node("MatMulNBits", ["x", "b", "s", "zp"], ["y"],
                         name="q4", **attrs),
        helper.make_node("MatMulNBits", ["x", "b2", "s2", "", "", "bias"],
                         ["y2"], name="q4sym", **attrs),
    ]
    m = model(nodes, [value("x", FLOAT, [2, 3, k])],
              [value("y", FLOAT, [2, 3, n]), value("y2", FLOAT, [2, 3, n])],
              [init("b", b), init("s", s), init("zp", zp), init("b2", b2),
               init("s2", s2), init("bias", bias)], ms=True)
    y, scale = linear_ref(x, w)
    y2, scale2 = linear_ref(x, w2, bias)
    return Case(m, [x], [y, y2], [scale, scale2])


#===----------------------------------------------------------------------===#
# Activations: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
# MatMulInteger, QLinearMatMul
#===----------------------------------------------------------------------===#

def quantize(x, scale, zero, lo, hi):
    """ONNX QuantizeLinear: saturate(round_half_even(x / scale) + zero),
    with x / scale in float32 as the operator computes it."""
    v = round_half_even(np.float32(x) / np.float32(scale)).astype(np.int64)
    return np.clip(v + np.int64(zero), lo, hi)


def case_qdq_act():
    """QuantizeLinear int8 (per tensor, zero point -3) -> DequantizeLinear
    (fake quantization); QuantizeLinear uint8 per channel (axis 1) as an
    output; DequantizeLinear of an int8 graph input per channel; and of an
    int32 bias [6] per tensor (axis 1 ignored)."""
    x = (randn(4, 6) * 3).astype(np.float32)
    x[0, :3] = [0.25, 0.75, -0.25]  # ties at scale 0.5
    q8 = RNG.integers(-128, 128, (4, 6), dtype=np.int8)
    s = np.array(0.5, np.float32)
    z = np.array(-3, np.int8)
    sc = (np.abs(randn(6)) * 0.3 + 0.1).astype(np.float32)
    zc = RNG.integers(100, 156, 6, dtype=np.uint8)
    bq = RNG.integers(-100000, 100000, 6, dtype=np.int32)
    bs = np.array(0.001, np.float32)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"],
                         name="q"),
        helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"],
                         name="dq"),
        helper.make_node("QuantizeLinear", ["x", "sc", "zc"], ["xu"],
                         axis=1, name="qu"),
        helper.make_node("DequantizeLinear", ["q8", "sc"], ["d8"], axis=1,
                         name="d8"),
        helper.make_node("DequantizeLinear", ["bq", "bs"], ["bd"],
                         name="bias_dq"),
    ]
    m = model(nodes, [value("x", FLOAT, [4, 6]),
                      value("q8", TensorProto.INT8, [4, 6])],
              [value("xq", TensorProto.INT8, [4, 6]),
               value("xd", FLOAT, [4, 6]),
               value("xu", TensorProto.UINT8, [4, 6]),
               value("d8", FLOAT, [4, 6]), value("bd", FLOAT, [6])],
              [init("s", s), init("z", z), init("sc", sc), init("zc", zc),
               init("bq", bq), init("bs", bs)])
    xq = quantize(x, s, z, -128, 127)
    xd = (xq - np.int64(z)) * f64(s)
    xu = quantize(x, sc.reshape(1, 6), zc.astype(np.int64).reshape(1, 6), 0,
                  255)
    d8 = q8.astype(np.int64) * f64(sc).reshape(1, 6)
    bd = bq.astype(np.int64) * f64(bs)
    refs = [xq.astype(np.int8), xd, xu.astype(np.uint8), d8,
            bd]
    return Case(m, [x, q8], refs,
                [None, np.abs(xd), None, np.abs(d8), np.abs(bd)])


def case_dynamic():
    """DynamicQuantizeLinear (uint8, per tensor)."""
    x = (randn(3, 8) * 2 + 0.5).astype(np.float32)
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"],
                              ["y", "ys", "yz"], name="dql")]
    m = model(nodes, [value("x", FLOAT, [3, 8])],
              [value("y", TensorProto.UINT8, [3, 8]),
               value("ys", FLOAT, []), value("yz", TensorProto.UINT8, [])])
    lo = np.float32(min(0.0, x.min()))
    hi = np.float32(max(0.0, x.max()))
    ys = np.float32((hi - lo) / np.float32(255))
    yz = np.clip(round_half_even(np.float32(0) - lo / ys), 0, 255)
    y = quantize(x, ys, yz.astype(np.int64), 0, 255)
    refs = [y.astype(np.uint8), f64(ys),
            np.array(yz, np.uint8)]
    return Case(m, [x], refs, [None, np.abs(f64(ys)), None])


def case_matmul_integer():
    """MatMulInteger: int8 A (graph input, zero point per row) times uint8
    B (initializer, zero point per column), i32 result; QLinearMatMul of
    int8 A times uint8 B to a uint8 output."""
    m_, k, n = 4, 16, 6
    a = RNG.integers(-128, 128, (m_, k), dtype=np.int8)
    b = RNG.integers(0, 256, (k, n), dtype=np.uint8)
    az = RNG.integers(-5, 5, m_, dtype=np.int8)
    bz = RNG.integers(120, 136, n, dtype=np.uint8)
    a_s = np.array(0.02, np.float32)
    a_z = np.array(1, np.int8)
    b_s = np.array(0.01, np.float32)
    b_z = np.array(128, np.uint8)
    y_s = np.array(0.15, np.float32)
    y_z = np.array(120, np.uint8)
    nodes = [
        helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"],
                         name="mmi"),
        helper.make_node("QLinearMatMul",
                         ["a", "a_s", "a_z", "b", "b_s", "b_z", "y_s", "y_z"],
                         ["yq"], name="qlmm"),
    ]
    m = model(nodes, [value("a", TensorProto.INT8, [m_, k])],
              [value("y", TensorProto.INT32, [m_, n]),
               value("yq", TensorProto.UINT8, [m_, n])],
              [init("b", b), init("az", az), init("bz", bz), init("a_s", a_s),
               init("a_z", a_z), init("b_s", b_s), init("b_z", b_z),
               init("y_s", y_s), init("y_z", y_z)])
    ai = a.astype(np.int64)
    bi = b.astype(np.int64)
    y = (ai - az.astype(np.int64)[:, None]) @ (bi - bz.astype(np.int64))
    acc = (ai - np.int64(a_z)) @ (bi - np.int64(b_z))
    mult = np.float32(np.float32(a_s * b_s) / y_s)
    yq = np.clip(round_half_even(acc.astype(np.float32) * mult) +
                 np.int64(y_z), 0, 255)
    return Case(m, [a], [y.astype(np.int32),
                         yq.astype(np.uint8)], [None, None])


def case_uint8_io():
    """uint8 graph input: QLinearMatMul u8 x s8 with per-column b scales to
    a uint8 output, and DequantizeLinear of the input."""
    m_, k, n = 3, 16, 5
    a = RNG.integers(0, 256, (m_, k), dtype=np.uint8)
    b = RNG.integers(-128, 128, (k, n), dtype=np.int8)
    a_s, a_z = np.array(0.03, np.float32), np.array(128, np.uint8)
    b_s = (np.abs(randn(n)) * 0.01 + 0.005).astype(np.float32)
    b_z = np.zeros(n, np.int8)
    y_s, y_z = np.array(0.2, np.float32), np.array(100, np.uint8)
    nodes = [
        helper.make_node("QLinearMatMul",
                         ["a", "a_s", "a_z", "b", "b_s", "b_z", "y_s", "y_z"],
                         ["y"], name="qlmm"),
        helper.make_node("DequantizeLinear", ["a", "a_s", "a_z"], ["ad"],
                         name="dq"),
    ]
    m = model(nodes, [value("a", TensorProto.UINT8, [m_, k])],
              [value("y", TensorProto.UINT8, [m_, n]),
               value("ad", FLOAT, [m_, k])],
              [init("b", b), init("a_s", a_s), init("a_z", a_z),
               init("b_s", b_s), init("b_z", b_z), init("y_s", y_s),
               init("y_z", y_z)])
    acc = (a.astype(np.int64) - 128) @ b.astype(np.int64)
    mult = (np.float32(a_s) * b_s) / np.float32(y_s)
    y = np.clip(round_half_even(acc.astype(np.float32) * mult) + 100, 0, 255)
    ad = (a.astype(np.int64) - 128) * f64(a_s)
    return Case(m, [a], [y.astype(np.uint8), ad], [None, np.abs(ad)])


#===----------------------------------------------------------------------===#
# Errors
#===----------------------------------------------------------------------===#

def nbits_error_model(name, k, n, b, s, bits=4, x_k=None, extra=()):
    """A model with one MatMulNBits node `name` (K = k, N = n, block 32)
    over the initializers b and s (and `extra` (input name, array) pairs
    after them), reading x [1, x_k or k]."""
    inputs = ["x", "b", "s"] + [input_name for input_name, _ in extra]
    nodes = [helper.make_node("MatMulNBits", inputs, ["y"], name=name, K=k,
                              N=n, bits=bits, block_size=32,
                              domain="com.microsoft")]
    inits = [init("b", b), init("s", s)]
    inits += [init(input_name, array) for input_name, array in extra
              if input_name]
    return model(nodes, [value("x", FLOAT, [1, x_k or k])],
                 [value("y", FLOAT, [1, min(n, 4)])], inits, ms=True)


def error_nbits8():
    return nbits_error_model("q8", 32, 4, np.zeros((4, 1, 32), np.uint8),
                             np.ones(4, np.float32), bits=8)


def error_nbits_gidx():
    return nbits_error_model("gidx", 32, 4, np.zeros((4, 1, 16), np.uint8),
                             np.ones(4, np.float32),
                             extra=[("", None),
                                    ("g", np.zeros(32, np.int32))])


def error_nbits_overflow():
    """K = N = 2^34: N * n_blocks * blob overflows int64 (it used to wrap to
    0, match the empty B and crash while unpacking). The model is ~200
    bytes."""
    return nbits_error_model("huge", 1 << 34, 1 << 34,
                             np.zeros((0,), np.uint8),
                             np.zeros((0,), np.float32), x_k=32)


def error_nbits_b_shape():
    """B has the right element count but not the shape [N, n_blocks, blob]."""
    return nbits_error_model("flat", 64, 4, np.zeros((4 * 2 * 16,), np.uint8),
                             np.ones(4 * 2, np.float32))


def error_nbits_scale_shape():
    """Scales with N * n_blocks elements in a shape that is neither
    [N * n_blocks] nor [N, n_blocks]."""
    return nbits_error_model("scales", 64, 4, np.zeros((4, 2, 16), np.uint8),
                             np.ones((2, 4), np.float32))


def error_nbits_nan_scale():
    """A NaN scale would dequantize its block to NaN."""
    scales = np.ones(4 * 2, np.float32)
    scales[5] = np.nan
    return nbits_error_model("nan", 64, 4, np.zeros((4, 2, 16), np.uint8),
                             scales)


def error_blocked_act():
    nodes = [helper.make_node("DequantizeLinear", ["q", "s"], ["y"], axis=1,
                              block_size=2, name="dqb")]
    return model(nodes, [value("q", TensorProto.INT8, [2, 4])],
                 [value("y", FLOAT, [2, 4])],
                 [init("s", np.ones((2, 2), np.float32))], opset=21)


def error_uint8_cast():
    """uint8 tensors are only read by the quantization operators."""
    nodes = [helper.make_node("Cast", ["u"], ["y"], to=FLOAT, name="cast")]
    return model(nodes, [], [value("y", FLOAT, [4])],
                 [init("u", np.array([0, 1, 200, 255], np.uint8))])


def error_fallback():
    """A weight whose scale is a graph input: no qlinear (remark), the
    MatMul stays float."""
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "ws"], ["w"], name="dqv"),
        helper.make_node("MatMul", ["x", "w"], ["y"], name="fc"),
    ]
    return model(nodes, [value("x", FLOAT, [1, 8]), value("ws", FLOAT, [])],
                 [value("y", FLOAT, [1, 4])],
                 [init("wq", np.ones((8, 4), np.int8))])


def error_dq_inf_scale():
    """A per-channel weight scale of +inf (DequantizeLinear -> MatMul)."""
    scales = np.ones(4, np.float32)
    scales[2] = np.inf
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "ws"], ["w"], axis=1,
                         name="dqinf"),
        helper.make_node("MatMul", ["x", "w"], ["y"], name="fc"),
    ]
    return model(nodes, [value("x", FLOAT, [1, 8])],
                 [value("y", FLOAT, [1, 4])],
                 [init("wq", np.ones((8, 4), np.int8)), init("ws", scales)])


CASES = {name[5:]: fn for name, fn in globals().items()
         if name.startswith("case_")}
ERRORS = {name: fn for name, fn in globals().items()
          if name.startswith("error_")}


def check_ort(path, case):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(path, options,
                                       providers=["CPUExecutionProvider"])
    except Exception as error:  # e.g. no kernel for a type combination
        print(f"{path}: onnxruntime cannot run it: {error}")
        return
    feeds = {i.name: x for i, x in zip(session.get_inputs(), case.inputs)}
    outs = session.run(None, feeds)
    for i, (got, want) in enumerate(zip(outs, case.refs)):
        if np.issubdtype(want.dtype, np.integer):
            diff = np.abs(got.astype(np.int64) -
                          want.astype(np.int64)).max()
        else:
            diff = np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)
        print(f"{path} output {i}: onnxruntime vs numpy max difference "
              f"{diff:.3g}")


def main():
    args = sys.argv[1:]
    ort_check = "--check-ort" in args
    args = [a for a in args if a != "--check-ort"]
    out_dir, names = args[0], args[1:]
    for name in names:
        path = f"{out_dir}/{name}.onnx"
        if name in ERRORS:
            onnx.save(ERRORS[name](), path)
            continue
        case = CASES[name]()
        onnx.save(case.model, path)
        for i, x in enumerate(case.inputs):
            np.save(f"{out_dir}/{name}.in{i}.npy", x)
        for i, (ref, scale) in enumerate(zip(case.refs, case.scales)):
            np.save(f"{out_dir}/{name}.ref{i}.npy", ref)
            np.save(f"{out_dir}/{name}.scale{i}.npy",
                    np.zeros(1) if scale is None else scale)
        if ort_check:
            check_ort(path, case)


if __name__ == "__main__":
    main()
