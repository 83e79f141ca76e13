"""Builds the ONNX test models of the frontend tests with onnx.helper.

Usage: make_models.py DIR CASE...

For each CASE writes into DIR:
  CASE.onnx           the model (external data files next to it if any)
  CASE.in<i>.npy      one input array per graph input, in order
  CASE.ref<i>.npy     numpy's reference for each graph output, computed in
                      float64 from the inputs independently of nibble
  CASE.scale<i>.npy   the magnitude the float32 rounding error scales with
                      (|ref| for plain ops; the sum of |terms| for sums and
                      products; see check_outputs.py)
Error cases write only the model (and its broken external data).
"""

import math
import os
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64
RNG = np.random.default_rng(20261123)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def value(name, elem_type, shape):
    return helper.make_tensor_value_info(name, elem_type, shape)


def model(nodes, inputs, outputs, initializers=(), opset=17, ir_version=8):
    graph = helper.make_graph(nodes, "test_graph", inputs, outputs,
                              list(initializers))
    m = helper.make_model(graph,
                          opset_imports=[helper.make_opsetid("", opset)])
    if ir_version is not None:  # None: the onnx package's current version
        m.ir_version = ir_version
    return m


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def ints(name, values):
    return init(name, np.array(values, dtype=np.int64))


class Case:
    """A model, its inputs, and reference outputs with error scales."""

    def __init__(self, m, inputs, refs, scales=None):
        self.model, self.inputs, self.refs = m, inputs, refs
        self.scales = scales or [None] * len(refs)


def f64(x):
    return np.asarray(x, dtype=np.float64)


#===----------------------------------------------------------------------===#
# Elementwise
#===----------------------------------------------------------------------===#

def case_binary():
    a, b = randn(2, 3, 4), randn(3, 1)
    c = np.abs(randn(4)) + 0.5  # positive divisor and base
    nodes = [
        helper.make_node("Add", ["a", "b"], ["add"], name="add"),
        helper.make_node("Sub", ["b", "a"], ["sub"], name="sub"),
        helper.make_node("Mul", ["a", "b"], ["mul"], name="mul"),
        helper.make_node("Div", ["a", "c"], ["div"], name="div"),
        helper.make_node("Pow", ["c", "b"], ["pow"], name="pow"),
        helper.make_node("Pow", ["a", "two"], ["square"], name="square"),
        helper.make_node("Max", ["a", "b", "c"], ["max"], name="max"),
        helper.make_node("Min", ["a", "b"], ["min"], name="min"),
        helper.make_node("Less", ["a", "b"], ["less"], name="less"),
        helper.make_node("Where", ["less", "a", "b"], ["where"], name="where"),
        helper.make_node("Greater", ["a", "b"], ["gt"], name="gt"),
        helper.make_node("Cast", ["gt"], ["gt_f"], to=FLOAT, name="gt_f"),
        helper.make_node("Equal", ["a", "a"], ["eq"], name="eq"),
        helper.make_node("Cast", ["eq"], ["eq_f"], to=FLOAT, name="eq_f"),
    ]
    shape = [2, 3, 4]
    outs = ["add", "sub", "mul", "div", "pow", "square", "max", "min",
            "where", "gt_f", "eq_f"]
    m = model(nodes, [value("a", FLOAT, shape), value("b", FLOAT, [3, 1]),
                      value("c", FLOAT, [4])],
              [value(o, FLOAT, [3, 4] if o == "pow" else shape)
               for o in outs],
              [init("two", np.float32(2.0))])
    A, B, C = f64(a), f64(b), f64(c)
    refs = [A + B, B - A, A * B, A / C, C ** B, A * A,
            np.maximum(np.maximum(A, B), C), np.minimum(A, B),
            np.where(A < B, A, np.broadcast_to(B, A.shape)),
            (A > B).astype(np.float64), np.ones(shape)]
    return Case(m, [a, b, c], refs)


def case_unary():
    x = randn(3, 5)
    names = ["sqrt", "recip", "neg", "exp", "log", "abs", "tanh", "sigmoid",
             "relu", "cos", "sin", "clip", "clip_lo", "ident"]
    nodes = [
        helper.make_node("Abs", ["x"], ["abs"], name="abs"),
        helper.make_node("Sqrt", ["abs"], ["sqrt"], name="sqrt"),
        helper.make_node("Reciprocal", ["x"], ["recip"], name="recip"),
        helper.make_node("Neg", ["x"], ["neg"], name="neg"),
        helper.make_node("Exp", ["x"], ["exp"], name="exp"),
        helper.make_node("Add", ["abs", "tenth"], ["abs1"], name="abs1"),
        helper.make_node("Log", ["abs1"], ["log"], name="log"),
        helper.make_node("Tanh", ["x"], ["tanh"], name="tanh"),
        helper.make_node("Sigmoid", ["x"], ["sigmoid"], name="sigmoid"),
        helper.make_node("Relu", ["x"], ["relu"], name="relu"),
        helper.make_node("Cos", ["x"], ["cos"], name="cos"),
        helper.make_node("Sin", ["x"], ["sin"], name="sin"),
        helper.make_node("Clip", ["x", "lo", "hi"], ["clip"], name="clip"),
        helper.make_node("Clip", ["x", "lo"], ["clip_lo"], name="clip_lo"),
        helper.make_node("Identity", ["x"], ["ident"], name="ident"),
    ]
    m = model(nodes, [value("x", FLOAT, [3, 5])],
              [value(n, FLOAT, [3, 5]) for n in names],
              [init("tenth", np.float32(0.1)), init("lo", np.float32(-0.5)),
               init("hi", np.float32(0.5))])
    X = f64(x)
    refs = [np.sqrt(np.abs(X)), 1 / X, -X, np.exp(X),
            np.log(np.abs(X) + np.float64(np.float32(0.1))), np.abs(X),
            np.tanh(X), 1 / (1 + np.exp(-X)), np.maximum(X, 0), np.cos(X),
            np.sin(X), np.clip(X, -0.5, 0.5), np.maximum(X, -0.5), X]
    return Case(m, [x], refs)


