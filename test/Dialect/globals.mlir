// RUN: nibble-opt %s | nibble-opt | FileCheck %s
// RUN: nibble-opt %s --mlir-print-op-generic | nibble-opt | FileCheck %s

// Module-level weights and state: one global read from two entry points,
// and a state argument updated in place by both.

module attributes {nibble.weights = "model.safetensors"} {
  // CHECK: nibble.global @model.layers.0.mlp.up_proj.weight "blk.0.ffn_up.weight" : tensor<8x4xf32>
  nibble.global @model.layers.0.mlp.up_proj.weight "blk.0.ffn_up.weight" : tensor<8x4xf32>
  // CHECK: nibble.state @kv_cache.keys : tensor<2x16x4xf32>
  nibble.state @kv_cache.keys : tensor<2x16x4xf32>

  // CHECK-LABEL: func.func @prefill
  // CHECK-SAME: %{{.*}}: tensor<2x16x4xf32> {nibble.state = @kv_cache.keys}
  func.func @prefill(%x: tensor<3x4xf32>, %cache: tensor<2x16x4xf32> {nibble.state = @kv_cache.keys}) -> (tensor<3x8xf32>, tensor<2x16x4xf32>) {
    // CHECK: %[[W:.*]] = nibble.global_load @model.layers.0.mlp.up_proj.weight : tensor<8x4xf32>
    %w = nibble.global_load @model.layers.0.mlp.up_proj.weight : tensor<8x4xf32>
    // CHECK: nibble.linear %{{.*}}, %[[W]]
    %y = nibble.linear %x, %w : (tensor<3x4xf32>, tensor<8x4xf32>) -> tensor<3x8xf32>
    return %y, %cache : tensor<3x8xf32>, tensor<2x16x4xf32>
  }

  // CHECK-LABEL: func.func @decode
  func.func @decode(%x: tensor<1x4xf32>, %cache: tensor<2x16x4xf32> {nibble.state = @kv_cache.keys}) -> (tensor<1x8xf32>, tensor<2x16x4xf32>) {
    // CHECK: nibble.global_load @model.layers.0.mlp.up_proj.weight : tensor<8x4xf32>
    %w = nibble.global_load @model.layers.0.mlp.up_proj.weight : tensor<8x4xf32>
    %y = nibble.linear %x, %w : (tensor<1x4xf32>, tensor<8x4xf32>) -> tensor<1x8xf32>
    return %y, %cache : tensor<1x8xf32>, tensor<2x16x4xf32>
  }
}
