// RUN: nibble-opt %s --split-input-file --verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @call
// CHECK: nibble.kernel_call @kernel(%arg0) outs(%arg1) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
func.func private @kernel(memref<4xf32>, memref<4xf32>)
func.func @call(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %r = nibble.kernel_call @kernel(%x) outs(%y) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

func.func @missing(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{'missing_kernel' does not name a function}}
  %r = nibble.kernel_call @missing_kernel(%x) outs(%y) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

func.func private @kernel(memref<4xf32>)
func.func @arity(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{kernel 'kernel' takes 1 arguments, but the call passes 2}}
  %r = nibble.kernel_call @kernel(%x) outs(%y) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

func.func private @kernel(memref<4xf32>, memref<4xf32>)
func.func @types(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<8xf32> {
  // expected-error @below {{result #0 has type 'tensor<8xf32>' but its output has type 'tensor<4xf32>'}}
  %r = nibble.kernel_call @kernel(%x) outs(%y) : (tensor<4xf32>, tensor<4xf32>) -> tensor<8xf32>
  return %r : tensor<8xf32>
}