def case_gelu():
    x = randn(4, 6) * 2
    nodes = [
        helper.make_node("Gelu", ["x"], ["gelu_tanh"], approximate="tanh",
                         name="gelu_tanh"),
        helper.make_node("Gelu", ["x"], ["gelu"], name="gelu"),
        helper.make_node("Erf", ["x"], ["erf"], name="erf"),
    ]
    m = model(nodes, [value("x", FLOAT, [4, 6])],
              [value(n, FLOAT, [4, 6]) for n in ["gelu_tanh", "gelu", "erf"]],
              opset=20)
    X = f64(x)
    erf = np.vectorize(math.erf)
    k = math.sqrt(2 / math.pi)
    refs = [0.5 * X * (1 + np.tanh(k * (X + 0.044715 * X ** 3))),
            0.5 * X * (1 + erf(X / math.sqrt(2))), erf(X)]
    return Case(m, [x], refs)


def case_rounding():
    """Floor, Ceil, Round (ties to even), Sign, Softplus, Sum, Mean, Mod."""
    x = (randn(3, 4) * 3).astype(np.float32)
    x[0, :] = [0.5, 1.5, -2.5, 0.0]  # ties and a zero
    x[1, 0], x[1, 1] = 40.0, -40.0  # softplus must not overflow
    y, z = randn(4), randn(3, 1)
    p = RNG.integers(-20, 20, size=(2, 5)).astype(np.int64)
    q = np.array([3, -3, 7, -7, 5], dtype=np.int64)
    nodes = [
        helper.make_node("Floor", ["x"], ["floor"], name="floor"),
        helper.make_node("Ceil", ["x"], ["ceil"], name="ceil"),
        helper.make_node("Round", ["x"], ["round"], name="round"),
        helper.make_node("Sign", ["x"], ["sign"], name="sign"),
        helper.make_node("Softplus", ["x"], ["softplus"], name="softplus"),
        helper.make_node("Sum", ["x", "y", "z"], ["sum"], name="sum"),
        helper.make_node("Mean", ["x", "y"], ["mean"], name="mean"),
        helper.make_node("Mod", ["x", "y"], ["fmod_f"], fmod=1,
                         name="fmod_f"),
        helper.make_node("Mod", ["p", "q"], ["mod"], name="mod"),
        helper.make_node("Mod", ["p", "q"], ["fmod_i"], fmod=1,
                         name="fmod_i"),
    ]
    outs = [(n, FLOAT, [3, 4]) for n in ["floor", "ceil", "round", "sign",
                                         "softplus", "sum", "mean",
                                         "fmod_f"]]
    outs += [("mod", INT64, [2, 5]), ("fmod_i", INT64, [2, 5])]
    m = model(nodes, [value("x", FLOAT, [3, 4]), value("y", FLOAT, [4]),
                      value("z", FLOAT, [3, 1]), value("p", INT64, [2, 5]),
                      value("q", INT64, [5])],
              [value(*o) for o in outs])
    X, Y, Z = f64(x), f64(y), f64(z)
    refs = [np.floor(X), np.ceil(X), np.round(X), np.sign(X),
            np.logaddexp(0, X), X + Y + Z, (X + Y) / 2, np.fmod(X, Y),
            np.mod(p, q), np.fmod(p, q)]
    scales = [None] * 5 + [np.abs(X) + np.abs(Y) + np.abs(Z), None, None,
                           None, None]
    return Case(m, [x, y, z, p, q], refs, scales)


def case_int_arith():
    a = RNG.integers(-50, 50, size=(2, 5)).astype(np.int64)
    b = RNG.integers(1, 7, size=(5,)).astype(np.int64)
    b[1] = -3
    nodes = [
        helper.make_node("Add", ["a", "b"], ["add"], name="add"),
        helper.make_node("Mul", ["a", "b"], ["mul"], name="mul"),
        helper.make_node("Div", ["a", "b"], ["div"], name="div"),
        helper.make_node("Abs", ["a"], ["abs"], name="abs"),
        helper.make_node("Cast", ["a"], ["af"], to=FLOAT, name="to_float"),
        helper.make_node("Mul", ["af", "half"], ["half_a"], name="half_a"),
        helper.make_node("Cast", ["half_a"], ["trunc"], to=INT64,
                         name="to_int"),
    ]
    outs = [("add", INT64), ("mul", INT64), ("div", INT64), ("abs", INT64),
            ("half_a", FLOAT), ("trunc", INT64)]
    m = model(nodes, [value("a", INT64, [2, 5]), value("b", INT64, [5])],
              [value(n, t, [2, 5]) for n, t in outs],
              [init("half", np.float32(0.5))])
    # Integer Div truncates toward zero, as Cast from float does.
    refs = [a + b, a * b, np.trunc(a / b).astype(np.int64), np.abs(a),
            a * 0.5, np.trunc(a * 0.5).astype(np.int64)]
    return Case(m, [a, b], refs)


def case_uint8_arith():
    # uint8 (held as i8): Add/Sub/Mul wrap modulo 256, Div/Mod/Max/Min
    # read the bytes as unsigned (values >= 128 tell it from int8).
    a = RNG.integers(0, 256, size=(2, 6)).astype(np.uint8)
    b = RNG.integers(1, 256, size=(6,)).astype(np.uint8)
    a[0, :3] = [200, 255, 129]
    b[:3] = [100, 3, 7]
    ops = ["Add", "Sub", "Mul", "Div", "Mod", "Max", "Min"]
    nodes = [helper.make_node(op, ["a", "b"], [op.lower()], name=op.lower())
             for op in ops]
    U8 = TensorProto.UINT8
    m = model(nodes, [value("a", U8, [2, 6]), value("b", U8, [6])],
              [value(op.lower(), U8, [2, 6]) for op in ops])
    refs = [a + b, a - b, a * b, a // b, a % b, np.maximum(a, b),
            np.minimum(a, b)]
    return Case(m, [a, b], refs)


