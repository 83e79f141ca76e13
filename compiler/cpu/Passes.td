//===- Passes.td - CPU kernel providers --------------------*- tablegen -*-===//

#ifndef NIBBLE_COMPILER_CPU_PASSES_TD
#define NIBBLE_COMPILER_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def NibbleCpuSelectKernels : Pass<"nibble-cpu-select-kernels",
                                  "mlir::ModuleOp"> {
  let summary = "Lower linears to generated CPU kernels where the target "
                "has one";
  let description = [{
    The CPU kernel provider. Replaces each `nibble.linear`,
    `nibble.qlinear` and `nibble.attention` it supports by a
    `nibble.kernel_call` of a kernel function it generates in the vector
    dialect:
    - linears: a fused dequantize-matmul that unpacks codes in registers,
      dequantizes them exactly as the reference lowering does and
      accumulates with FMAs, split over threads by output rows; with int8
      activations and integer codes, 8-bit dot products (vpdpbusd, usdot)
      on activations quantized per token as the reference does;
    - attention: one pass over the cache per query with an online softmax
      (flash-attention style), vector exponentials, GQA heads reading their
      KV head in place, split over threads by token and head.
    One kernel serves every op of the same shape and scheme. Ops it does not
    support (fp8 activations, non-f32 inputs, groups smaller than 4 lanes of
    codes, head sizes not a multiple of 4) are left for the reference
    lowering (`nibble-lower-to-linalg`); with `remarks` the pass says, as a
    remark on each linear, which kernel it got or why it got none.

    The target decides the vector width and the instructions: `triple` and
    `features` (an LLVM feature list such as `+avx2,+fma`), or the host when
    `triple` is empty. `vector-bits` overrides the width (for tuning and
    tests).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect"
  ];
  let options = [
    Option<"triple", "triple", "std::string", "\"\"",
           "Target triple (empty: the host)">,
    Option<"features", "features", "std::string", "\"\"",
           "LLVM target features, e.g. +avx2,+fma (with an empty triple: "
           "the host's)">,
    Option<"vectorBits", "vector-bits", "unsigned", "0",
           "Vector register width in bits to generate for (0: the "
           "target's)">,
    Option<"rows", "rows", "unsigned", "0",
           "Output features per register block of linear kernels (0: "
           "the provider's choice)">,
    Option<"tokens", "tokens", "unsigned", "0",
           "Input rows per register block of linear kernels (0: the "
           "provider's choice)">,
    Option<"remarks", "remarks", "bool", "false",
           "Remark on each linear: its kernel, or why it has none">,
  ];
}

def NibbleCpuInterleaveWeights : Pass<"nibble-cpu-interleave-weights",
                                      "mlir::ModuleOp"> {
  let summary = "Lay out quantized weights for the CPU kernels at compile "
                "time";
  let description = [{
    For each `nibble.qlinear` that `nibble-cpu-select-kernels` will give a
    kernel reading blocks of R rows (integer kernels with panels: R = i32
    lanes; float kernels: R = f32 lanes), with integer codes or a code book
    of up to 4 bits, per-group or per-channel scales without double
    quantization and N a multiple of R, rewrites its codes, scales, zero points and minimums
    into the interleaved layout: R rows side by side, four bytes of codes
    (one element of the others) at a time, so that the kernel reads a block
    of R rows as one stream of vectors, in prefill and decode alike, and
    packs nothing at run time. The qlinear reads them through `linalg.unpack`
    (inner tiles [R, 4] for codes, [R] for the others), so it keeps its
    meaning and the reference lowering still runs it.

    Weights from `nibble.global` and `nibble.param` are written to a new
    safetensors archive (`output-weights`, by default
    `<archive>.interleaved.safetensors`, never the input archive) that also
    holds every tensor still referenced; its metadata names each
    interleaved tensor's layout, and the module's `nibble.weights` points at
    it. Constant weights become interleaved constants. Weights of other
    origins are left as they are.

    ```
    nibble-opt --nibble-cpu-interleave-weights model.mlir
    ```

    `triple` and `features` name the target as for
    `nibble-cpu-select-kernels` (the host when `triple` is empty); the two
    passes must be given the same target.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
  let options = [
    Option<"triple", "triple", "std::string", "\"\"",
           "Target triple (empty: the host)">,
    Option<"features", "features", "std::string", "\"\"",
           "LLVM target features, e.g. +avx512f,+avx512vnni (with an empty "
           "triple: the host's)">,
    Option<"outputWeights", "output-weights", "std::string", "\"\"",
           "Safetensors file for the interleaved weights (default: the input "
           "archive's name with .interleaved.safetensors)">,
  ];
}

def NibbleCpuUseIntrinsics : Pass<"nibble-cpu-use-intrinsics",
                                  "mlir::ModuleOp"> {
  let summary = "Replace calls of intrinsic stubs by the LLVM intrinsic";
  let description = [{
    Generated kernels reach some instructions (AVX-512 vpermps, the 8-bit
    dot products vpdpbusd and usdot) through a stub function: a portable body tagged `nibble.llvm_intrinsic = "<name>"`.
    This pass replaces each call of such a stub by `llvm.call_intrinsic` of
    that intrinsic and removes the stubs. It runs after buffer deallocation,
    which refuses operations with unknown memory effects such as intrinsic
    calls; without it the stubs' portable bodies run instead.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def NibbleCpuApproximateMath : Pass<"nibble-cpu-approximate-math",
                                    "mlir::ModuleOp"> {
  let summary = "Replace exp, tanh and erf by polynomial "
                "approximations that vectorize";
  let description = [{
    The rest of the model (SiLU, GeLU, softmax outside the attention
    kernel) calls `math.exp`, `math.tanh` and `math.erf` elementwise; the
    reference lowering turns them into libm calls (expf, tanhf, erff), one
    scalar call per element, which also keep LLVM from vectorizing the
    loop around them. This pass rewrites them, on f32 scalars and vectors,
    into upstream's polynomial approximations (math-polynomial-
    approximation: arithmetic, fma and bit operations, accurate to a few
    ulp), which LLVM's loop vectorizer then vectorizes. It is part of the
    fast lowering (`kernels=fast`); the reference lowering keeps libm.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect"
  ];
}

#endif // NIBBLE_COMPILER_CPU_PASSES_TD
