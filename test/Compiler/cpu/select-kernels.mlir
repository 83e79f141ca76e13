// RUN: nibble-opt %s --nibble-cpu-select-kernels="triple=x86_64-unknown-linux-gnu features=+avx512f,+fma remarks" --split-input-file --verify-diagnostics | FileCheck %s
// RUN: nibble-opt %s --nibble-cpu-select-kernels="triple=x86_64-unknown-linux-gnu features=+avx2,+fma" --split-input-file | FileCheck %s --check-prefix=AVX2
// RUN: nibble-opt %s --nibble-cpu-select-kernels="triple=aarch64-unknown-linux-gnu features=+neon,+dotprod" --split-input-file | FileCheck %s --check-prefix=NEON

// Two linears of the same shape and scheme share one kernel; the 4-bit codes
// of a 32-wide group are unpacked as two vectors of 16 lanes on AVX-512, 8 on
// AVX2 (two chunks per group), 4 on NEON.

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

// Quantized activations and groups narrower than 4 lanes of codes stay on
// the reference lowering.

// CHECK-LABEL: func.func @unsupported
// CHECK: nibble.qlinear
// CHECK: nibble.qlinear
// CHECK-NOT: nibble.kernel_call
func.func @unsupported(%x: tensor<2x64xf32>, %w8: tensor<8x64xi8>, %s8: tensor<8x1xf32>, %w4: tensor<8x32xi8>, %s4: tensor<8x16xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  // expected-remark @below {{reference lowering: quantized activations need integer kernels}}
  %a = nibble.qlinear %x, %w8, %s8 scheme <w8, channel, act = int8_dynamic> : (tensor<2x64xf32>, tensor<8x64xi8>, tensor<8x1xf32>) -> tensor<2x8xf32>
  // expected-remark @below {{reference lowering: the scale group (4 weights) is not a multiple of 8}}
  %b = nibble.qlinear %x, %w4, %s4 scheme <w4, group = 4> : (tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x16xf32>) -> tensor<2x8xf32>
  return %a, %b : tensor<2x8xf32>, tensor<2x8xf32>
}