def case_int_pow():
    # Integer base: the result has the base's type; an integer exponent
    # gives the exact power, a float one the power truncated toward zero.
    x = np.array([[-3, 2, 7, 10], [0, 1, -2, 5]], dtype=np.int64)
    e = np.array([3, 10, 9, 15], dtype=np.int64)
    x32 = x.astype(np.int32)
    e32 = np.array([3, 10, 2, 9], dtype=np.int32)
    f = np.array([2.0, 0.5, 3.0, 2.5], dtype=np.float32)
    nodes = [
        helper.make_node("Pow", ["x", "e"], ["p"], name="pow_int64"),
        helper.make_node("Pow", ["x32", "e32"], ["p32"], name="pow_int32"),
        helper.make_node("Pow", ["x32", "f"], ["pf"], name="pow_float"),
    ]
    INT32 = TensorProto.INT32
    m = model(nodes, [value("x", INT64, [2, 4]), value("e", INT64, [4]),
                      value("x32", INT32, [2, 4]), value("e32", INT32, [4]),
                      value("f", FLOAT, [4])],
              [value("p", INT64, [2, 4]), value("p32", INT32, [2, 4]),
               value("pf", INT32, [2, 4])])
    refs = [x ** e, x32 ** e32,
            np.trunc(np.power(x32.astype(np.float64),
                              f.astype(np.float64))).astype(np.int32)]
    return Case(m, [x, e, x32, e32, f], refs)


#===----------------------------------------------------------------------===#
# Shapes
#===----------------------------------------------------------------------===#

def case_shape_fold():
    """The shape arithmetic of exported graphs, all folded at import."""
    x = randn(2, 3, 4)
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"], name="shape"),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0,
                         name="batch"),
        helper.make_node("Unsqueeze", ["batch", "axes0"], ["batch1"],
                         name="batch1"),
        helper.make_node("Concat", ["batch1", "minus1"], ["new_shape"],
                         axis=0, name="new_shape"),
        helper.make_node("Reshape", ["x", "new_shape"], ["flat"],
                         name="reshape"),
        helper.make_node("Shape", ["x"], ["last"], start=-1, name="last"),
        helper.make_node("Cast", ["last"], ["lastf"], to=FLOAT, name="lastf"),
        helper.make_node("Range", ["r0", "r_limit", "r1"], ["range"],
                         name="range"),
        helper.make_node("Cast", ["range"], ["rangef"], to=FLOAT,
                         name="rangef"),
        helper.make_node("Mul", ["rangef", "lastf"], ["scaled"],
                         name="scaled"),
        helper.make_node("Add", ["x", "scaled"], ["plus_range"],
                         name="plus_range"),
        helper.make_node("ConstantOfShape", ["shape"], ["ones"],
                         value=helper.make_tensor("v", FLOAT, [1], [1.5]),
                         name="ones"),
        helper.make_node("Add", ["x", "ones"], ["plus_ones"],
                         name="plus_ones"),
        helper.make_node("Constant", [], ["k"], value_ints=[3, 8],
                         name="k"),
        helper.make_node("Concat", ["k0", "k"], ["k_full"], axis=0,
                         name="k_full"),
        helper.make_node("Reshape", ["flat", "k_full"], ["resh"],
                         name="reshape2"),
    ]
    m = model(nodes, [value("x", FLOAT, [2, 3, 4])],
              [value("flat", FLOAT, [2, 12]),
               value("plus_range", FLOAT, [2, 3, 4]),
               value("plus_ones", FLOAT, [2, 3, 4]),
               value("resh", FLOAT, [1, 3, 8])],
              [ints("zero", 0), ints("axes0", [0]), ints("minus1", [-1]),
               ints("r0", 0), ints("r_limit", 4), ints("r1", 1),
               ints("k0", [1])])
    X = f64(x)
    refs = [X.reshape(2, 12), X + np.arange(4) * 4.0, X + 1.5,
            X.reshape(1, 3, 8)]
    return Case(m, [x], refs)


def case_layout():
    x, y = randn(2, 3, 4), randn(3, 1)
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[2, 0, 1],
                         name="transpose"),
        helper.make_node("Transpose", ["x"], ["t_default"], name="rev"),
        helper.make_node("Flatten", ["x"], ["flat"], axis=2, name="flatten"),
        helper.make_node("Slice", ["x", "s_start", "s_end", "s_axes",
                                   "s_steps"], ["slice"], name="slice"),
        helper.make_node("Slice", ["x", "n_start", "n_end"], ["slice_neg"],
                         name="slice_neg"),
        helper.make_node("Split", ["x", "split"], ["part0", "part1"], axis=2,
                         name="split"),
        helper.make_node("Concat", ["x", "x"], ["cat"], axis=1, name="cat"),
        helper.make_node("Unsqueeze", ["x", "u_axes"], ["unsq"],
                         name="unsqueeze"),
        helper.make_node("Squeeze", ["unsq", "u_axes"], ["sq"],
                         name="squeeze"),
        helper.make_node("Expand", ["y", "e_shape"], ["expand"],
                         name="expand"),
        helper.make_node("Trilu", ["m"], ["triu"], name="triu"),
        helper.make_node("Trilu", ["m", "k_one"], ["tril"], upper=0,
                         name="tril"),
    ]
    m = model(nodes, [value("x", FLOAT, [2, 3, 4]), value("y", FLOAT, [3, 1]),
                      value("m", FLOAT, [4, 5])],
              [value("t", FLOAT, [4, 2, 3]), value("t_default", FLOAT,
                                                   [4, 3, 2]),
               value("flat", FLOAT, [6, 4]), value("slice", FLOAT, [2, 2, 2]),
               value("slice_neg", FLOAT, [2, 2, 4]),
               value("part0", FLOAT, [2, 3, 1]),
               value("part1", FLOAT, [2, 3, 3]),
               value("cat", FLOAT, [2, 6, 4]),
               value("sq", FLOAT, [2, 3, 4]),
               value("expand", FLOAT, [2, 3, 4]),
               value("triu", FLOAT, [4, 5]), value("tril", FLOAT, [4, 5])],
              [ints("s_start", [1, 0]), ints("s_end", [3, 100]),
               ints("s_axes", [1, -1]), ints("s_steps", [1, 2]),
               ints("n_start", [0, -2]), ints("n_end", [2, 2**63 - 1]),
               ints("split", [1, 3]), ints("u_axes", [0, 3]),
               ints("e_shape", [2, 1, 4]), ints("k_one", 1)])
    mm = randn(4, 5)
    X, Y, M = f64(x), f64(y), f64(mm)
    refs = [X.transpose(2, 0, 1), X.transpose(2, 1, 0), X.reshape(6, 4),
            X[:, 1:3, 0::2], X[0:2, -2:], X[:, :, :1], X[:, :, 1:],
            np.concatenate([X, X], axis=1), X,
            np.broadcast_to(Y, (2, 3, 4)), np.triu(M), np.tril(M, 1)]
    return Case(m, [x, y, mm], refs)


