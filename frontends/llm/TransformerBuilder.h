//===- TransformerBuilder.h - A decoder-only LLM as nibble IR ---*- C++ -*-===//
//
// Builds the module of a decoder-only transformer (TransformerConfig) whose
// weights are f32 tensors under Hugging Face names in a safetensors archive:
//
//   nibble.global @<hf name> "<hf name>" : tensor<...>     one per weight
//   nibble.state @kv_cache.keys   : tensor<L x C x Hkv x D x f32>
//   nibble.state @kv_cache.values : tensor<L x C x Hkv x Dv x f32>
//
//   func @forward(%tokens: tensor<?xi32>, %start: tensor<i64>,
//                 %logits: tensor<?xVxf32> {nibble.output},
//                 %keys {nibble.state = @kv_cache.keys},
//                 %values {nibble.state = @kv_cache.values})
//       -> (logits, keys, values)          logits of every token
//   func @prefill(%tokens: tensor<?xi32>, %start, %keys, %values)
//       -> (tensor<1xVxf32>, keys, values) logits of the last token
//   func @decode(%token: tensor<1xi32>, %start, %keys, %values)
//       -> (tensor<1xVxf32>, keys, values)
//
// `start` is the position of the first token; the tokens' keys and values
// are written to the cache at [start, start + T) and attention reads the
// cache below start + T only. Every weight matmul (the LM head included) is
// a nibble.linear named by its module path -- a nibble.qlinear when the
// archive keeps its weight packed (BuildOptions::packedWeights); norms keep
// their weights as globals next to the linears they feed.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FRONTENDS_LLM_TRANSFORMERBUILDER_H
#define NIBBLE_FRONTENDS_LLM_TRANSFORMERBUILDER_H

#include "dialects/NibbleDialect.h"
#include "frontends/llm/ModelLoader.h"
#include "frontends/llm/PackedWeights.h"
#include "frontends/llm/TransformerConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace nibble {
namespace llm {

/// How to build the module.
struct BuildOptions {
  /// The weight archive the module names (its nibble.weights attribute).
  std::string weightsArchive;
  /// KV cache capacity C in tokens (the longest context a session holds).
  int64_t contextCapacity = 2048;
  /// Linear weights the archive holds in a packed form (PackedWeights.h;
  /// LoadedModel::archive.packedWeights or readPackedWeights): their linears
  /// become nibble.qlinear over <module>.qweight/.scales(/.mins) globals
  /// with #nibble.scheme<w<bits>, group = <g>, sym|min, scale = f16|f32>;
  /// a packed tied embedding serves the LM head while the lookup reads the
  /// float table.
  PackedWeights packedWeights;
  /// How the packed weights' linears treat their input: None (weight-only,
  /// as the file stores them) or Int8Dynamic (x quantized to int8 with one
  /// scale per kPackedActivationGroup values, `act = int8_dynamic, act_group
  /// = 32`, so integer codes run on 8-bit dot products as llama.cpp does
  /// with its Q8_0 blocks; per token where a row is no whole number of
  /// blocks; this changes the numbers).
  ActivationScheme packedActivations = ActivationScheme::None;
};

/// Activation values per scale of packed linears with quantized inputs
/// (BuildOptions::packedActivations): ggml's Q8_0 block.
constexpr int64_t kPackedActivationGroup = 32;

/// Builds the module for `config`. Fails (with a message naming the field
/// or the packed weight) on an inconsistent configuration or a packed weight
/// that is no linear weight of the model or whose rows are not whole groups.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildTransformer(mlir::MLIRContext &context, const TransformerConfig &config,
                 const BuildOptions &options);

/// Builds the module of `loaded` (a model loadModel read: its archive and
/// packed weights) with a KV cache of `contextCapacity` tokens; the packed
/// weights' linears quantize their input as `packedActivations` says
/// (BuildOptions::packedActivations).
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildLoadedModel(mlir::MLIRContext &context, const LoadedModel &loaded,
                 int64_t contextCapacity,
                 ActivationScheme packedActivations = ActivationScheme::None);

} // namespace llm
} // namespace nibble

#endif // NIBBLE_FRONTENDS_LLM_TRANSFORMERBUILDER_H
