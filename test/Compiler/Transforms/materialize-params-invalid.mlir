// RUN: rm -rf %t && mkdir -p %t && %nibble_python %S/Inputs/make_archive.py %t/w.safetensors
// RUN: not nibble-opt %s --split-input-file --nibble-materialize-params="weights=%t/w.safetensors" -o /dev/null 2>&1 | FileCheck %s -DFILE=%t/w.safetensors

// CHECK: error: 'nibble.param' op [[FILE]]: tensor 'missing' not found
func.func @missing() -> tensor<2x4xf32> {
  %a = nibble.param "missing" : tensor<2x4xf32>
  return %a : tensor<2x4xf32>
}

// -----

// CHECK: error: 'nibble.param' op [[FILE]]: tensor 'a' has dtype F32 but the IR expects 'f16'
func.func @dtype() -> tensor<2x4xf16> {
  %a = nibble.param "a" : tensor<2x4xf16>
  return %a : tensor<2x4xf16>
}

// -----

// CHECK: error: 'nibble.param' op [[FILE]]: tensor 'a' has shape [2, 4] but the IR expects 'tensor<4x2xf32>'
func.func @shape() -> tensor<4x2xf32> {
  %a = nibble.param "a" : tensor<4x2xf32>
  return %a : tensor<4x2xf32>
}