def case_reverse():
    """Slices with negative steps, on an activation and folded on a
    constant."""
    x = randn(3, 4)
    big = -(2**63 - 1)
    nodes = [
        helper.make_node("Slice", ["x", "r_start", "r_end", "r_axes",
                                   "r_steps"], ["rows_rev"], name="rows_rev"),
        helper.make_node("Slice", ["x", "c_start", "c_end", "c_axes",
                                   "c_steps"], ["cols"], name="cols"),
        helper.make_node("Slice", ["k", "r_start", "r_end", "r_axes",
                                   "r_steps"], ["k_rev"], name="k_rev"),
        helper.make_node("Add", ["x", "k_rev"], ["plus_k"], name="plus_k"),
    ]
    k = np.arange(4, dtype=np.float32)
    m = model(nodes, [value("x", FLOAT, [3, 4])],
              [value("rows_rev", FLOAT, [3, 4]), value("cols", FLOAT, [3, 2]),
               value("plus_k", FLOAT, [3, 4])],
              [ints("r_start", [-1]), ints("r_end", [big]), ints("r_axes", [0]),
               ints("r_steps", [-1]), ints("c_start", [3]), ints("c_end", [0]),
               ints("c_axes", [1]), ints("c_steps", [-2]),
               init("k", k)])
    X = f64(x)
    return Case(m, [x], [X[::-1], X[:, 3:0:-2], X + k[::-1]])


def case_logic():
    a, b = randn(2, 3), randn(3)
    a[0, 1] = b[1]  # one tie for the *OrEqual comparisons
    cast = lambda src, dst: helper.make_node("Cast", [src], [dst], to=FLOAT,
                                             name=dst)
    nodes = [
        helper.make_node("LessOrEqual", ["a", "b"], ["le"], name="le"),
        helper.make_node("GreaterOrEqual", ["a", "b"], ["ge"], name="ge"),
        helper.make_node("And", ["le", "ge"], ["eq"], name="and"),
        helper.make_node("Not", ["eq"], ["ne"], name="not"),
        helper.make_node("Less", ["a", "zero"], ["neg"], name="negative"),
        helper.make_node("Or", ["ne", "neg"], ["or"], name="or"),
        cast("le", "le_f"), cast("ge", "ge_f"), cast("eq", "eq_f"),
        cast("ne", "ne_f"), cast("or", "or_f"),
    ]
    m = model(nodes, [value("a", FLOAT, [2, 3]), value("b", FLOAT, [3])],
              [value(n, FLOAT, [2, 3])
               for n in ["le_f", "ge_f", "eq_f", "ne_f", "or_f"]],
              [init("zero", np.float32(0))])
    A, B = f64(a), f64(b)
    return Case(m, [a, b], [(A <= B) * 1.0, (A >= B) * 1.0, (A == B) * 1.0,
                            (A != B) * 1.0, ((A != B) | (A < 0)) * 1.0])


def case_gather():
    table = randn(10, 4)
    x = randn(3, 5)
    idx = np.array([[1, 9, -1], [0, 0, 3]], dtype=np.int64)
    nodes = [
        helper.make_node("Gather", ["table", "idx"], ["embed"], name="embed"),
        helper.make_node("Gather", ["x", "cols"], ["cols_out"], axis=1,
                         name="cols"),
        helper.make_node("Gather", ["x", "row"], ["row_out"], axis=0,
                         name="row"),
    ]
    m = model(nodes, [value("idx", INT64, [2, 3]), value("x", FLOAT, [3, 5])],
              [value("embed", FLOAT, [2, 3, 4]),
               value("cols_out", FLOAT, [3, 2]),
               value("row_out", FLOAT, [5])],
              [init("table", table), ints("cols", [4, -5]), ints("row", 2)])
    T, X = f64(table), f64(x)
    refs = [T[idx], X[:, [4, 0]], X[2]]
    return Case(m, [idx, x], refs)


#===----------------------------------------------------------------------===#
# Reductions and normalization
#===----------------------------------------------------------------------===#

def case_reduce13():
    x = randn(2, 3, 4)
    nodes = [
        helper.make_node("ReduceSum", ["x", "axes"], ["sum"], keepdims=0,
                         name="sum"),
        helper.make_node("ReduceMean", ["x"], ["mean"], axes=[-1],
                         name="mean"),
        helper.make_node("ReduceMax", ["x"], ["max"], axes=[0, 2],
                         keepdims=0, name="max"),
        helper.make_node("ReduceSum", ["x"], ["all"], keepdims=0, name="all"),
    ]
    m = model(nodes, [value("x", FLOAT, [2, 3, 4])],
              [value("sum", FLOAT, [2, 4]), value("mean", FLOAT, [2, 3, 1]),
               value("max", FLOAT, [3]), value("all", FLOAT, [])],
              [ints("axes", [1])], opset=13)
    X = f64(x)
    refs = [X.sum(1), X.mean(-1, keepdims=True), X.max((0, 2)), X.sum()]
    scales = [np.abs(X).sum(1), np.abs(X).mean(-1, keepdims=True), None,
              np.abs(X).sum()]
    return Case(m, [x], refs, scales)


