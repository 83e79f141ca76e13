// RUN: nibble-opt %s --nibble-cpu-use-intrinsics | FileCheck %s
// RUN: nibble-opt %s --nibble-cpu-select-kernels="triple=x86_64-unknown-linux-gnu features=+avx512f,+fma" | FileCheck %s --check-prefix=STUB

// Calls of a tagged stub become the intrinsic; the stub goes away.

// CHECK-LABEL: func.func @lookup
// CHECK: %[[R:.*]] = llvm.call_intrinsic "llvm.x86.avx512.permvar.sf.512"(%arg0, %arg1) : (vector<16xf32>, vector<16xi32>) -> vector<16xf32>
// CHECK: return %[[R]]
// CHECK-NOT: func.func private @stub
func.func private @stub(vector<16xf32>, vector<16xi32>) -> vector<16xf32> attributes {nibble.llvm_intrinsic = "llvm.x86.avx512.permvar.sf.512"}
func.func @lookup(%table: vector<16xf32>, %codes: vector<16xi32>) -> vector<16xf32> {
  %r = func.call @stub(%table, %codes) : (vector<16xf32>, vector<16xi32>) -> vector<16xf32>
  return %r : vector<16xf32>
}

// On AVX-512, 4-bit codes are dequantized by a lookup in a 16-entry table of
// their row's dequantized values, through the stub (portable body).

// STUB-LABEL: func.func @w4
// STUB: func.func private @__nibble_kernel_qlinear_8x64_
// STUB: call @__nibble_table_lookup_16xf32(
// STUB: func.func private @__nibble_table_lookup_16xf32(%{{.*}}: vector<16xf32>, %{{.*}}: vector<16xi32>) -> vector<16xf32> attributes {nibble.llvm_intrinsic = "llvm.x86.avx512.permvar.sf.512"}
// STUB: vector.from_elements
func.func @w4(%x: tensor<2x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>) -> tensor<2x8xf32> {
  %a = nibble.qlinear %x, %w, %s scheme <w4, group = 32> : (tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>) -> tensor<2x8xf32>
  return %a : tensor<2x8xf32>
}
