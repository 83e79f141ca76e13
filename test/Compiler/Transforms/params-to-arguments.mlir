// RUN: nibble-opt %s --split-input-file --nibble-params-to-arguments | FileCheck %s
// RUN: not nibble-opt %s --nibble-params-to-arguments="entry=other" -o /dev/null 2>&1 | FileCheck %s --check-prefix=ENTRY

// Params of the entry function become trailing arguments, one per name, in
// order of first use.

// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<2x4xf32>, %[[W:.*]]: tensor<2x4xf32> {nibble.param = "fc.weight"}, %[[B:.*]]: tensor<2xf32> {nibble.param = "fc.bias"})
// CHECK-NOT: nibble.param "
// CHECK: nibble.linear %[[X]], %[[W]] bias %[[B]]
// CHECK: nibble.linear %[[X]], %[[W]] :
// ENTRY: error: nibble-params-to-arguments: no function 'other'
module {
  func.func @main(%x: tensor<2x4xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
    %w = nibble.param "fc.weight" : tensor<2x4xf32>
    %b = nibble.param "fc.bias" : tensor<2xf32>
    %w2 = nibble.param "fc.weight" : tensor<2x4xf32>
    %0 = nibble.linear %x, %w bias %b : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<2x2xf32>
    %1 = nibble.linear %x, %w2 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x2xf32>
    return %0, %1 : tensor<2x2xf32>, tensor<2x2xf32>
  }
}