def case_reduce18():
    x = randn(2, 3, 4)
    nodes = [
        helper.make_node("ReduceMean", ["x", "axes"], ["mean"], keepdims=0,
                         name="mean"),
        helper.make_node("ReduceMax", ["x", "axes"], ["max"], name="max"),
        helper.make_node("ReduceMin", ["x", "axes"], ["min"], name="min"),
    ]
    m = model(nodes, [value("x", FLOAT, [2, 3, 4])],
              [value("mean", FLOAT, [2, 4]), value("max", FLOAT, [2, 1, 4]),
               value("min", FLOAT, [2, 1, 4])],
              [ints("axes", [1])], opset=18)
    X = f64(x)
    refs = [X.mean(1), X.max(1, keepdims=True), X.min(1, keepdims=True)]
    return Case(m, [x], refs, [np.abs(X).mean(1), None, None])


def case_norm():
    x = randn(2, 3, 8) * 3
    gamma, beta = randn(8), randn(8)
    nodes = [
        helper.make_node("Softmax", ["x"], ["softmax"], name="softmax"),
        helper.make_node("LogSoftmax", ["x"], ["logsoftmax"], axis=1,
                         name="logsoftmax"),
        helper.make_node("LayerNormalization", ["x", "gamma", "beta"],
                         ["ln"], epsilon=1e-5, name="ln"),
        helper.make_node("LayerNormalization", ["x", "gamma2"], ["ln2"],
                         axis=1, name="ln2"),
    ]
    gamma2 = randn(3, 8)
    m = model(nodes, [value("x", FLOAT, [2, 3, 8])],
              [value(n, FLOAT, [2, 3, 8])
               for n in ["softmax", "logsoftmax", "ln", "ln2"]],
              [init("gamma", gamma), init("beta", beta),
               init("gamma2", gamma2)])
    X = f64(x)

    def softmax(v, axis):
        e = np.exp(v - v.max(axis, keepdims=True))
        return e / e.sum(axis, keepdims=True)

    def layernorm(v, axes, g, b):
        mean = v.mean(axes, keepdims=True)
        var = ((v - mean) ** 2).mean(axes, keepdims=True)
        return (v - mean) / np.sqrt(var + 1e-5) * g + b

    lsm = X - X.max(1, keepdims=True)
    lsm = lsm - np.log(np.exp(lsm).sum(1, keepdims=True))
    refs = [softmax(X, -1), lsm, layernorm(X, -1, gamma, beta),
            layernorm(X, (1, 2), gamma2, 0)]
    # LogSoftmax subtracts two numbers of size ~|x|: error scales with |x|;
    # layer norm divides by the standard deviation: |x| / std ~ a few units.
    scales = [None, np.abs(lsm) + np.abs(X), np.abs(refs[2]) + 1,
              np.abs(refs[3]) + 1]
    return Case(m, [x], refs, scales)


#===----------------------------------------------------------------------===#
# MatMul and Gemm
#===----------------------------------------------------------------------===#

def case_linear():
    x, x3 = randn(4, 8), randn(2, 3, 8)
    w, b = randn(8, 16), randn(16)
    wg, cg = randn(6, 8), randn(6)  # Gemm transB: [N, K]
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["mm"], name="fc"),
        helper.make_node("Add", ["mm", "b"], ["fc_out"], name="fc_bias"),
        helper.make_node("MatMul", ["x3", "w"], ["mm3"], name="fc3"),
        helper.make_node("Add", ["b", "mm3"], ["fc3_out"], name="fc3_bias"),
        helper.make_node("Gemm", ["x", "wg", "cg"], ["gemm"], transB=1,
                         name="gemm"),
        helper.make_node("Gemm", ["xt", "w", "cg16"], ["gemm2"], transA=1,
                         alpha=0.5, beta=2.0, name="gemm2"),
        helper.make_node("MatMul", ["x", "w"], ["plain"], name="plain"),
    ]
    cg16 = randn(1, 16)
    xt = randn(8, 4)
    m = model(nodes, [value("x", FLOAT, [4, 8]), value("x3", FLOAT, [2, 3, 8]),
                      value("xt", FLOAT, [8, 4])],
              [value("fc_out", FLOAT, [4, 16]),
               value("fc3_out", FLOAT, [2, 3, 16]),
               value("gemm", FLOAT, [4, 6]), value("gemm2", FLOAT, [4, 16]),
               value("plain", FLOAT, [4, 16])],
              [init("w", w), init("b", b), init("wg", wg), init("cg", cg),
               init("cg16", cg16)])
    X, X3, XT, W, B = f64(x), f64(x3), f64(xt), f64(w), f64(b)
    refs = [X @ W + B, X3 @ W + B, X @ f64(wg).T + f64(cg),
            0.5 * (XT.T @ W) + 2.0 * f64(cg16), X @ W]
    scales = [np.abs(X) @ np.abs(W) + np.abs(B),
              np.abs(X3) @ np.abs(W) + np.abs(B),
              np.abs(X) @ np.abs(f64(wg)).T + np.abs(f64(cg)),
              0.5 * np.abs(XT.T) @ np.abs(W) + 2 * np.abs(f64(cg16)),
              np.abs(X) @ np.abs(W)]
    return Case(m, [x, x3, xt], refs, scales)


