// RUN: rm -rf %t && mkdir -p %t && %nibble_python %S/../Compiler/Transforms/Inputs/make_archive.py %t/w.safetensors
// RUN: sed -e 's|ARCHIVE|%t/w.safetensors|' %s > %t/in.mlir
// RUN: nibble-opt %t/in.mlir --split-input-file --nibble-rtn="bits=8 group=0 output-weights=%t/q.safetensors" | FileCheck %s -DOUT=%t/q.safetensors
// RUN: nibble-opt %t/in.mlir --split-input-file --nibble-rtn="bits=8 group=0 output-weights=%t/q.safetensors" --nibble-materialize-params | FileCheck %s --check-prefix=DATA
// RUN: sed -e 's|ARCHIVE|%t/w.safetensors|' %S/Inputs/rtn-params-invalid.mlir > %t/invalid.mlir
// RUN: nibble-opt %t/invalid.mlir --verify-diagnostics --nibble-rtn="bits=8 group=0 output-weights=%t/q2.safetensors"

// Params are quantized into a new archive that also keeps the float tensors
// still in use; a param shared by two linears is quantized once.
// Tensor "a" = [[0, 1, 2, 3], [4, 5, 6, 7]]: row scales 3/127 and 7/127.

// CHECK: module attributes {nibble.weights = "[[OUT]]"}
// CHECK-LABEL: func.func @tied
// CHECK-DAG: %[[QW:.*]] = nibble.param "a.qweight" : tensor<2x4xi8>
// CHECK-DAG: %[[S:.*]] = nibble.param "a.scales" : tensor<2x1xf32>
// CHECK-DAG: nibble.param "b" : tensor<4xf16>
// CHECK: nibble.qlinear %{{.*}}, %[[QW]], %[[S]] scheme <w8, channel, sym>
// CHECK: nibble.qlinear %{{.*}}, %{{.*}}, %{{.*}} scheme <w8, channel, sym>
// CHECK-NOT: nibble.param "a" :

// Codes of row 0: round(x / (3/127)) + 128 = 128, 170, 213, 255 (i8: -128,
// -86, -43, -1); row 1: 201, 219, 237, 255 (-55, -37, -19, -1); no value
// falls on a tie.
// DATA-LABEL: func.func @tied
// DATA: arith.constant dense<{{\[}}[-128, -86, -43, -1], [-55, -37, -19, -1]]> : tensor<2x4xi8>
module attributes {nibble.weights = "ARCHIVE"} {
  func.func @tied(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<4xf16>) {
    %a = nibble.param "a" : tensor<2x4xf32>
    %b = nibble.param "b" : tensor<4xf16>
    %0 = nibble.linear %x, %a : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
    %1 = nibble.linear %x, %a : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
    return %0, %1, %b : tensor<3x2xf32>, tensor<3x2xf32>, tensor<4xf16>
  }
}
