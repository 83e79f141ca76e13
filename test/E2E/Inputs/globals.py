"""Module-level weights (nibble.global) read by two entry points.

Usage: globals.py make DIR   writes DIR/globals.mlir, DIR/w.safetensors
                             (and a bad archive, DIR/bad.safetensors, whose
                             weight has the wrong shape) and DIR/x*.npy
       globals.py check DIR  compares DIR/y_prefill.npy and DIR/y_decode.npy
                             with numpy: x · Wᵀ scaled by the norm weight
       globals.py check_w8 DIR  the same for DIR/y_w8.npy (prefill after
                             nibble-rtn bits=8 group=0, scales read from
                             DIR/w.rtn.safetensors)

Tolerance 1e-5 relative: one f32 dot product of 16 terms. After W8 RTN:
|error| <= sum_k |x_k| * scale_n / 2 * |g_n| (each weight within half a
step of its code) plus the same 1e-5.
"""

import sys

import numpy as np
from nibble_testlib import read_safetensors, write_safetensors

RNG = np.random.default_rng(3)
W = RNG.standard_normal((8, 16)).astype(np.float32)
G = RNG.standard_normal(8).astype(np.float32)

MODULE = """module attributes {nibble.weights = "w.safetensors"} {
  nibble.global @layer.weight "blk.0.w" : tensor<8x16xf32>
  nibble.global @layer.gain "blk.0.g" : tensor<8xf32>
  func.func @prefill(%x5: tensor<5x16xf32>) -> tensor<5x8xf32> {
    %x = tensor.cast %x5 : tensor<5x16xf32> to tensor<?x16xf32>
    %w = nibble.global_load @layer.weight : tensor<8x16xf32>
    %g = nibble.global_load @layer.gain : tensor<8xf32>
    %y = nibble.linear %x, %w : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
    %c0 = arith.constant 0 : index
    %n = tensor.dim %x, %c0 : tensor<?x16xf32>
    %e = tensor.empty(%n) : tensor<?x8xf32>
    %s = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%y, %g : tensor<?x8xf32>, tensor<8xf32>) outs(%e : tensor<?x8xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      linalg.yield %m : f32
    } -> tensor<?x8xf32>
    %r = tensor.cast %s : tensor<?x8xf32> to tensor<5x8xf32>
    return %r : tensor<5x8xf32>
  }
  func.func @decode(%x: tensor<1x16xf32>) -> tensor<1x8xf32> {
    %w = nibble.global_load @layer.weight : tensor<8x16xf32>
    %g = nibble.global_load @layer.gain : tensor<8xf32>
    %y = nibble.linear %x, %w : (tensor<1x16xf32>, tensor<8x16xf32>) -> tensor<1x8xf32>
    %e = tensor.empty() : tensor<1x8xf32>
    %s = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%y, %g : tensor<1x8xf32>, tensor<8xf32>) outs(%e : tensor<1x8xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %m = arith.mulf %a, %b : f32
      linalg.yield %m : f32
    } -> tensor<1x8xf32>
    return %s : tensor<1x8xf32>
  }
}
"""


def make(out):
    write_safetensors(f"{out}/w.safetensors", {"blk.0.w": W, "blk.0.g": G})
    write_safetensors(f"{out}/bad.safetensors", {"blk.0.w": W[:, :8].copy(), "blk.0.g": G})
    np.save(f"{out}/x5.npy", RNG.standard_normal((5, 16)).astype(np.float32))
    np.save(f"{out}/x1.npy", RNG.standard_normal((1, 16)).astype(np.float32))
    with open(f"{out}/globals.mlir", "w") as f:
        f.write(MODULE)


def check(out):
    failed = 0
    for name, x in [("prefill", "x5"), ("decode", "x1")]:
        x = np.load(f"{out}/{x}.npy").astype(np.float64)
        ref = (x @ W.T.astype(np.float64)) * G
        got = np.load(f"{out}/y_{name}.npy")
        err = np.abs(got - ref).max()
        bound = 1e-5 * max(1.0, np.abs(ref).max())
        failed += not err <= bound
        print(f"{name}: max error {err:.3g} (bound {bound:.3g}) -> {'ok' if err <= bound else 'FAIL'}")
    sys.exit(1 if failed else 0)


def check_w8(out):
    scales = read_safetensors(f"{out}/w.rtn.safetensors")["blk.0.w.scales"][1].reshape(-1)
    x = np.load(f"{out}/x5.npy").astype(np.float64)
    ref = (x @ W.T.astype(np.float64)) * G
    bound = np.abs(x).sum(1, keepdims=True) * scales / 2 * np.abs(G) + 1e-5 * np.abs(ref).max()
    err = np.abs(np.load(f"{out}/y_w8.npy") - ref)
    ok = bool((err <= bound).all())
    print(f"w8: max error {err.max():.3g}, worst error/bound {(err / bound).max():.3g} -> {'ok' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    {"make": make, "check": check, "check_w8": check_w8}[sys.argv[1]](sys.argv[2])