def case_matmul_act():
    a, b = randn(2, 3, 4), randn(4, 5)
    c, d = randn(2, 1, 3, 4), randn(3, 4, 2)
    v = randn(4)
    nodes = [
        helper.make_node("MatMul", ["a", "b"], ["ab"], name="ab"),
        helper.make_node("MatMul", ["c", "d"], ["cd"], name="cd"),
        helper.make_node("MatMul", ["a", "v"], ["av"], name="av"),
        helper.make_node("MatMul", ["v", "b"], ["vb"], name="vb"),
        helper.make_node("Gemm", ["b", "bt"], ["gemm"], transA=1, transB=1,
                         name="gemm"),
    ]
    m = model(nodes, [value("a", FLOAT, [2, 3, 4]), value("b", FLOAT, [4, 5]),
                      value("c", FLOAT, [2, 1, 3, 4]),
                      value("d", FLOAT, [3, 4, 2]), value("v", FLOAT, [4]),
                      value("bt", FLOAT, [3, 4])],
              [value("ab", FLOAT, [2, 3, 5]), value("cd", FLOAT, [2, 3, 3, 2]),
               value("av", FLOAT, [2, 3]), value("vb", FLOAT, [5]),
               value("gemm", FLOAT, [5, 3])])
    bt = randn(3, 4)
    A, B, C, D, V, BT = map(f64, (a, b, c, d, v, bt))
    refs = [A @ B, C @ D, A @ V, V @ B, B.T @ BT.T]
    scales = [np.abs(A) @ np.abs(B), np.abs(C) @ np.abs(D),
              np.abs(A) @ np.abs(V), np.abs(V) @ np.abs(B),
              np.abs(B.T) @ np.abs(BT.T)]
    return Case(m, [a, b, c, d, v, bt], refs, scales)


def case_tied():
    """A tied embedding: Gather from the table and a MatMul over its
    Transpose (too large to fold) share one param."""
    vocab, dim = 300, 256
    table = randn(vocab, dim) / 16
    idx = np.array([[5, 299, 0], [17, 17, 250]], dtype=np.int64)
    nodes = [
        helper.make_node("Gather", ["embed.weight", "idx"], ["h"],
                         name="embed"),
        helper.make_node("Transpose", ["embed.weight"], ["embed_t"],
                         perm=[1, 0], name="embed_t"),
        helper.make_node("MatMul", ["h", "embed_t"], ["logits"],
                         name="lm_head"),
    ]
    m = model(nodes, [value("idx", INT64, [2, 3])],
              [value("logits", FLOAT, [2, 3, vocab])],
              [init("embed.weight", table)])
    T = f64(table)
    h = T[idx]
    return Case(m, [idx], [h @ T.T], [np.abs(h) @ np.abs(T).T])


def case_external():
    """A linear whose weight is stored in an external data file."""
    x, w = randn(2, 64), randn(64, 32)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")]
    m = model(nodes, [value("x", FLOAT, [2, 64])],
              [value("y", FLOAT, [2, 32])], [init("w", w)], opset=21,
              ir_version=None)
    X, W = f64(x), f64(w)
    return Case(m, [x], [X @ W], [np.abs(X) @ np.abs(W)])


def case_half():
    """A float16 linear with bias, GELU (tanh) and LayerNormalization."""
    x = randn(4, 16).astype(np.float16)
    w, b = (randn(16, 8) / 4).astype(np.float16), randn(8).astype(np.float16)
    g = randn(8).astype(np.float16)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["mm"], name="fc"),
        helper.make_node("Add", ["mm", "b"], ["h"], name="fc_bias"),
        helper.make_node("Sigmoid", ["h"], ["s"], name="sigmoid"),
        helper.make_node("LayerNormalization", ["h", "g"], ["ln"],
                         name="ln"),
    ]
    F16 = TensorProto.FLOAT16
    m = model(nodes, [value("x", F16, [4, 16])],
              [value("h", F16, [4, 8]), value("s", F16, [4, 8]),
               value("ln", F16, [4, 8])],
              [init("w", w), init("b", b), init("g", g)])
    X, W, B, G = f64(x), f64(w), f64(b), f64(g)
    h = X @ W + B
    # float16 results: each output rounds to float16 at least once (2^-11
    # relative); intermediate roundings to float16 before the sigmoid and the
    # normalization add a few more. Checked with RTOL 4e-3 (8 half-ulps).
    hq = h.astype(np.float16).astype(np.float64)
    mean = hq.mean(-1, keepdims=True)
    ln = (hq - mean) / np.sqrt(((hq - mean) ** 2).mean(-1, keepdims=True)
                               + 1e-5) * G
    return Case(m, [x], [h, 1 / (1 + np.exp(-hq)), ln],
                [np.abs(X) @ np.abs(W) + np.abs(B), None,
                 np.abs(ln) + np.abs(G)])


def case_mlp():
    """MatMul+Add+Relu+MatMul+Add with initializers, as exporters emit."""
    batch, d_in, hidden, d_out = 8, 128, 64, 32
    x = randn(batch, d_in)
    w1 = (randn(d_in, hidden) / np.sqrt(d_in)).astype(np.float32)
    w2 = (randn(hidden, d_out) / np.sqrt(hidden)).astype(np.float32)
    b1 = (randn(hidden) * 0.1).astype(np.float32)
    b2 = (randn(d_out) * 0.1).astype(np.float32)
    w1[7, 3] = 2.5  # an outlier, as real layers have
    nodes = [
        helper.make_node("MatMul", ["x", "fc1.weight"], ["h0"], name="fc1"),
        helper.make_node("Add", ["h0", "fc1.bias"], ["h1"], name="fc1_add"),
        helper.make_node("Relu", ["h1"], ["h"], name="relu"),
        helper.make_node("MatMul", ["h", "fc2.weight"], ["y0"], name="fc2"),
        helper.make_node("Add", ["y0", "fc2.bias"], ["y"], name="fc2_add"),
    ]
    m = model(nodes, [value("x", FLOAT, [batch, d_in])],
              [value("y", FLOAT, [batch, d_out])],
              [init("fc1.weight", w1), init("fc1.bias", b1),
               init("fc2.weight", w2), init("fc2.bias", b2)])
    X, W1, W2 = f64(x), f64(w1), f64(w2)
    h = np.maximum(X @ W1 + b1, 0)
    scale = (np.abs(X) @ np.abs(W1) + np.abs(b1)) @ np.abs(W2) + np.abs(b2)
    return Case(m, [x], [h @ W2 + b2], [scale])


