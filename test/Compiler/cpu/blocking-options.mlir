// RUN: nibble-opt %s --nibble-cpu-select-kernels="triple=x86_64-unknown-linux-gnu features=+avx2,+fma rows=2 tokens=8 remarks" -o /dev/null 2>&1 | FileCheck %s
// RUN: not nibble-opt %s --nibble-cpu-select-kernels="rows=3" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BAD

// The register blocking can be set for tuning; rows must divide N.

// CHECK: remark: kernel @__nibble_kernel_linear_8x64_{{.*}} (x86-64 256-bit fma, 8 lanes, 2 rows x 8 tokens, panels of 16 rows x 6 tokens)
// BAD: error: rows=3 does not divide the 8 outputs
func.func @linear(%x: tensor<2x64xf32>, %w: tensor<8x64xf32>) -> tensor<2x8xf32> {
  %y = nibble.linear %x, %w : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
