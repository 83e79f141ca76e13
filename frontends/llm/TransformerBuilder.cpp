//===- TransformerBuilder.cpp - A decoder-only LLM as nibble IR -----------===//
//
// One function body per entry point, built layer by layer from the nibble
// transformer ops, nibble.linear and a few elementwise linalg.generic ops
// (residual adds, the gated activation, the embedding scale). The sequence
// follows Hugging Face's LlamaDecoderLayer / Gemma3DecoderLayer.
//
//===----------------------------------------------------------------------===//

#include "frontends/llm/TransformerBuilder.h"
#include "dialects/NibbleOps.h"
#include "frontends/llm/TransformerWeights.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>

using namespace mlir;

namespace nibble {
namespace llm {
namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

/// The names of the KV cache states.
constexpr llvm::StringLiteral kKeysState = "kv_cache.keys";
constexpr llvm::StringLiteral kValuesState = "kv_cache.values";

/// Which logits an entry point produces.
enum class LogitsMode {
  /// Every token's, into a destination-passing output argument.
  All,
  /// The last token's, as a [1, V] result.
  Last,
};

/// Builds the globals, states and entry points of one module.
class ModuleBuilder {
public:
  ModuleBuilder(MLIRContext &context, const TransformerConfig &config,
                const BuildOptions &options)
      : config(config), options(options), builder(&context),
        loc(builder.getUnknownLoc()) {}

  OwningOpRef<ModuleOp> build();

private:
  /// Adds one entry point taking `tokens` tokens (kDynamic or 1).
  void buildEntry(StringRef name, int64_t tokens, LogitsMode mode);

  // Types and constants.
  RankedTensorType f32Tensor(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, builder.getF32Type());
  }
  Value f32Const(double value) {
    return arith::ConstantOp::create(
        builder, loc, builder.getF32FloatAttr(static_cast<float>(value)));
  }
  Value indexConst(int64_t value) {
    return arith::ConstantIndexOp::create(builder, loc, value);
  }

  /// The global holding the archive tensor `name` of `shape` (declared on
  /// first use), loaded at the current insertion point; f32 unless
  /// `elementType` says otherwise.
  Value weight(StringRef name, ArrayRef<int64_t> shape,
               Type elementType = Type());
  /// `x · Wᵀ (+ b)` for the linear module `module` ([T, in] -> [T, out]).
  Value linear(Value x, StringRef module, int64_t in, int64_t out,
               bool hasBias = false);
  /// `x · Wᵀ (+ b)` of the linear `module` over the packed tensors of the
  /// archive weight `weightName` (nibble.qlinear), or over the float weight
  /// when the archive keeps it as floats.
  Value linearOver(Value x, StringRef weightName, StringRef module, int64_t in,
                   int64_t out, Value bias);
  /// RMSNorm of `x` over its last dimension with weight `<module>.weight`.
  Value rmsNorm(Value x, StringRef module);
  /// Elementwise `a + b` of two tensors of the same type.
  Value add(Value a, Value b);
  /// Elementwise `x · factor`.
  Value scale(Value x, double factor);
  /// Elementwise `act(gate) · up`.
  Value gatedActivation(Value gate, Value up);
  /// An empty f32 tensor of `shape` whose dynamic dimension 0 is `tokens`.
  Value emptyLike(ArrayRef<int64_t> shape);
  /// One elementwise linalg.generic over tensors of `inputs`' (common) type.
  Value elementwise(ValueRange inputs,
                    function_ref<Value(OpBuilder &, Location, ValueRange)> fn);
  /// Splits the last dimension of [T, H·D] into [T, H, D].
  Value splitHeads(Value x, int64_t heads, int64_t size);
  /// Merges [T, H, D] into [T, H·D].
  Value mergeHeads(Value x);
  /// Positions start, start + 1, ... of the tokens, as i64.
  Value positions(Value start);
  /// One decoder layer; updates `keys`/`values` (the whole caches).
  Value decoderLayer(int64_t layer, Value hidden, Value positions, Value start,
                     Value &keys, Value &values);