def case_bind_shapes():
    """Shape and axes operands that are graph inputs (for --bind-input):
    Reshape's shape, Unsqueeze's axes, Slice's starts/ends/axes, and a float
    input `bias` that can be bound as well."""
    x, bias = randn(2, 3, 4), randn(4)
    shape = np.array([4, 6], dtype=np.int64)
    axes = np.array([1], dtype=np.int64)
    starts = np.array([1], dtype=np.int64)
    ends = np.array([3], dtype=np.int64)
    slice_axes = np.array([2], dtype=np.int64)
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["reshaped"],
                         name="reshape"),
        helper.make_node("Unsqueeze", ["x", "axes"], ["unsqueezed"],
                         name="unsqueeze"),
        helper.make_node("Slice", ["x", "starts", "ends", "slice_axes"],
                         ["sliced"], name="slice"),
        helper.make_node("Add", ["x", "bias"], ["biased"], name="add"),
    ]
    m = model(nodes,
              [value("x", FLOAT, [2, 3, 4]), value("bias", FLOAT, [4]),
               value("shape", INT64, [2]), value("axes", INT64, [1]),
               value("starts", INT64, [1]), value("ends", INT64, [1]),
               value("slice_axes", INT64, [1])],
              [value("reshaped", FLOAT, [4, 6]),
               value("unsqueezed", FLOAT, [2, 1, 3, 4]),
               value("sliced", FLOAT, [2, 3, 2]),
               value("biased", FLOAT, [2, 3, 4])])
    X = f64(x)
    refs = [X.reshape(shape), np.expand_dims(X, 1), X[:, :, 1:3],
            X + f64(bias)]
    return Case(m, [x, bias, shape, axes, starts, ends, slice_axes], refs)


def case_bind_range():
    """A Range whose limit is computed from the graph input `size` (size + 1),
    added to x: with `size` bound, Range folds to a constant."""
    size = np.array(4, dtype=np.int64)
    x = randn(5)
    nodes = [
        helper.make_node("Add", ["size", "one"], ["limit"], name="limit"),
        helper.make_node("Range", ["zero", "limit", "one"], ["range"],
                         name="range"),
        helper.make_node("Cast", ["range"], ["range_f"], to=FLOAT,
                         name="cast"),
        helper.make_node("Add", ["x", "range_f"], ["y"], name="add"),
    ]
    m = model(nodes, [value("x", FLOAT, [5]), value("size", INT64, [])],
              [value("y", FLOAT, [5])],
              [init("zero", np.int64(0)), init("one", np.int64(1))])
    return Case(m, [x, size], [f64(x) + np.arange(int(size) + 1)])


#===----------------------------------------------------------------------===#
# Invalid models (for error tests; no inputs or references)
#===----------------------------------------------------------------------===#

def x_in(shape=(2, 3)):
    return value("x", FLOAT, list(shape))


def err_unknown_op():
    return model([helper.make_node("FooBar", ["x"], ["y"], name="weird")],
                 [x_in()], [value("y", FLOAT, [2, 3])])


def err_custom_domain():
    m = model([helper.make_node("Fancy", ["x"], ["y"], name="fancy",
                                domain="com.example")],
              [x_in()], [value("y", FLOAT, [2, 3])])
    m.opset_import.append(helper.make_opsetid("com.example", 3))
    return m


def err_broadcast():
    return model([helper.make_node("Add", ["x", "z"], ["y"], name="bad_add")],
                 [x_in(), value("z", FLOAT, [4])],
                 [value("y", FLOAT, [2, 3])])


def err_dtype():
    return model([helper.make_node("Mul", ["x", "z"], ["y"], name="mixed")],
                 [x_in(), value("z", INT64, [2, 3])],
                 [value("y", FLOAT, [2, 3])])


def err_declared_shape():
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                 [x_in()], [value("y", FLOAT, [3, 2])])


def err_reshape():
    return model([helper.make_node("Reshape", ["x", "s"], ["y"], name="rs")],
                 [x_in()], [value("y", FLOAT, [4, 2])], [ints("s", [4, 2])])


def err_dynamic_shape():
    return model([helper.make_node("Reshape", ["x", "s"], ["y"], name="rs")],
                 [x_in(), value("s", INT64, [2])],
                 [value("y", FLOAT, [3, 2])])


def err_dynamic_input():
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                 [value("x", FLOAT, ["batch", 3])],
                 [value("y", FLOAT, ["batch", 3])])


def err_old_opset():
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                 [x_in()], [value("y", FLOAT, [2, 3])], opset=11)


def err_matmul_shape():
    return model([helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")],
                 [x_in()], [value("y", FLOAT, [2, 5])],
                 [init("w", randn(4, 5))])


def err_undefined():
    return model([helper.make_node("Add", ["x", "ghost"], ["y"], name="add")],
                 [x_in()], [value("y", FLOAT, [2, 3])])


def err_uint8_input():
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                 [value("x", TensorProto.UINT8, [2, 3])],
                 [value("y", TensorProto.UINT8, [2, 3])])


def err_string_constant():
    tensor = helper.make_tensor("s", TensorProto.STRING, [1], [b"hello"])
    return model([helper.make_node("Constant", [], ["y"], value=tensor,
                                   name="text")],
                 [x_in()], [value("y", TensorProto.STRING, [1])])


def err_cast_string():
    return model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.STRING,
                                   name="to_text")],
                 [x_in()], [value("y", TensorProto.STRING, [2, 3])])


def err_unused_output():
    """LayerNormalization's Mean output used: supported. Split with too many
    outputs for its split sizes is not."""
    return model([helper.make_node("Split", ["x", "parts"], ["a", "b", "c"],
                                   axis=1, name="split")],
                 [x_in()], [value("a", FLOAT, [2, 1])],
                 [ints("parts", [1, 2])])


