// RUN: nibble-opt %s --nibble-cpu-interleave-weights="triple=aarch64-unknown-linux-gnu features=+neon,+dotprod,+i8mm" --split-input-file | FileCheck %s
// RUN: nibble-opt %s --nibble-cpu-interleave-weights="triple=aarch64-unknown-linux-gnu features=+neon,+dotprod,+i8mm" --split-input-file | nibble-opt --split-input-file --nibble-cpu-select-kernels="triple=aarch64-unknown-linux-gnu features=+neon,+dotprod,+i8mm" | FileCheck %s --check-prefix=KERNEL
// RUN: nibble-opt %s --nibble-cpu-interleave-weights="triple=aarch64-unknown-linux-gnu features=+neon,+dotprod,+i8mm" --split-input-file | nibble-opt --split-input-file --nibble-lower-to-linalg | FileCheck %s --check-prefix=REFERENCE
// RUN: nibble-opt %s --nibble-cpu-interleave-weights="triple=x86_64-unknown-linux-gnu features=+avx512f,+avx512bw,+avx512vnni,+fma" --split-input-file | FileCheck %s --check-prefix=WIDE

// W8A8 per channel on AArch64 (integer panels of 4 rows): the codes [4, 16]
// become [1, 4, 4, 4], row r's bytes 4w..4w+3 at [0, w, r]; the scales
// [4, 1] become [1, 1, 4]. The qlinear reads them through linalg.unpack.

// CHECK-LABEL: func.func @w8a8
// CHECK: %[[W:.*]] = arith.constant dense<{{\[\[\[\[}}0, 1, 2, 3], [16, 17, 18, 19], [32, 33, 34, 35], [48, 49, 50, 51]], {{\[\[}}4, 5, 6, 7], [20, 21, 22, 23], [36, 37, 38, 39], [52, 53, 54, 55]], {{\[\[}}8, 9, 10, 11], [24, 25, 26, 27], [40, 41, 42, 43], [56, 57, 58, 59]], {{\[\[}}12, 13, 14, 15], [28, 29, 30, 31], [44, 45, 46, 47], [60, 61, 62, 63]]]]> : tensor<1x4x4x4xi8>
// CHECK: %[[CODES:.*]] = linalg.unpack %[[W]] inner_dims_pos = [0, 1] inner_tiles = [4, 4] into %{{.*}} : tensor<1x4x4x4xi8> -> tensor<4x16xi8>
// CHECK: %[[S:.*]] = arith.constant dense<{{\[\[\[}}1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]]]> : tensor<1x1x4xf32>
// CHECK: %[[SCALES:.*]] = linalg.unpack %[[S]] inner_dims_pos = [0] inner_tiles = [4] into %{{.*}} : tensor<1x1x4xf32> -> tensor<4x1xf32>
// CHECK: nibble.qlinear %arg0, %[[CODES]], %[[SCALES]]

// The kernel reads the interleaved tensors in place (codes collapsed to
// [N / 4, 4, 16]) and the unpacks are gone.
// KERNEL-LABEL: func.func @w8a8
// KERNEL-NOT: linalg.unpack
// KERNEL: tensor.collapse_shape {{.*}} {{\[\[}}0], [1], [2, 3]] : tensor<1x4x4x4xi8> into tensor<1x4x16xi8>
// KERNEL: nibble.kernel_call @[[K:__nibble_kernel_qlinear_i8_4x16_[0-9a-f]+]]
// KERNEL: func.func private @[[K]](%{{.*}}: memref<?x16xf32, strided<[?, 1], offset: ?>>, %{{.*}}: memref<1x4x16xi8, strided<[?, ?, 1], offset: ?>>, %{{.*}}: memref<1x1x4xf32, strided<[?, ?, 1], offset: ?>>, %{{.*}}: memref<?x4xf32, strided<[?, 1], offset: ?>>)
// KERNEL: scf.parallel

// The reference lowering transposes them back.
// REFERENCE-LABEL: func.func @w8a8
// REFERENCE-NOT: linalg.unpack
// REFERENCE: linalg.transpose ins(%{{.*}} : tensor<1x4x4x4xi8>) outs(%{{.*}} : tensor<1x4x4x4xi8>) permutation = [0, 2, 1, 3]
// REFERENCE: tensor.collapse_shape {{.*}} : tensor<1x4x4x4xi8> into tensor<4x16xi8>

