// RUN: nibble-opt %s | nibble-opt | FileCheck %s
// RUN: nibble-opt %s --mlir-print-op-generic | nibble-opt | FileCheck %s

// Round trip of the transformer ops.

// CHECK-LABEL: func.func @rms_norm
func.func @rms_norm(%x: tensor<?x8xf32>, %w: tensor<8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  // CHECK: nibble.rms_norm %{{.*}}, %{{.*}} epsilon = 9.99999974E-6 : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %0 = nibble.rms_norm %x, %w epsilon = 1.0e-05 : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  // CHECK: nibble.rms_norm %{{.*}}, %{{.*}} epsilon = 9.99999997E-7 offset = 1.000000e+00 : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %1 = nibble.rms_norm %x, %w epsilon = 1.0e-06 offset = 1.0 : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return %0, %1 : tensor<?x8xf32>, tensor<?x8xf32>
}

// CHECK-LABEL: func.func @rope
func.func @rope(%x: tensor<?x2x4xf32>, %pos: tensor<?xi64>) -> (tensor<?x2x4xf32>, tensor<?x2x4xf32>) {
  // CHECK: nibble.rope %{{.*}}, %{{.*}} inv_freq = [1.000000e+00, 1.000000e-02] : (tensor<?x2x4xf32>, tensor<?xi64>) -> tensor<?x2x4xf32>
  %0 = nibble.rope %x, %pos inv_freq = [1.0, 0.01] : (tensor<?x2x4xf32>, tensor<?xi64>) -> tensor<?x2x4xf32>
  // CHECK: nibble.rope %{{.*}}, %{{.*}} inv_freq = [1.000000e+00] interleaved : (tensor<?x2x4xf32>, tensor<?xi64>) -> tensor<?x2x4xf32>
  %1 = nibble.rope %x, %pos inv_freq = [1.0] interleaved : (tensor<?x2x4xf32>, tensor<?xi64>) -> tensor<?x2x4xf32>
  return %0, %1 : tensor<?x2x4xf32>, tensor<?x2x4xf32>
}

// CHECK-LABEL: func.func @embedding
func.func @embedding(%table: tensor<16x8xf32>, %ids: tensor<?xi32>) -> tensor<?x8xf32> {
  // CHECK: nibble.embedding %{{.*}}, %{{.*}} : (tensor<16x8xf32>, tensor<?xi32>) -> tensor<?x8xf32>
  %0 = nibble.embedding %table, %ids : (tensor<16x8xf32>, tensor<?xi32>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<?x4x8xf32>, %k: tensor<32x2x8xf32>, %v: tensor<32x2x6xf32>, %start: index) -> (tensor<?x4x6xf32>, tensor<?x4x6xf32>) {
  // CHECK: nibble.attention %{{.*}}, %{{.*}}, %{{.*}} start %{{.*}} scale = 0.353553385 : (tensor<?x4x8xf32>, tensor<32x2x8xf32>, tensor<32x2x6xf32>, index) -> tensor<?x4x6xf32>
  %0 = nibble.attention %q, %k, %v start %start scale = 0.353553385 : (tensor<?x4x8xf32>, tensor<32x2x8xf32>, tensor<32x2x6xf32>, index) -> tensor<?x4x6xf32>
  // CHECK: nibble.attention %{{.*}}, %{{.*}}, %{{.*}} start %{{.*}} scale = 1.000000e+00 window = 16 : (tensor<?x4x8xf32>, tensor<32x2x8xf32>, tensor<32x2x6xf32>, index) -> tensor<?x4x6xf32>
  %1 = nibble.attention %q, %k, %v start %start scale = 1.0 window = 16 : (tensor<?x4x8xf32>, tensor<32x2x8xf32>, tensor<32x2x6xf32>, index) -> tensor<?x4x6xf32>
  return %0, %1 : tensor<?x4x6xf32>, tensor<?x4x6xf32>
}
