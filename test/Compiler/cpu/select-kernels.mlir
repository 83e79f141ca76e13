// RUN: nibble-opt %s --nibble-cpu-select-kernels="triple=x86_64-unknown-linux-gnu features=+avx512f,+fma remarks" --split-input-file --verify-diagnostics | FileCheck %s
// RUN: nibble-opt %s --nibble-cpu-select-kernels="triple=x86_64-unknown-linux-gnu features=+avx2,+fma" --split-input-file | FileCheck %s --check-prefix=AVX2
// RUN: nibble-opt %s --nibble-cpu-select-kernels="triple=aarch64-unknown-linux-gnu features=+neon,+dotprod" --split-input-file | FileCheck %s --check-prefix=NEON
// RUN: nibble-opt %s --nibble-cpu-select-kernels="triple=x86_64-unknown-linux-gnu features=+avx512f,+avx512bw,+avx512vnni,+fma" --split-input-file | FileCheck %s --check-prefix=VNNI
// RUN: nibble-opt %s --nibble-cpu-select-kernels="triple=aarch64-unknown-linux-gnu features=+neon,+dotprod,+i8mm" --split-input-file | FileCheck %s --check-prefix=I8MM

// Two linears of the same shape and scheme share one kernel; the 4-bit codes
// of a 32-wide group are unpacked as two vectors of 16 lanes on AVX-512, 8 on
// AVX2 (two chunks per group), 4 on NEON. N = 8 has no panel of 32 rows:
// every row goes through the dot-product blocks.

