// RUN: nibble-opt %s --nibble-cpu-approximate-math | FileCheck %s

// exp, tanh and erf on f32 scalars and vectors become arithmetic (no math
// op that lowers to a libm call or a scalarized intrinsic is left); f64 and
// the functions the pass does not approximate keep their math op.

// CHECK-LABEL: func.func @approximated
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.erf
// CHECK: math.fma
// CHECK: return
func.func @approximated(%x: f32, %v: vector<16xf32>) -> (f32, f32, vector<16xf32>) {
  %a = math.tanh %x : f32
  %b = math.exp %x : f32
  %c = math.erf %v : vector<16xf32>
  return %a, %b, %c : f32, f32, vector<16xf32>
}

// CHECK-LABEL: func.func @kept
// CHECK: math.tanh %{{.*}} : f64
// CHECK: math.log %{{.*}} : f32
// CHECK: math.sin %{{.*}} : f32
func.func @kept(%x: f64, %y: f32) -> (f64, f32, f32) {
  %a = math.tanh %x : f64
  %b = math.log %y : f32
  %c = math.sin %y : f32
  return %a, %b, %c : f64, f32, f32
}