  const TransformerConfig &config;
  const BuildOptions &options;
  OpBuilder builder;
  Location loc;
  ModuleOp module;
  /// Global symbol per archive name, in declaration order.
  llvm::StringMap<GlobalOp> globals;
  /// Insertion point for new globals (before the first function).
  Block::iterator globalInsertPoint;
  /// The current entry point's token count value and static size.
  Value tokenCount;
  int64_t staticTokens = kDynamic;
};

OwningOpRef<ModuleOp> ModuleBuilder::build() {
  OwningOpRef<ModuleOp> owned = ModuleOp::create(loc);
  module = *owned;
  module->setAttr("nibble.weights",
                  builder.getStringAttr(options.weightsArchive));
  builder.setInsertionPointToEnd(module.getBody());
  int64_t capacity = options.contextCapacity;
  StateOp::create(builder, loc, kKeysState,
                  f32Tensor({config.numLayers, capacity, config.numKvHeads,
                             config.headDim}));
  StateOp::create(builder, loc, kValuesState,
                  f32Tensor({config.numLayers, capacity, config.numKvHeads,
                             config.headDim}));
  globalInsertPoint = module.getBody()->end();
  buildEntry("forward", kDynamic, LogitsMode::All);
  buildEntry("prefill", kDynamic, LogitsMode::Last);
  buildEntry("decode", 1, LogitsMode::Last);
  return owned;
}

Value ModuleBuilder::weight(StringRef name, ArrayRef<int64_t> shape,
                            Type elementType) {
  RankedTensorType type = RankedTensorType::get(
      shape, elementType ? elementType : builder.getF32Type());
  auto it = globals.find(name);
  if (it == globals.end()) {
    OpBuilder::InsertionGuard guard(builder);
    // Globals go before the functions, in order of first use.
    auto firstFunc = module.getOps<func::FuncOp>().begin();
    if (firstFunc != module.getOps<func::FuncOp>().end())
      builder.setInsertionPoint(*firstFunc);
    else
      builder.setInsertionPointToEnd(module.getBody());
    GlobalOp global = GlobalOp::create(builder, loc, name, name, type);
    it = globals.try_emplace(name, global).first;
  }
  return GlobalLoadOp::create(builder, loc, type, name);
}

Value ModuleBuilder::emptyLike(ArrayRef<int64_t> shape) {
  SmallVector<Value> dynamicSizes;
  if (ShapedType::isDynamic(shape.front()))
    dynamicSizes.push_back(tokenCount);
  return tensor::EmptyOp::create(builder, loc, f32Tensor(shape), dynamicSizes);
}

Value ModuleBuilder::elementwise(
    ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> fn) {
  auto type = cast<RankedTensorType>(inputs.front().getType());
  int64_t rank = type.getRank();
  SmallVector<AffineMap> maps(inputs.size() + 1,
                              builder.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             builder, loc, type, inputs, emptyLike(type.getShape()), maps,
             iterators,
             [&](OpBuilder &b, Location l, ValueRange args) {
               linalg::YieldOp::create(b, l, fn(b, l, args.drop_back()));
             })
      .getResult(0);
}

Value ModuleBuilder::add(Value a, Value b) {
  return elementwise({a, b}, [](OpBuilder &nb, Location l, ValueRange args) {
    return arith::AddFOp::create(nb, l, args[0], args[1]).getResult();
  });
}

Value ModuleBuilder::scale(Value x, double factor) {
  Value constant = f32Const(factor);
  return elementwise({x}, [&](OpBuilder &nb, Location l, ValueRange args) {
    return arith::MulFOp::create(nb, l, args[0], constant).getResult();
  });
}

Value ModuleBuilder::gatedActivation(Value gate, Value up) {
  Activation activation = config.activation;
  return elementwise({gate, up}, [&](OpBuilder &b, Location l,
                                     ValueRange args) {
    Value x = args[0];
    Value one = arith::ConstantOp::create(b, l, b.getF32FloatAttr(1.0f));
    Value activated;
    if (activation == Activation::SiLU) {
      // x · sigmoid(x) = x / (1 + exp(-x)).
      Value negated = arith::NegFOp::create(b, l, x);
      Value denominator =
          arith::AddFOp::create(b, l, one, math::ExpOp::create(b, l, negated));
      activated = arith::DivFOp::create(b, l, x, denominator);
    } else {
      // 0.5 · x · (1 + tanh(sqrt(2/π) · (x + 0.044715 · x³))).
      auto constant = [&](double v) {
        return arith::ConstantOp::create(
            b, l, b.getF32FloatAttr(static_cast<float>(v)));
      };
      Value cube =
          arith::MulFOp::create(b, l, x, arith::MulFOp::create(b, l, x, x));
      Value inner = arith::AddFOp::create(
          b, l, x, arith::MulFOp::create(b, l, constant(0.044715), cube));
      Value scaled =
          arith::MulFOp::create(b, l, constant(std::sqrt(2.0 / M_PI)), inner);
      Value shifted =
          arith::AddFOp::create(b, l, one, math::TanhOp::create(b, l, scaled));
      activated = arith::MulFOp::create(
          b, l, arith::MulFOp::create(b, l, constant(0.5), x), shifted);
    }
    return arith::MulFOp::create(b, l, activated, args[1]).getResult();
  });
}

Value ModuleBuilder::linear(Value x, StringRef moduleName, int64_t in,
                            int64_t out, bool hasBias) {
  Value bias = hasBias ? weight((moduleName + ".bias").str(), {out}) : Value();
  return linearOver(x, (moduleName + ".weight").str(), moduleName, in, out,
                    bias);
}

Value ModuleBuilder::linearOver(Value x, StringRef weightName,
                                StringRef moduleName, int64_t in, int64_t out,
                                Value bias) {
  auto xType = cast<RankedTensorType>(x.getType());
  RankedTensorType resultType = f32Tensor({xType.getDimSize(0), out});
  StringAttr name = builder.getStringAttr(moduleName);
  auto packed = options.packedWeights.find(weightName.str());
  if (packed == options.packedWeights.end())
    return LinearOp::create(builder, loc, resultType, x,
                            weight(weightName, {out, in}), bias,
                            /*scheme=*/nullptr, name);
  const PackedWeightLayout &layout = packed->second;
  Type scaleType =
      layout.f16Scales ? builder.getF16Type() : builder.getF32Type();
  // Quantized activations: one scale per 32 values where the rows hold
  // whole blocks of 32, else one per token.
  int64_t activationGroup =
      options.packedActivations == ActivationScheme::Int8Dynamic &&
              in % kPackedActivationGroup == 0
          ? kPackedActivationGroup
          : 0;
  auto scheme = SchemeAttr::get(
      builder.getContext(), WeightFormat::Int, layout.bits, Granularity::Group,
      layout.groupSize,
      layout.hasMins ? CodeOffset::Min : CodeOffset::Symmetric, scaleType,
      /*doubleQuantGroup=*/0, options.packedActivations, activationGroup);
  int64_t groups = in / layout.groupSize;
  Value codes =
      weight(packedTensorName(weightName, "qweight"),
             {out, in * layout.containerBits() / 8}, builder.getI8Type());
  Value scales =
      weight(packedTensorName(weightName, "scales"), {out, groups}, scaleType);
  Value mins = layout.hasMins ? weight(packedTensorName(weightName, "mins"),
                                       {out, groups}, scaleType)
                              : Value();
  return QLinearOp::create(builder, loc, resultType, x, codes, scales,
                           /*zero_points=*/Value(), mins,
                           /*scale_scales=*/Value(), bias,
                           /*input_scale=*/Value(), scheme, name);
}

Value ModuleBuilder::rmsNorm(Value x, StringRef moduleName) {
  auto type = cast<RankedTensorType>(x.getType());
  Value w = weight((moduleName + ".weight").str(), {type.getShape().back()});
  return RmsNormOp::create(
      builder, loc, type, x, w,
      builder.getF32FloatAttr(static_cast<float>(config.rmsNormEpsilon)),
      builder.getF32FloatAttr(config.normWeightOffset));
}

Value ModuleBuilder::splitHeads(Value x, int64_t heads, int64_t size) {
  auto type = cast<RankedTensorType>(x.getType());
  return tensor::ExpandShapeOp::create(
      builder, loc, f32Tensor({type.getDimSize(0), heads, size}), x,
      ArrayRef<ReassociationIndices>{{0}, {1, 2}});
}

Value ModuleBuilder::mergeHeads(Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  return tensor::CollapseShapeOp::create(
      builder, loc,
      f32Tensor({type.getDimSize(0), type.getDimSize(1) * type.getDimSize(2)}),
      x, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
}

Value ModuleBuilder::positions(Value start) {
  auto type = RankedTensorType::get({staticTokens}, builder.getI64Type());
  SmallVector<Value> dynamicSizes;
  if (ShapedType::isDynamic(staticTokens))
    dynamicSizes.push_back(tokenCount);
  Value empty = tensor::EmptyOp::create(builder, loc, type, dynamicSizes);
  Value start64 =
      arith::IndexCastOp::create(builder, loc, builder.getI64Type(), start);
  return linalg::GenericOp::create(
             builder, loc, type, ValueRange(), empty,
             ArrayRef<AffineMap>{builder.getMultiDimIdentityMap(1)},
             ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
             [&](OpBuilder &b, Location l, ValueRange) {
               Value index = linalg::IndexOp::create(b, l, 0);
               Value index64 =
                   arith::IndexCastOp::create(b, l, b.getI64Type(), index);
               linalg::YieldOp::create(
                   b, l,
                   arith::AddIOp::create(b, l, start64, index64).getResult());
             })
      .getResult(0);
}

Value ModuleBuilder::decoderLayer(int64_t layer, Value hidden,
                                  Value tokenPositions, Value start,
                                  Value &keys, Value &values) {
  std::string prefix = "model.layers." + std::to_string(layer);
  std::string attn = prefix + ".self_attn";
  std::string mlp = prefix + ".mlp";
  const TransformerConfig &c = config;
  int64_t hiddenSize = c.hiddenSize;
  int64_t headDim = c.headDim;

  // Attention block.
  Value x = rmsNorm(hidden, prefix + ".input_layernorm");
  Value q = splitHeads(linear(x, attn + ".q_proj", hiddenSize,
                              c.numHeads * headDim, c.attentionBias),
                       c.numHeads, headDim);
  Value k = splitHeads(linear(x, attn + ".k_proj", hiddenSize,
                              c.numKvHeads * headDim, c.attentionBias),
                       c.numKvHeads, headDim);
  Value v = splitHeads(linear(x, attn + ".v_proj", hiddenSize,
                              c.numKvHeads * headDim, c.attentionBias),
                       c.numKvHeads, headDim);
  if (c.queryKeyNorm) {
    q = rmsNorm(q, attn + ".q_norm");
    k = rmsNorm(k, attn + ".k_norm");
  }
  bool sliding = c.isSlidingLayer(layer);
  double theta =
      sliding && c.ropeLocalTheta > 0 ? c.ropeLocalTheta : c.ropeTheta;
  // Gemma 3's local layers use the plain schedule; scaling applies to the
  // global ones.
  RopeScaling scaling =
      sliding && c.ropeLocalTheta > 0 ? RopeScaling() : c.ropeScaling;
  std::vector<float> invFreq =
      ropeInverseFrequencies(headDim, theta, scaling, c.maxPositions);
  DenseF32ArrayAttr freqs = builder.getDenseF32ArrayAttr(invFreq);
  UnitAttr interleaved = c.ropeInterleaved ? builder.getUnitAttr() : nullptr;
  q = RopeOp::create(builder, loc, q.getType(), q, tokenPositions, freqs,
                     interleaved);
  k = RopeOp::create(builder, loc, k.getType(), k, tokenPositions, freqs,
                     interleaved);

  // Write this chunk's keys and values to the cache at [start, start + T).
  auto cacheType = cast<RankedTensorType>(keys.getType());
  int64_t capacity = cacheType.getDimSize(1);
  auto writeCache = [&](Value cache, Value chunk) -> Value {
    SmallVector<OpFoldResult> offsets = {builder.getIndexAttr(layer), start,
                                         builder.getIndexAttr(0),
                                         builder.getIndexAttr(0)};
    OpFoldResult count = ShapedType::isDynamic(staticTokens)
                             ? OpFoldResult(tokenCount)
                             : OpFoldResult(builder.getIndexAttr(staticTokens));
    SmallVector<OpFoldResult> sizes = {builder.getIndexAttr(1), count,
                                       builder.getIndexAttr(c.numKvHeads),
                                       builder.getIndexAttr(headDim)};
    SmallVector<OpFoldResult> strides(4, builder.getIndexAttr(1));
    return tensor::InsertSliceOp::create(builder, loc, chunk, cache, offsets,
                                         sizes, strides);
  };
  auto layerCache = [&](Value cache) -> Value {
    SmallVector<OpFoldResult> offsets = {
        builder.getIndexAttr(layer), builder.getIndexAttr(0),
        builder.getIndexAttr(0), builder.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {
        builder.getIndexAttr(1), builder.getIndexAttr(capacity),
        builder.getIndexAttr(c.numKvHeads), builder.getIndexAttr(headDim)};
    SmallVector<OpFoldResult> strides(4, builder.getIndexAttr(1));
    return tensor::ExtractSliceOp::create(
        builder, loc, f32Tensor({capacity, c.numKvHeads, headDim}), cache,
        offsets, sizes, strides);
  };
  keys = writeCache(keys, k);
  values = writeCache(values, v);
  double scalar = c.queryPreAttentionScalar > 0 ? c.queryPreAttentionScalar
                                                : double(headDim);
  Value attended = AttentionOp::create(
      builder, loc, f32Tensor({staticTokens, c.numHeads, headDim}), q,
      layerCache(keys), layerCache(values), start,
      builder.getF32FloatAttr(static_cast<float>(1.0 / std::sqrt(scalar))),
      builder.getI64IntegerAttr(sliding ? c.slidingWindow : 0));
  Value projected = linear(mergeHeads(attended), attn + ".o_proj",
                           c.numHeads * headDim, hiddenSize);
  if (c.postNorms)
    projected = rmsNorm(projected, prefix + ".post_attention_layernorm");
  hidden = add(hidden, projected);

  // Feed-forward block.
  std::string preMlpNorm = c.postNorms ? prefix + ".pre_feedforward_layernorm"
                                       : prefix + ".post_attention_layernorm";
  x = rmsNorm(hidden, preMlpNorm);
  Value gate = linear(x, mlp + ".gate_proj", hiddenSize, c.intermediateSize);
  Value up = linear(x, mlp + ".up_proj", hiddenSize, c.intermediateSize);
  Value down = linear(gatedActivation(gate, up), mlp + ".down_proj",
                      c.intermediateSize, hiddenSize);
  if (c.postNorms)
    down = rmsNorm(down, prefix + ".post_feedforward_layernorm");
  return add(hidden, down);
}

void ModuleBuilder::buildEntry(StringRef name, int64_t tokens,
                               LogitsMode mode) {
  const TransformerConfig &c = config;
  MLIRContext *ctx = builder.getContext();
  auto stateType = [&](StringRef state) {
    return cast<RankedTensorType>(
        cast<StateOp>(module.lookupSymbol(state)).getType());
  };
  RankedTensorType keysType = stateType(kKeysState);
  RankedTensorType valuesType = stateType(kValuesState);
  auto tokensType = RankedTensorType::get({tokens}, builder.getI32Type());
  auto startType = RankedTensorType::get({}, builder.getI64Type());
  RankedTensorType logitsType = mode == LogitsMode::All
                                    ? f32Tensor({tokens, c.vocabSize})
                                    : f32Tensor({1, c.vocabSize});

  SmallVector<Type> inputs = {tokensType, startType};
  // Names for the compiled model's interface.
  auto named = [&](StringRef argName) {
    return builder.getNamedAttr(kInputNameAttrName,
                                builder.getStringAttr(argName));
  };
  SmallVector<DictionaryAttr> argAttrs = {
      builder.getDictionaryAttr(named("tokens")),
      builder.getDictionaryAttr(named("start"))};
  if (mode == LogitsMode::All) {
    inputs.push_back(logitsType);
    argAttrs.push_back(builder.getDictionaryAttr(
        {builder.getNamedAttr(kOutputArgAttrName, builder.getUnitAttr()),
         named("logits")}));
  }
  inputs.push_back(keysType);
  argAttrs.push_back(builder.getDictionaryAttr(builder.getNamedAttr(
      kStateArgAttrName, FlatSymbolRefAttr::get(ctx, kKeysState))));
  inputs.push_back(valuesType);
  argAttrs.push_back(builder.getDictionaryAttr(builder.getNamedAttr(
      kStateArgAttrName, FlatSymbolRefAttr::get(ctx, kValuesState))));
  SmallVector<Type> results = {logitsType, keysType, valuesType};

  builder.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(builder, loc, name,
                                   builder.getFunctionType(inputs, results));
  func.setAllArgAttrs(argAttrs);
  if (mode != LogitsMode::All)
    func.setResultAttr(0, kInputNameAttrName, builder.getStringAttr("logits"));
  Block *body = func.addEntryBlock();
  builder.setInsertionPointToStart(body);
  Value tokenIds = body->getArgument(0);
  Value start = tensor::ExtractOp::create(builder, loc, body->getArgument(1),
                                          ValueRange());
  start =
      arith::IndexCastOp::create(builder, loc, builder.getIndexType(), start);
  unsigned next = 2;
  Value logitsOut =
      mode == LogitsMode::All ? body->getArgument(next++) : Value();
  Value keys = body->getArgument(next++);
  Value values = body->getArgument(next++);
  staticTokens = tokens;
  tokenCount =
      ShapedType::isDynamic(tokens)
          ? tensor::DimOp::create(builder, loc, tokenIds, 0).getResult()
          : indexConst(tokens);

  Value table =
      weight("model.embed_tokens.weight", {c.vocabSize, c.hiddenSize});
  Value hidden = EmbeddingOp::create(
      builder, loc, f32Tensor({tokens, c.hiddenSize}), table, tokenIds);
  if (c.scaleEmbeddings)
    hidden = scale(hidden, std::sqrt(double(c.hiddenSize)));
  Value tokenPositions = positions(start);
  for (int64_t layer = 0; layer < c.numLayers; ++layer)
    hidden = decoderLayer(layer, hidden, tokenPositions, start, keys, values);

  if (mode == LogitsMode::Last) {
    // Only the last token's logits: norm and LM head on one row.
    Value last = arith::SubIOp::create(builder, loc, tokenCount, indexConst(1));
    SmallVector<OpFoldResult> offsets = {last, builder.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {builder.getIndexAttr(1),
                                       builder.getIndexAttr(c.hiddenSize)};
    SmallVector<OpFoldResult> strides(2, builder.getIndexAttr(1));
    hidden = tensor::ExtractSliceOp::create(builder, loc,
                                            f32Tensor({1, c.hiddenSize}),
                                            hidden, offsets, sizes, strides);
    staticTokens = 1;
    tokenCount = indexConst(1);
  }
  hidden = rmsNorm(hidden, "model.norm");
  Value logits = c.tiedEmbeddings
                     ? linearOver(hidden, "model.embed_tokens.weight",
                                  "lm_head", c.hiddenSize, c.vocabSize,
                                  /*bias=*/Value())
                     : linear(hidden, "lm_head", c.hiddenSize, c.vocabSize);
  if (logitsOut)
    logits =
        linalg::CopyOp::create(builder, loc, logits, logitsOut).getResult(0);
  func::ReturnOp::create(builder, loc, ValueRange{logits, keys, values});
}

/// Checks the fields the builder divides by or sizes tensors with.
llvm::Error checkConfig(const TransformerConfig &c,
                        const BuildOptions &options) {
  auto positive = [](const char *field, int64_t value) -> llvm::Error {
    if (value > 0)
      return llvm::Error::success();
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "model config: %s must be positive, found "
                                   "%lld",
                                   field, static_cast<long long>(value));
  };
  for (auto [field, value] :
       {std::pair<const char *, int64_t>{"vocab size", c.vocabSize},
        {"hidden size", c.hiddenSize},
        {"intermediate size", c.intermediateSize},
        {"layer count", c.numLayers},
        {"attention head count", c.numHeads},
        {"KV head count", c.numKvHeads},
        {"head size", c.headDim},
        {"context capacity", options.contextCapacity}})
    if (llvm::Error error = positive(field, value))
      return error;
  if (c.numHeads % c.numKvHeads != 0)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "model config: %lld attention heads are not a multiple of %lld KV "
        "heads",
        static_cast<long long>(c.numHeads),
        static_cast<long long>(c.numKvHeads));
  if (c.headDim % 2 != 0)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "model config: head size %lld is odd; RoPE "
                                   "rotates pairs",
                                   static_cast<long long>(c.headDim));
  return llvm::Error::success();
}

/// Checks that every packed weight is a linear weight of the model whose
/// rows (K = its input size) are whole groups filling whole bytes.
llvm::Error checkPackedWeights(const TransformerConfig &config,
                               const PackedWeights &packed) {
  llvm::StringMap<int64_t> inputSize;
  for (const ExpectedTensor &tensor : expectedTensors(config))
    if (isLinearWeight(tensor.name, config))
      inputSize[tensor.name] = tensor.shape[1];
  for (const auto &[name, layout] : packed) {
    auto error = [&, &name = name, &layout = layout](const llvm::Twine &why) {
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "packed weight '" + name + "' (" +
                                         layout.encode() + "): " + why);
    };
    auto found = inputSize.find(name);
    if (found == inputSize.end())
      return error("the model has no linear with this weight");
    int64_t k = found->second;
    if (layout.bits < 2 || layout.bits > 8 || layout.groupSize <= 0 ||
        k % layout.groupSize != 0 || (k * layout.containerBits()) % 8 != 0)
      return error("K = " + llvm::Twine(k) +
                   " is not a whole number of groups in whole bytes");
  }
  return llvm::Error::success();
}

} // namespace

llvm::Expected<OwningOpRef<ModuleOp>>
buildTransformer(MLIRContext &context, const TransformerConfig &config,
                 const BuildOptions &options) {
  if (llvm::Error error = checkConfig(config, options))
    return std::move(error);
  if (llvm::Error error = checkPackedWeights(config, options.packedWeights))
    return std::move(error);
  context.loadDialect<NibbleDialect, func::FuncDialect, arith::ArithDialect,
                      linalg::LinalgDialect, math::MathDialect,
                      tensor::TensorDialect>();
  return ModuleBuilder(context, config, options).build();
}

llvm::Expected<OwningOpRef<ModuleOp>>
buildLoadedModel(MLIRContext &context, const LoadedModel &loaded,
                 int64_t contextCapacity, ActivationScheme packedActivations) {
  BuildOptions options;
  options.packedActivations = packedActivations;
  options.weightsArchive = loaded.archivePath;
  options.packedWeights = loaded.archive.packedWeights;
  options.contextCapacity = contextCapacity;
  return buildTransformer(context, loaded.config, options);
}

} // namespace llm
} // namespace nibble