// CHECK-LABEL: func.func @shared
// CHECK: %[[E0:.*]] = tensor.empty() : tensor<2x8xf32>
// CHECK: nibble.kernel_call @[[K:__nibble_kernel_qlinear_8x64_[0-9a-f]+]](%arg0, %arg1, %arg2) outs(%[[E0]])
// CHECK: nibble.kernel_call @[[K]](
// CHECK: func.func private @[[K]](%{{.*}}: memref<?x64xf32, strided<[?, 1], offset: ?>>, %{{.*}}: memref<8x32xi8, strided<[?, 1], offset: ?>>, %{{.*}}: memref<8x2xf32, strided<[?, 1], offset: ?>>, %{{.*}}: memref<?x8xf32, strided<[?, 1], offset: ?>>)
// CHECK-SAME: passthrough = ["noinline"]
// CHECK: vector.shuffle {{.*}} : vector<32xf32>, vector<32xf32>
// CHECK: scf.parallel
// CHECK: vector.load {{.*}} : memref<8x32xi8, strided<[?, 1], offset: ?>>, vector<16xi8>
// CHECK: arith.andi {{.*}} : vector<16xi32>
// CHECK: arith.shrui {{.*}} : vector<16xi32>
// CHECK: vector.fma {{.*}} : vector<16xf32>
// CHECK: vector.reduction <add>
// Single tokens (decode) prefetch a line of the rows 4 KiB on in the
// weight stream (here past the end: clamped to the last row), one line past
// the group (clamped to the row's 32 bytes).
// CHECK: %[[LAST:.*]] = arith.constant 31 : index
// CHECK: %[[AHEAD:.*]] = arith.minui {{.*}}, %[[LAST]] : index
// CHECK: %[[LASTROW:.*]] = arith.constant 7 : index
// CHECK: %[[ROW:.*]] = arith.minui {{.*}}, %[[LASTROW]] : index
// CHECK: memref.prefetch %{{.*}}[%[[ROW]], %[[AHEAD]]], read, locality<3>, data : memref<8x32xi8
// CHECK-NOT: func.func private @__nibble_kernel
// AVX2-LABEL: func.func @shared
// AVX2: vector.fma {{.*}} : vector<8xf32>
// NEON-LABEL: func.func @shared
// NEON: vector.fma {{.*}} : vector<4xf32>
func.func @shared(%x: tensor<2x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  // expected-remark @below {{kernel @__nibble_kernel_qlinear_8x64_}}
  %a = nibble.qlinear %x, %w, %s scheme <w4, group = 32> : (tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>) -> tensor<2x8xf32>
  // expected-remark @below {{x86-64 512-bit fma, 16 lanes, 4 rows x 4 tokens}}
  %b = nibble.qlinear %x, %w, %s scheme <w4, group = 32> : (tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>) -> tensor<2x8xf32>
  return %a, %b : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// Inputs of rank 3 are flattened around the call; the bias is an operand.

// CHECK-LABEL: func.func @rank3
// CHECK: %[[X:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<2x3x32xf32> into tensor<6x32xf32>
// CHECK: %[[Y:.*]] = nibble.kernel_call @__nibble_kernel_linear_6x32_{{.*}}(%[[X]], %arg1, %arg2)
// CHECK: tensor.expand_shape %[[Y]] {{\[\[}}0, 1], [2]] output_shape [2, 3, 6] : tensor<6x6xf32> into tensor<2x3x6xf32>
func.func @rank3(%x: tensor<2x3x32xf32>, %w: tensor<6x32xf32>, %b: tensor<6xf32>) -> tensor<2x3x6xf32> {
  // expected-remark @below {{2 rows x 4 tokens}}
  %y = nibble.linear %x, %w bias %b : (tensor<2x3x32xf32>, tensor<6x32xf32>, tensor<6xf32>) -> tensor<2x3x6xf32>
  return %y : tensor<2x3x6xf32>
}

// -----

// fp8 activations and groups narrower than 4 lanes of codes stay on the
// reference lowering.

// CHECK-LABEL: func.func @unsupported
// CHECK: nibble.qlinear
// CHECK: nibble.qlinear
// CHECK-NOT: nibble.kernel_call
func.func @unsupported(%x: tensor<2x64xf32>, %w8: tensor<8x64xi8>, %s8: tensor<8x1xf32>, %w4: tensor<8x32xi8>, %s4: tensor<8x16xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  // expected-remark @below {{reference lowering: fp8 activations have no kernel}}
  %a = nibble.qlinear %x, %w8, %s8 scheme <fp8, channel, act = fp8_dynamic> : (tensor<2x64xf32>, tensor<8x64xi8>, tensor<8x1xf32>) -> tensor<2x8xf32>
  // expected-remark @below {{reference lowering: the scale group (4 weights) is not a multiple of 8}}
  %b = nibble.qlinear %x, %w4, %s4 scheme <w4, group = 4> : (tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x16xf32>) -> tensor<2x8xf32>
  return %a, %b : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// int8 activations times integer codes: an integer kernel. x is quantized
// per token into signed bytes once per call, with the sums of each group's
// codes (for the zero point's term); each group is one 8-bit dot product of
// the unsigned weight codes and the activation codes per row and token,
// through a stub that becomes vpdpbusd (AVX-512 VNNI) or usdot (i8mm) and
// keeps its portable body elsewhere; a tile with token blocks unpacks each
// row block's codes once into a buffer. The group's i32 sums, less zero point
// times the activation sums, are converted and scaled into f32
// accumulators; the token's scale multiplies the sum.

// CHECK-LABEL: func.func @integer
// CHECK: nibble.kernel_call @[[K:__nibble_kernel_qlinear_i8_8x64_[0-9a-f]+]](%arg0, %arg1, %arg2, %arg3)
// CHECK: nibble.kernel_call @[[KS:__nibble_kernel_qlinear_i8_8x64_[0-9a-f]+]](%arg0, %arg1, %arg2, %arg4)
// CHECK: func.func private @[[K]](
// CHECK: math.roundeven {{.*}} : vector<64xf32>
// CHECK: arith.fptosi {{.*}} : vector<64xf32> to vector<64xi8>
// CHECK: call @__nibble_dot_u8s8_16xi32(
// CHECK: scf.parallel
// CHECK: scf.if
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<4x64xi8>
// CHECK: arith.shrui {{.*}} : vector<32xi8>
// CHECK: vector.shuffle {{.*}} : vector<32xi8>, vector<32xi8>
// CHECK: vector.store {{.*}} : memref<4x64xi8>, vector<64xi8>
// CHECK: call @__nibble_dot_u8s8_16xi32(
// CHECK: arith.muli {{.*}} : vector<16xi32>
// CHECK: arith.subi {{.*}} : vector<16xi32>
// CHECK: arith.sitofp {{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: vector.fma {{.*}} : vector<16xf32>
// CHECK: func.func private @__nibble_dot_u8s8_16xi32(%{{.*}}: vector<16xi32>, %{{.*}}: vector<64xi8>, %{{.*}}: vector<64xi8>) -> vector<16xi32>
// CHECK-NOT: nibble.llvm_intrinsic
// CHECK-COUNT-4: vector.shuffle {{.*}} [{{[0-3]}}, {{[4-7]}}, {{.*}}] : vector<64xi32>, vector<64xi32>
// AVX2-LABEL: func.func @integer
// AVX2: func.func private @__nibble_dot_u8s8_8xi32(
// VNNI-LABEL: func.func @integer
// VNNI: func.func private @__nibble_dot_u8s8_16xi32_intrinsic({{.*}} attributes {nibble.llvm_intrinsic = "llvm.x86.avx512.vpdpbusd.512"}
// NEON-LABEL: func.func @integer
// NEON: func.func private @__nibble_dot_u8s8_4xi32(
// I8MM-LABEL: func.func @integer
// I8MM: func.func private @__nibble_dot_u8s8_4xi32_intrinsic({{.*}} attributes {nibble.llvm_intrinsic = "llvm.aarch64.neon.usdot.v4i32.v16i8"}
func.func @integer(%x: tensor<2x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x1xf32>, %b: tensor<8xf32>, %is: tensor<1xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  // expected-remark @below {{16 lanes, 4 rows x 2 tokens, single tokens 1 row at a time}}
  %a = nibble.qlinear %x, %w, %s bias %b scheme <w4, channel, act = int8_dynamic> : (tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x1xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  // expected-remark @below {{kernel @__nibble_kernel_qlinear_i8_8x64_}}
  %c = nibble.qlinear %x, %w, %s input_scale %is scheme <w4, channel, act = int8_static> : (tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x1xf32>, tensor<1xf32>) -> tensor<2x8xf32>
  return %a, %c : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// Quantized activations with codes the integer kernel does not take (code
// books) run a float kernel on x̃, x quantized and dequantized as the
// reference does.

// CHECK-LABEL: func.func @dequantized_activations
// CHECK: nibble.kernel_call @[[K:__nibble_kernel_qlinear_8x64_[0-9a-f]+]]
// CHECK: func.func private @[[K]](
// CHECK: math.roundeven {{.*}} : vector<16xf32>
// CHECK: arith.mulf {{.*}} : vector<16xf32>
// CHECK: scf.parallel
func.func @dequantized_activations(%x: tensor<2x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>) -> tensor<2x8xf32> {
  // expected-remark @below {{kernel @__nibble_kernel_qlinear_8x64_}}
  %a = nibble.qlinear %x, %w, %s scheme <nf4, group = 32, act = int8_dynamic> : (tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>) -> tensor<2x8xf32>
  return %a : tensor<2x8xf32>
}

// -----

// Prefill: tiles with 8 tokens or more dequantize each block of 32 rows once
// into a k-major panel (16 x 16 transposes) and run broadcast-FMA blocks of
// 8 tokens x 2 vectors; the rest of the tokens take the dot-product blocks
// of 4 rows.

// CHECK-LABEL: func.func @panels
// CHECK: func.func private @__nibble_kernel_qlinear_32x64_
// CHECK: scf.parallel
// CHECK: scf.if
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<64x32xf32>
// CHECK: vector.transpose {{.*}} [1, 0] : vector<16x16xf32> to vector<16x16xf32>
// CHECK: vector.store {{.*}} : memref<64x32xf32>, vector<16xf32>
// CHECK: vector.broadcast {{.*}} : f32 to vector<16xf32>
// CHECK: vector.fma {{.*}} : vector<16xf32>
// CHECK: vector.store {{.*}} : memref<?x32xf32, strided<[?, 1], offset: ?>>, vector<16xf32>
// AVX2-LABEL: func.func @panels
// AVX2: vector.transpose {{.*}} : vector<8x8xf32> to vector<8x8xf32>
// NEON-LABEL: func.func @panels
// NEON: vector.transpose {{.*}} : vector<4x4xf32> to vector<4x4xf32>
func.func @panels(%x: tensor<16x64xf32>, %w: tensor<32x32xi8>, %s: tensor<32x2xf32>) -> tensor<16x32xf32> {
  // expected-remark @below {{4 rows x 4 tokens, panels of 32 rows x 8 tokens}}
  %y = nibble.qlinear %x, %w, %s scheme <w4, group = 32> : (tensor<16x64xf32>, tensor<32x32xi8>, tensor<32x2xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// -----

// A scale group of several cache lines (a row of 256 bytes) is streamed a
// line at a time in single-token blocks: each line's four chunks of 16 codes
// follow one prefetch per row of the block 4 KiB on (4 blocks of 4 rows of
// 256 bytes: 16 rows on), one line ahead.

// CHECK-LABEL: func.func private @__nibble_kernel_qlinear_64x256_
// CHECK: scf.for %[[K:[a-z0-9_]+]] = %c0{{(_[0-9]+)?}} to %c256{{(_[0-9]+)?}} step %c64{{(_[0-9]+)?}} iter_args
// CHECK-NEXT: %[[AT:.*]] = arith.addi %{{.*}}, %[[K]] : index
// CHECK: %[[NEXTLINE:.*]] = arith.addi %[[AT]], %c64{{.*}} : index
// CHECK: %[[COLUMN:.*]] = arith.minui %[[NEXTLINE]], %c255 : index
// CHECK: %[[ON:.*]] = arith.addi %{{.*}}, %c16{{.*}} : index
// CHECK: %[[ROW:.*]] = arith.minui %[[ON]], %c63{{.*}} : index
// CHECK: memref.prefetch %{{.*}}[%[[ROW]], %[[COLUMN]]]
// CHECK-COUNT-3: memref.prefetch
// CHECK-COUNT-16: vector.fma {{.*}} : vector<16xf32>
// CHECK: scf.yield
func.func @prefetch_lines(%x: tensor<1x256xf32>, %w: tensor<64x256xi8>, %s: tensor<64x1xf32>) -> tensor<1x64xf32> {
  // expected-remark @below {{kernel @__nibble_kernel_qlinear_64x256_}}
  %y = nibble.qlinear %x, %w, %s scheme <w8, channel> : (tensor<1x256xf32>, tensor<64x256xi8>, tensor<64x1xf32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

// A single token (decode) of an integer kernel passes over its block of 4
// rows one row at a time: each pass reads one row's codes (one stream of
// weights) and prefetches within that stream. After the token blocks (4
// rows x 2 tokens: 8 accumulators), four one-row group loops, each with one
// dot product per chunk.

// VNNI-LABEL: func.func @integer_single_token
// VNNI: func.func private @__nibble_kernel_qlinear_i8_8x256_
// VNNI: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// VNNI-COUNT-4: scf.for {{.*}} -> (vector<16xf32>) {
// VNNI-NOT: scf.for {{.*}} -> (vector<16xf32>,
// VNNI: func.func private @__nibble_dot_u8s8_16xi32_intrinsic
func.func @integer_single_token(%x: tensor<1x256xf32>, %w: tensor<8x128xi8>, %s: tensor<8x2xf32>) -> tensor<1x8xf32> {
  // expected-remark @below {{4 rows x 2 tokens, single tokens 1 row at a time}}
  %y = nibble.qlinear %x, %w, %s scheme <w4, group = 128, act = int8_dynamic> : (tensor<1x256xf32>, tensor<8x128xi8>, tensor<8x2xf32>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// Float minimums (value = u·s + m) with int8 activations: an integer
// kernel whose groups add m times the activations' group sums to the scaled
// dot product.

// CHECK-LABEL: func.func @integer_min
// CHECK: nibble.kernel_call @[[K:__nibble_kernel_qlinear_i8_8x64_[0-9a-f]+]](%arg0, %arg1, %arg2, %arg3)
// CHECK: func.func private @[[K]](
// CHECK: scf.for {{.*}} -> (vector<16xf32>) {
// CHECK: call @__nibble_dot_u8s8_16xi32(
// CHECK: %[[X:.*]] = arith.sitofp {{.*}} : vector<16xi32> to vector<16xf32>
// CHECK: %[[A:.*]] = vector.fma
// CHECK-NEXT: vector.fma %[[X]], {{.*}}, %[[A]]
func.func @integer_min(%x: tensor<2x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf16>, %m: tensor<8x2xf16>) -> tensor<2x8xf32> {
  // expected-remark @below {{kernel @__nibble_kernel_qlinear_i8_8x64_}}
  %y = nibble.qlinear %x, %w, %s mins %m scheme <w4, group = 32, min, scale = f16, act = int8_dynamic> : (tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x2xf16>, tensor<8x2xf16>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// Prefill of an integer kernel: tiles with 8 tokens or more unpack each
// block of 16 rows once into a k-major panel of code quads (16 x 16 i32
// transposes) beside its scales and zero points per group, and run blocks
// of 8 tokens x 16 rows: per group, 8 i32 sums that start at -z·X, one dot
// product per token and quad with the token's broadcast quad, then one
// conversion and one FMA per sum.

// VNNI-LABEL: func.func @integer_panels
// VNNI: func.func private @__nibble_kernel_qlinear_i8_16x64_
// VNNI: memref.alloc(%{{.*}}) : memref<?x2xi32>
// VNNI: scf.parallel
// VNNI: memref.alloc() {alignment = 64 : i64} : memref<16x16xi32>
// VNNI: memref.alloc() {alignment = 64 : i64} : memref<2x16xf32>
// VNNI: memref.alloc() {alignment = 64 : i64} : memref<2x16xi32>
// VNNI: vector.transpose {{.*}} [1, 0] : vector<16x16xi32> to vector<16x16xi32>
// VNNI: scf.for {{.*}} step %c8{{.*}} {
// VNNI: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// VNNI-COUNT-8: arith.muli {{.*}} : vector<16xi32>
// VNNI: scf.for {{.*}} -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>) {
// VNNI: vector.load {{.*}} : memref<16x16xi32>, vector<16xi32>
// VNNI: vector.load {{.*}} : memref<?x64xi8>, vector<4xi8>
// VNNI: vector.broadcast {{.*}} : i32 to vector<16xi32>
// VNNI: call @__nibble_dot_u8s8_16xi32_intrinsic(
// VNNI-COUNT-8: arith.sitofp {{.*}} : vector<16xi32> to vector<16xf32>
// VNNI: vector.store {{.*}} : memref<?x16xf32, strided<[?, 1], offset: ?>>, vector<16xf32>
// AVX2-LABEL: func.func @integer_panels
// AVX2: vector.transpose {{.*}} : vector<8x8xi32> to vector<8x8xi32>
// I8MM-LABEL: func.func @integer_panels
// I8MM: vector.transpose {{.*}} : vector<4x4xi32> to vector<4x4xi32>
func.func @integer_panels(%x: tensor<16x64xf32>, %w: tensor<16x32xi8>, %s: tensor<16x2xf32>, %z: tensor<16x2xi8>) -> tensor<16x16xf32> {
  // expected-remark @below {{4 rows x 2 tokens, single tokens 1 row at a time, panels of 16 rows x 8 tokens}}
  %y = nibble.qlinear %x, %w, %s zero_points %z scheme <w4, group = 32, asym, act = int8_dynamic> : (tensor<16x64xf32>, tensor<16x32xi8>, tensor<16x2xf32>, tensor<16x2xi8>) -> tensor<16x16xf32>
  return %y : tensor<16x16xf32>
}

// -----

// One activation scale per 32 values of a token (act_group = 32): the
// quantized input holds 2 scales per token and each lane's scale (a 64-code
// chunk spans two activation groups); a block's sums scale by s·s_a, and no
// token scale multiplies the sums at the end.

// VNNI-LABEL: func.func @activation_groups
// VNNI: func.func private @__nibble_kernel_qlinear_i8_8x64_
// VNNI: memref.alloc(%{{.*}}) : memref<?x2xf32>
// VNNI: %[[LANESCALES:.*]] = memref.alloc(%{{.*}}) : memref<?x16xf32>
// VNNI: vector.reduction <maximumf>, %{{.*}} : vector<16xf32> into f32
// VNNI: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// VNNI: %[[SA:.*]] = vector.load %[[LANESCALES]][%{{.*}}, %{{.*}}] : memref<?x16xf32>, vector<16xf32>
// VNNI: %[[S:.*]] = vector.broadcast %{{.*}} : f32 to vector<16xf32>
// VNNI: %[[X:.*]] = arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// VNNI-NEXT: %[[SSA:.*]] = arith.mulf %[[S]], %[[SA]] : vector<16xf32>
// VNNI-NEXT: vector.fma %[[X]], %[[SSA]], %{{.*}} : vector<16xf32>
// VNNI: %[[Y:.*]] = vector.reduction <add>, %{{.*}} : vector<16xf32> into f32
// VNNI-NEXT: memref.store %[[Y]]
func.func @activation_groups(%x: tensor<2x64xf32>, %w: tensor<8x64xi8>, %s: tensor<8x1xf32>) -> tensor<2x8xf32> {
  // expected-remark @below {{kernel @__nibble_kernel_qlinear_i8_8x64_}}
  %y = nibble.qlinear %x, %w, %s scheme <w8, channel, act = int8_dynamic, act_group = 32> : (tensor<2x64xf32>, tensor<8x64xi8>, tensor<8x1xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