func.func @w8a8(%x: tensor<2x16xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
                             [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31],
                             [32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47],
                             [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63]]> : tensor<4x16xi8>
  %s = arith.constant dense<[[1.0], [2.0], [3.0], [4.0]]> : tensor<4x1xf32>
  %y = nibble.qlinear %x, %w, %s scheme <w8, channel, act = int8_dynamic>
      : (tensor<2x16xf32>, tensor<4x16xi8>, tensor<4x1xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Asymmetric W4A8 g16: zero points are interleaved like the scales; one
// constant read by two linears is interleaved once.
// On AVX-512 these kernels have panels of 8 rows, which N = 4 does not
// fill: nothing moves.
// WIDE-LABEL: func.func @asym_shared
// WIDE-NOT: linalg.unpack
// WIDE: return
// CHECK-LABEL: func.func @asym_shared
// CHECK-COUNT-1: arith.constant dense<{{.*}}> : tensor<1x4x4x4xi8>
// CHECK-NOT: arith.constant dense<{{.*}}> : tensor<1x4x4x4xi8>
// CHECK: linalg.unpack {{.*}} : tensor<1x2x4xi8> -> tensor<4x2xi8>
// CHECK: nibble.qlinear
// CHECK: nibble.qlinear
func.func @asym_shared(%x: tensor<2x32xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %w = arith.constant dense<17> : tensor<4x16xi8>
  %s = arith.constant dense<0.5> : tensor<4x2xf32>
  %z = arith.constant dense<8> : tensor<4x2xi8>
  %y0 = nibble.qlinear %x, %w, %s zero_points %z scheme <w4, group = 16, asym, act = int8_dynamic>
      : (tensor<2x32xf32>, tensor<4x16xi8>, tensor<4x2xf32>, tensor<4x2xi8>) -> tensor<2x4xf32>
  %y1 = nibble.qlinear %x, %w, %s zero_points %z scheme <w4, group = 16, asym, act = int8_dynamic>
      : (tensor<2x32xf32>, tensor<4x16xi8>, tensor<4x2xf32>, tensor<4x2xi8>) -> tensor<2x4xf32>
  return %y0, %y1 : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// Weight-only codes (float kernels) are interleaved by the kernel's f32
// lanes: 4 on NEON; the 8 lanes AVX-512 gets for groups of 16 4-bit codes
// are more rows than N = 4 (nothing moves). The float kernel reads the
// codes [4, 16] as [1, 4, 16] and the scales [4, 2] as [1, 2, 4].
// CHECK-LABEL: func.func @weight_only
// CHECK: linalg.unpack %{{.*}} inner_dims_pos = [0, 1] inner_tiles = [4, 4] into %{{.*}} : tensor<1x4x4x4xi8> -> tensor<4x16xi8>
// CHECK: linalg.unpack %{{.*}} inner_dims_pos = [0] inner_tiles = [4] into %{{.*}} : tensor<1x2x4xf32> -> tensor<4x2xf32>
// KERNEL-LABEL: func.func @weight_only
// KERNEL-NOT: linalg.unpack
// KERNEL: nibble.kernel_call @[[K:__nibble_kernel_qlinear_4x32_[0-9a-f]+]]
// KERNEL: func.func private @[[K]](%{{.*}}: memref<?x32xf32, strided<[?, 1], offset: ?>>, %{{.*}}: memref<1x4x16xi8, strided<[?, ?, 1], offset: ?>>, %{{.*}}: memref<1x2x4xf32, strided<[?, ?, 1], offset: ?>>, %{{.*}}: memref<?x4xf32, strided<[?, 1], offset: ?>>)
// Per word of 4 rows: a shift and a mask per code position, its levels,
// one FMA per token; the group's scale once for the 4 rows.
// KERNEL: scf.parallel
// KERNEL: vector.load {{.*}} : memref<1x4x16xi8, strided<[?, ?, 1], offset: ?>>, vector<16xi8>
// KERNEL: arith.shrui {{.*}} : vector<4xi32>
// KERNEL: arith.andi {{.*}} : vector<4xi32>
// KERNEL: arith.sitofp {{.*}} : vector<4xi32> to vector<4xf32>
// KERNEL: vector.fma {{.*}} : vector<4xf32>
// KERNEL: vector.fma {{.*}} : vector<4xf32>
// KERNEL: vector.store {{.*}} : memref<?x4xf32, strided<[?, 1], offset: ?>>, vector<4xf32>
// WIDE-LABEL: func.func @weight_only
// WIDE-NOT: linalg.unpack
// WIDE: return
func.func @weight_only(%x: tensor<2x32xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<17> : tensor<4x16xi8>
  %s = arith.constant dense<0.5> : tensor<4x2xf32>
  %y = nibble.qlinear %x, %w, %s scheme <w4, group = 16>
      : (tensor<2x32xf32>, tensor<4x16xi8>, tensor<4x2xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Left as they are: N not a multiple of the rows, per-tensor scales, double
// quantization, fp8 codes.
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: linalg.unpack
// CHECK: return
func.func @untouched(%x: tensor<2x16xf32>) -> (tensor<2x6xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %w6 = arith.constant dense<1> : tensor<6x16xi8>
  %s6 = arith.constant dense<1.0> : tensor<6x1xf32>
  %y0 = nibble.qlinear %x, %w6, %s6 scheme <w8, channel, act = int8_dynamic>
      : (tensor<2x16xf32>, tensor<6x16xi8>, tensor<6x1xf32>) -> tensor<2x6xf32>
  %w = arith.constant dense<1> : tensor<4x16xi8>
  %st = arith.constant dense<1.0> : tensor<1x1xf32>
  %y1 = nibble.qlinear %x, %w, %st scheme <w8, tensor, act = int8_dynamic>
      : (tensor<2x16xf32>, tensor<4x16xi8>, tensor<1x1xf32>) -> tensor<2x4xf32>
  %sq = arith.constant dense<3> : tensor<4x1xi8>
  %ss = arith.constant dense<0.25> : tensor<1xf32>
  %y2 = nibble.qlinear %x, %w, %sq scale_scales %ss scheme <w8, channel, double_quant = 4, act = int8_dynamic>
      : (tensor<2x16xf32>, tensor<4x16xi8>, tensor<4x1xi8>, tensor<1xf32>) -> tensor<2x4xf32>
  %s = arith.constant dense<1.0> : tensor<4x1xf32>
  %y3 = nibble.qlinear %x, %w, %s scheme <fp8, channel>
      : (tensor<2x16xf32>, tensor<4x16xi8>, tensor<4x1xf32>) -> tensor<2x4xf32>
  return %y0, %y1, %y2, %y3 : tensor<2x6xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}
