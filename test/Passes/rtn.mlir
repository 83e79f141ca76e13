// RUN: nibble-opt %s --split-input-file --nibble-rtn="bits=8 group=0" | FileCheck %s
// RUN: nibble-opt %s --split-input-file --nibble-rtn="bits=4 group=4" | FileCheck %s --check-prefix=W4
// RUN: nibble-opt %s --split-input-file --nibble-rtn="bits=4 group=4 sym=false" | FileCheck %s --check-prefix=ASYM
// RUN: nibble-opt %s --split-input-file --nibble-rtn="format=nf4 group=0" | FileCheck %s --check-prefix=NF4
// The scheme option gives the same as the options it stands for, and
// overrides them; a body that is not a scheme is refused.
// RUN: nibble-opt %s --split-input-file --nibble-rtn="scheme=w8a16 bits=2" | FileCheck %s
// RUN: nibble-opt %s --split-input-file --nibble-rtn="scheme='w4, group = 4'" | FileCheck %s --check-prefix=W4
// RUN: not nibble-opt %s --split-input-file --nibble-rtn="scheme=w9" 2>&1 | FileCheck %s --check-prefix=BADSCHEME
// BADSCHEME: integer weights must have 2 to 8 bits, found 9
// BADSCHEME: error: nibble-rtn: scheme='w9' is not a scheme

// Packed codes below are worked out by hand from the code semantics in
// passes/numerics/Quantizer.h: symmetric b-bit codes are offset binary
// (u = q + 2^(b-1)), packed low bits first along K.

// Row 0: absmax 127 -> scale 1; q = 127, -64, 1, 0 -> u = 255, 64, 129, 128,
// printed as i8: -1, 64, -127, -128. Row 1: absmax 63.5 -> scale 0.5,
// q = 127, -127, 0, -1 -> u = 255, 1, 128, 127.
// CHECK-LABEL: func.func @w8_channel
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[-1, 64, -127, -128], [-1, 1, -128, 127]]> : tensor<2x4xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{\[}}[1.000000e+00], [5.000000e-01]]> : tensor<2x1xf32>
// CHECK: nibble.qlinear %{{.*}}, %[[W]], %[[S]] scheme <w8, channel, sym> : (tensor<3x4xf32>, tensor<2x4xi8>, tensor<2x1xf32>) -> tensor<3x2xf32>
// CHECK-NOT: nibble.linear
// W4-LABEL: func.func @w8_channel
// W4: nibble.qlinear {{.*}} scheme <w4, group = 4, sym>
func.func @w8_channel(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[127.0, -64.0, 1.0, 0.0], [63.5, -63.5, 0.0, -0.5]]> : tensor<2x4xf32>
  %0 = nibble.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Group 0 of row 0: absmax 7 -> scale 1, u = 15, 1, 9, 8 -> bytes 0x1f, 0x89.
// Group 1 of row 0: u = 8, 8, 8, 1 -> 0x88, 0x18. Row 1: scale 0.5 ->
// u = 15, 1, 9, 10 -> 0x1f, 0xa9; group 1 is all zero -> scale 0, u = 8.
// W4-LABEL: func.func @w4_group
// W4-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[31, -119, -120, 24], [31, -87, -120, -120]]> : tensor<2x4xi8>
// W4-DAG: %[[S:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 1.000000e+00], [5.000000e-01, 0.000000e+00]]> : tensor<2x2xf32>
// W4: nibble.qlinear %{{.*}}, %[[W]], %[[S]] bias %{{.*}} scheme <w4, group = 4, sym>
func.func @w4_group(%x: tensor<3x8xf32>, %b: tensor<2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[7.0, -7.0, 1.0, 0.0, 0.0, 0.0, 0.0, -7.0], [3.5, -3.5, 0.5, 1.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<2x8xf32>
  %0 = nibble.linear %x, %w bias %b : (tensor<3x8xf32>, tensor<2x8xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Row 0: range [0, 15] -> scale 1, zero 0, u = 0, 1, 2, 15 -> 0x10, 0xf2.
// Row 1: range [-3, 12] -> scale 1, zero 3, u = 0, 3, 6, 15 -> 0x30, 0xf6.
// ASYM-LABEL: func.func @w4_asym
// ASYM-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[16, -14], [48, -10]]> : tensor<2x2xi8>
// ASYM-DAG: %[[S:.*]] = arith.constant dense<1.000000e+00> : tensor<2x1xf32>
// ASYM-DAG: %[[Z:.*]] = arith.constant dense<{{\[}}[0], [3]]> : tensor<2x1xi8>
// ASYM: nibble.qlinear %{{.*}}, %[[W]], %[[S]] zero_points %[[Z]] scheme <w4, group = 4, asym>
func.func @w4_asym(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.0, 1.0, 2.0, 15.0], [-3.0, 0.0, 3.0, 12.0]]> : tensor<2x4xf32>
  %0 = nibble.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// absmax 1 -> scale 1; 1.0 -> code 15, -1.0 -> 0, 0.0 -> 7, 0.5 -> 12
// (0.4407 is nearer than 0.5626) -> bytes 0x0f, 0xc7.
// NF4-LABEL: func.func @nf4_channel
// NF4-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[15, -57]]> : tensor<1x2xi8>
// NF4: nibble.qlinear %{{.*}}, %[[W]], %{{.*}} scheme <nf4, channel, sym>
func.func @nf4_channel(%x: tensor<3x4xf32>) -> tensor<3x1xf32> {
  %w = arith.constant dense<[[1.0, -1.0, 0.0, 0.5]]> : tensor<1x4xf32>
  %0 = nibble.linear %x, %w : (tensor<3x4xf32>, tensor<1x4xf32>) -> tensor<3x1xf32>
  return %0 : tensor<3x1xf32>
}

// -----

// A linear's own scheme wins over the pass options.
// CHECK-LABEL: func.func @scheme_attribute_wins
// CHECK: nibble.qlinear {{.*}} scheme <w2, channel, asym>
func.func @scheme_attribute_wins(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.0, -1.0, 2.0, 1.0]]> : tensor<2x4xf32>
  %0 = nibble.linear %x, %w scheme <w2, asym> : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// A linear's stable name survives quantization.
// CHECK-LABEL: func.func @keeps_name
// CHECK: nibble.qlinear {{.*}} {name = "model.layers.0.mlp.up_proj"}
func.func @keeps_name(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[127.0, -64.0, 1.0, 0.0], [63.5, -63.5, 0.0, -0.5]]> : tensor<2x4xf32>
  %0 = nibble.linear %x, %w {name = "model.layers.0.mlp.up_proj"} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
