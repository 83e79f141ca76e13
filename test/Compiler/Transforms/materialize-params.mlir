// RUN: rm -rf %t && mkdir -p %t && %nibble_python %S/Inputs/make_archive.py %t/w.safetensors
// RUN: nibble-opt %s --split-input-file --nibble-materialize-params="weights=%t/w.safetensors" | FileCheck %s

// nibble.param resolves against the archive: data, dtypes and shapes are
// checked; bad references are errors naming the file and the tensor.

// CHECK-LABEL: func.func @resolve
// CHECK-DAG: arith.constant dense<{{\[}}[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00]]> : tensor<2x4xf32>
// CHECK-DAG: arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf16>
// CHECK-DAG: arith.constant dense<{{\[}}[-2, -1], [0, 1]]> : tensor<2x2xi8>
// CHECK-NOT: nibble.param
func.func @resolve() -> (tensor<2x4xf32>, tensor<4xf16>, tensor<2x2xi8>) {
  %a = nibble.param "a" : tensor<2x4xf32>
  %b = nibble.param "b" : tensor<4xf16>
  %c = nibble.param "c" : tensor<2x2xi8>
  return %a, %b, %c : tensor<2x4xf32>, tensor<4xf16>, tensor<2x2xi8>
}
