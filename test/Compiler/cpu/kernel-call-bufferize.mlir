// RUN: nibble-opt %s --nibble-cpu-select-kernels="triple=x86_64-unknown-linux-gnu features=+avx2,+fma" --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s

// nibble.kernel_call bufferizes into a call of the kernel on the operands'
// buffers, cast to its argument types; the output is written in place.

// CHECK-LABEL: func.func @linear(
// CHECK-SAME: %[[X:.*]]: memref<1x64xf32>, %[[W:.*]]: memref<16x64xf32>) -> memref<1x16xf32>
// CHECK: %[[Y:.*]] = memref.alloc() {{.*}} : memref<1x16xf32>
// CHECK-DAG: %[[XC:.*]] = memref.cast %[[X]] : memref<1x64xf32> to memref<?x64xf32, strided<[?, 1], offset: ?>>
// CHECK-DAG: %[[WC:.*]] = memref.cast %[[W]] : memref<16x64xf32> to memref<16x64xf32, strided<[?, 1], offset: ?>>
// CHECK-DAG: %[[YC:.*]] = memref.cast %[[Y]] : memref<1x16xf32> to memref<?x16xf32, strided<[?, 1], offset: ?>>
// CHECK: call @__nibble_kernel_linear_16x64_{{.*}}(%[[XC]], %[[WC]], %[[YC]])
// CHECK: return %[[Y]]
func.func @linear(%x: tensor<1x64xf32>, %w: tensor<16x64xf32>) -> tensor<1x16xf32> {
  %y = nibble.linear %x, %w : (tensor<1x64xf32>, tensor<16x64xf32>) -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}

// An input whose inner stride is not 1 reaches the kernel as a contiguous
// copy.

// CHECK-LABEL: func.func @strided(
// CHECK: %[[SV:.*]] = memref.subview %{{.*}}[0, 0] [1, 64] [1, 2] : memref<1x128xf32> to memref<1x64xf32, strided<[128, 2]>>
// CHECK: %[[COPY:.*]] = memref.alloc() : memref<1x64xf32>
// CHECK: memref.copy %[[SV]], %[[COPY]]
// CHECK: %[[CC:.*]] = memref.cast %[[COPY]] : memref<1x64xf32> to memref<?x64xf32, strided<[?, 1], offset: ?>>
// CHECK: call @__nibble_kernel_linear_16x64_{{.*}}(%[[CC]],
func.func @strided(%big: tensor<1x128xf32>, %w: tensor<16x64xf32>) -> tensor<1x16xf32> {
  %x = tensor.extract_slice %big[0, 0] [1, 64] [1, 2] : tensor<1x128xf32> to tensor<1x64xf32>
  %y = nibble.linear %x, %w : (tensor<1x64xf32>, tensor<16x64xf32>) -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}
