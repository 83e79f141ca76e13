// RUN: nibble-opt %s --split-input-file --nibble-export-model-abi="model-name=m weights-file=m.weights.safetensors properties=tokenizer=m.tokenizer.gguf,kind=llm" | FileCheck %s
// RUN: nibble-opt %s --split-input-file --nibble-export-model-abi="entries=decode weights-file=w" | FileCheck %s --check-prefix=ONE
// RUN: nibble-opt %s --split-input-file --nibble-compile-model="weights-file=m.weights.safetensors" | FileCheck %s --check-prefix=LLVM

// The interface of a module with module-level weights and a state, as the
// runtime will see it (runtime/nibble_model_abi.h): entry points in module
// order, each with its inputs, outputs and argument order (role, index:
// 0 input, 1 output, 2 weight, 3 state); the weight table (globals first,
// numbered for __nibble_bind_globals); the states; the weights file and
// properties. Defined functions get the nibble_model_ prefix; the state and
// output markers stay for bufferization; the input names go.

// CHECK-LABEL: module attributes
// CHECK-SAME: nibble.abi = {entries = [
// CHECK-SAME: {args = array<i32: 0, 0, 0, 1, 1, 0, 3, 0>, inputs = {{\[}}["tokens", "F32", array<i64: -1, 4>], ["start", "I64", array<i64>]], name = "forward", outputs = {{\[}}["output0", "F32", array<i64: -1, 8>]]}
// CHECK-SAME: {args = array<i32: 0, 0, 3, 0, 1, 0>, inputs = {{\[}}["input0", "F32", array<i64: 1, 4>]], name = "decode", outputs = {{\[}}["output0", "F32", array<i64: 1, 8>]]}
// CHECK-SAME: global_weights = 2 : i64, name = "m", properties = {{\[}}["tokenizer", "m.tokenizer.gguf"], ["kind", "llm"]]
// CHECK-SAME: states = {{\[}}["kv_cache.keys", "F32", array<i64: 2, 16, 4>]]
// CHECK-SAME: weights = {{\[}}["blk.0.ffn_up.weight", "F32", array<i64: 8, 4>], ["blk.0.norm", "F32", array<i64: 4>]]
// CHECK-SAME: weights_file = "m.weights.safetensors"
// CHECK: nibble.global @model.layers.0.mlp.up_proj.weight "blk.0.ffn_up.weight" {nibble.weight_index = 0 : i64}
// CHECK: nibble.global @model.layers.0.norm "blk.0.norm" {nibble.weight_index = 1 : i64}
// CHECK: func.func @nibble_model_forward(%{{.*}}: tensor<?x4xf32>, %{{.*}}: tensor<i64>, %{{.*}}: tensor<?x8xf32> {nibble.output}, %{{.*}}: tensor<2x16x4xf32> {nibble.state = @kv_cache.keys})
// CHECK: func.func @nibble_model_decode(%{{.*}}: tensor<1x4xf32>, %{{.*}}: tensor<2x16x4xf32> {nibble.state = @kv_cache.keys})
// CHECK: call @nibble_model_helper
// CHECK: func.func private @nibble_model_helper

// ONE: nibble.abi = {entries = [{args = array<i32: 0, 0, 3, 0, 1, 0>, inputs = {{\[}}["input0", "F32", array<i64: 1, 4>]], name = "decode"
// ONE-NOT: name = "forward"

// The compiled form: the interface attribute survives lowering, the
// globals are pointer slots bound through __nibble_bind_globals and every
// entry point has its C interface under the prefixed name.
// LLVM: nibble.abi = {entries
// LLVM-DAG: llvm.func @__nibble_bind_globals
// LLVM-DAG: llvm.func @_mlir_ciface_nibble_model_forward
// LLVM-DAG: llvm.func @_mlir_ciface_nibble_model_decode

module attributes {nibble.weights = "model.safetensors"} {
  nibble.global @model.layers.0.mlp.up_proj.weight "blk.0.ffn_up.weight" : tensor<8x4xf32>
  nibble.global @model.layers.0.norm "blk.0.norm" : tensor<4xf32>
  nibble.state @kv_cache.keys : tensor<2x16x4xf32>

  func.func @forward(%x: tensor<?x4xf32> {nibble.name = "tokens"}, %start: tensor<i64> {nibble.name = "start"}, %out: tensor<?x8xf32> {nibble.output}, %cache: tensor<2x16x4xf32> {nibble.state = @kv_cache.keys}) -> (tensor<?x8xf32>, tensor<2x16x4xf32>) {
    %w = nibble.global_load @model.layers.0.mlp.up_proj.weight : tensor<8x4xf32>
    %y = nibble.linear %x, %w : (tensor<?x4xf32>, tensor<8x4xf32>) -> tensor<?x8xf32>
    %c0 = arith.constant 0 : index
    %n = tensor.dim %x, %c0 : tensor<?x4xf32>
    %copy = tensor.insert_slice %y into %out[0, 0] [%n, 8] [1, 1] : tensor<?x8xf32> into tensor<?x8xf32>
    return %copy, %cache : tensor<?x8xf32>, tensor<2x16x4xf32>
  }

  func.func @decode(%x: tensor<1x4xf32>, %cache: tensor<2x16x4xf32> {nibble.state = @kv_cache.keys}) -> (tensor<1x8xf32>, tensor<2x16x4xf32>) {
    %y = call @helper(%x) : (tensor<1x4xf32>) -> tensor<1x8xf32>
    return %y, %cache : tensor<1x8xf32>, tensor<2x16x4xf32>
  }

  func.func private @helper(%x: tensor<1x4xf32>) -> tensor<1x8xf32> {
    %w = nibble.global_load @model.layers.0.mlp.up_proj.weight : tensor<8x4xf32>
    %y = nibble.linear %x, %w : (tensor<1x4xf32>, tensor<8x4xf32>) -> tensor<1x8xf32>
    return %y : tensor<1x8xf32>
  }
}