def save_with_external_data(out_dir, name, m):
    onnx.save(m, os.path.join(out_dir, f"{name}.onnx"),
              save_as_external_data=True, all_tensors_to_one_file=True,
              location=f"{name}.data", size_threshold=0)


def err_missing_data(out_dir):
    """External data whose file is gone."""
    save_with_external_data(out_dir, "missing_data", case_external().model)
    os.remove(os.path.join(out_dir, "missing_data.data"))


def err_short_data(out_dir):
    """An initializer larger than its external data file."""
    save_with_external_data(out_dir, "short_data", case_external().model)
    path = os.path.join(out_dir, "short_data.data")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 100)


def err_escaping_data(out_dir):
    """An external data location outside the model's directory."""
    m = case_external().model
    tensor = m.graph.initializer[0]
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../secret.bin"
    onnx.save(m, os.path.join(out_dir, "escaping_data.onnx"))


def err_malformed(out_dir):
    """Bytes that are not a protobuf, and a truncated model."""
    with open(os.path.join(out_dir, "malformed.onnx"), "wb") as f:
        f.write(b"this is not an ONNX model\n")
    data = case_linear().model.SerializeToString()
    with open(os.path.join(out_dir, "truncated.onnx"), "wb") as f:
        f.write(data[:len(data) // 2])


def err_cycle():
    """Two nodes that read each other's output (ONNX graphs are acyclic and
    topologically sorted)."""
    return model([helper.make_node("Relu", ["b"], ["a"], name="first"),
                  helper.make_node("Relu", ["a"], ["b"], name="second")],
                 [x_in()], [value("a", FLOAT, [2, 3])])


def err_huge_dims():
    """A graph input whose dimensions multiply past int64."""
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                 [value("x", FLOAT, [1 << 40, 1 << 40])],
                 [value("y", FLOAT, [1 << 40, 1 << 40])])


def err_huge_expand():
    """Expand to a shape whose element count overflows int64."""
    return model([helper.make_node("Expand", ["x", "shape"], ["y"],
                                   name="expand")],
                 [value("x", FLOAT, [1, 1])],
                 [value("y", FLOAT, [1 << 40, 1 << 40])],
                 [ints("shape", [1 << 40, 1 << 40])])


def err_huge_range():
    """Range from INT64_MIN to INT64_MAX: its length overflows int64."""
    return model([helper.make_node("Range", ["start", "limit", "delta"], ["y"],
                                   name="range")],
                 [], [value("y", TensorProto.INT64, [None])],
                 [ints("start", -(1 << 63)), ints("limit", (1 << 63) - 1),
                  ints("delta", 1)])


def err_claims_huge():
    """An initializer that claims 100 GB (25 Gi floats) but holds one float:
    rejected before anything is allocated for it."""
    tensor = TensorProto(name="w", data_type=FLOAT, dims=[25 << 30],
                         float_data=[1.0])
    return model([helper.make_node("Add", ["x", "w"], ["y"], name="add")],
                 [value("x", FLOAT, [1])], [value("y", FLOAT, [1])],
                 [tensor])


def err_deep_nesting(out_dir):
    """A graph input type nested 1000 levels deep (sequence of sequence of
    ...), far past protobuf's default recursion limit of 100. Written as raw
    protobuf bytes: TypeProto.sequence_type (field 4) holds a
    TypeProto.Sequence whose elem_type (field 1) is a TypeProto."""
    def length_delimited(field, payload):
        key = bytes([(field << 3) | 2])
        size, n = b"", len(payload)
        while True:
            byte = n & 0x7F
            n >>= 7
            size += bytes([byte | (0x80 if n else 0)])
            if not n:
                return key + size + payload
    tensor_type = length_delimited(1, b"\x08\x01")  # tensor_type{elem_type: 1}
    type_proto = tensor_type
    for _ in range(1000):
        type_proto = length_delimited(4, length_delimited(1, type_proto))
    value_info = length_delimited(1, b"x") + length_delimited(2, type_proto)
    graph = length_delimited(11, value_info)
    m = case_linear().model
    data = m.SerializeToString() + length_delimited(7, graph)
    with open(os.path.join(out_dir, "deep_nesting.onnx"), "wb") as f:
        f.write(data)


# Errors that write their own files.
FILE_ERRORS = {"missing_data": err_missing_data, "short_data": err_short_data,
               "escaping_data": err_escaping_data, "malformed": err_malformed,
               "deep_nesting": err_deep_nesting}

CASES = {name[5:]: fn for name, fn in globals().items()
         if name.startswith("case_")}
ERRORS = {name[4:]: fn for name, fn in globals().items()
          if name.startswith("err_") and name[4:] not in FILE_ERRORS}


def write_case(out_dir, name):
    # Each case draws from its own seed, whatever else is generated.
    global RNG
    RNG = np.random.default_rng(zlib.crc32(name.encode()))
    if name in FILE_ERRORS:
        FILE_ERRORS[name](out_dir)
        return
    if name in ERRORS:
        onnx.save(ERRORS[name](), os.path.join(out_dir, f"{name}.onnx"))
        return
    case = CASES[name]()
    onnx.checker.check_model(case.model)
    path = os.path.join(out_dir, f"{name}.onnx")
    if name == "external":
        save_with_external_data(out_dir, name, case.model)
    else:
        onnx.save(case.model, path)
    for i, array in enumerate(case.inputs):
        np.save(os.path.join(out_dir, f"{name}.in{i}.npy"), array)
    for i, (ref, scale) in enumerate(zip(case.refs, case.scales)):
        np.save(os.path.join(out_dir, f"{name}.ref{i}.npy"), np.asarray(ref))
        if scale is None:
            scale = np.abs(np.asarray(ref, dtype=np.float64))
        np.save(os.path.join(out_dir, f"{name}.scale{i}.npy"),
                np.broadcast_to(scale, np.shape(ref)))


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for name in sys.argv[2:]:
        write_case(out_dir, name)


if __name__ == "__main__":
    main()
