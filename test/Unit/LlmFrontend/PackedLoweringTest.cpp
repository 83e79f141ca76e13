//===- PackedLoweringTest.cpp - Kept GGUF weights through the compiler ----===//
//
// A nibble.qlinear over GGUF blocks kept packed (GgufPacking.h), lowered by
// the reference lowering and run by the JIT, dequantizes to exactly the
// floats gguf::dequantizeRow gives: with the identity as input, y = Ŵᵀ, and
// every value must have dequantizeRow's bits (the other K - 1 products are
// zeros, so the sum is exact; only the sign of a zero may differ). Also: the
// transformer builder turns packed weights into qlinears with the matching
// scheme and refuses packed weights the model has no linear for; and the
// small GGUF models (Inputs/make_llm_gguf_fixtures.py, every ggml type) give
// the same logits with their quantization kept as dequantized to f32.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/JitLanguageModel.h"
#include "compiler/Driver/JitRunner.h"
#include "compiler/Passes.h"
#include "compiler/cpu/Passes.h"
#include "dialects/NibbleOps.h"
#include "frontends/gguf/GgmlDequantize.h"
#include "frontends/llm/GgufPacking.h"
#include "frontends/llm/ModelLoader.h"
#include "frontends/llm/TransformerBuilder.h"

#include "LlmTestUtil.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "passes/Passes.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cstring>
#include <random>

using namespace mlir;
using namespace nibble;
using namespace nibble::llm;
using nibble::runtime::GgmlType;
using testing::HasSubstr;

namespace {

/// A context as nibble-run makes one: every dialect and extension the JIT's
/// lowering needs, and the passes of its pipeline registered (once).
std::unique_ptr<MLIRContext> makeContext() {
  static bool registered = [] {
    registerAllPasses();
    nibble::registerNibblePasses();
    nibble::registerNibbleCompilerPasses();
    nibble::registerNibbleCpuPasses();
    return true;
  }();
  (void)registered;
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<NibbleDialect>();
  nibble::registerKernelCallBufferization(registry);
  auto context = std::make_unique<MLIRContext>(registry);
  context->loadAllAvailableDialects();
  return context;
}

/// Random blocks of `type` with finite f16 scale fields (the f16 fields are
/// where ggml-common.h puts them).
std::vector<uint8_t> randomBlocks(GgmlType type, uint64_t elements,
                                  uint32_t seed) {
  const runtime::GgmlTypeTraits *traits =
      runtime::findGgmlType(static_cast<uint32_t>(type));
  std::vector<size_t> fields = {0};
  if (type == GgmlType::Q4_1 || type == GgmlType::Q5_1 ||
      type == GgmlType::Q4_K || type == GgmlType::Q5_K)
    fields = {0, 2};
  else if (type == GgmlType::Q2_K)
    fields = {80, 82};
  else if (type == GgmlType::Q3_K)
    fields = {108};
  else if (type == GgmlType::Q6_K)
    fields = {208};
  uint64_t blocks = elements / traits->blockElements;
  std::mt19937 rng(seed);
  std::vector<uint8_t> bytes(blocks * traits->blockBytes);
  for (uint8_t &byte : bytes)
    byte = static_cast<uint8_t>(rng());
  for (uint64_t b = 0; b < blocks; ++b)
    for (size_t offset : fields) {
      uint16_t half = static_cast<uint16_t>(
          ((rng() & 1) << 15) | ((1 + rng() % 12) << 10) | (rng() % 1024));
      std::memcpy(&bytes[b * traits->blockBytes + offset], &half, 2);
    }
  return bytes;
}

/// A constant tensor of `type` holding `bytes`.
Value constantOf(OpBuilder &b, RankedTensorType type,
                 const std::vector<uint8_t> &bytes) {
  ArrayRef<char> raw(reinterpret_cast<const char *>(bytes.data()),
                     bytes.size());
  return arith::ConstantOp::create(
      b, b.getUnknownLoc(), DenseElementsAttr::getFromRawBuffer(type, raw));
}

/// func @f(%x: tensor<K x K x f32>) -> tensor<K x N x f32>: a qlinear over
/// the packed rows as constants.
OwningOpRef<ModuleOp> qlinearModule(MLIRContext &context,
                                    const PackedWeightLayout &layout,
                                    const PackedRows &packed, int64_t n,
                                    int64_t k) {
  context.loadDialect<NibbleDialect, func::FuncDialect, arith::ArithDialect>();
  OpBuilder b(&context);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto inputType = RankedTensorType::get({k, k}, b.getF32Type());
  auto resultType = RankedTensorType::get({k, n}, b.getF32Type());
  auto func = func::FuncOp::create(
      b, loc, "f", b.getFunctionType({inputType}, {resultType}));
  b.setInsertionPointToStart(func.addEntryBlock());
  Type scaleType = layout.f16Scales ? b.getF16Type() : b.getF32Type();
  int64_t groups = k / layout.groupSize;
  Value codes = constantOf(
      b,
      RankedTensorType::get({n, k * layout.containerBits() / 8}, b.getI8Type()),
      packed.codes);
  Value scales = constantOf(b, RankedTensorType::get({n, groups}, scaleType),
                            packed.scales);
  Value mins =
      layout.hasMins
          ? constantOf(b, RankedTensorType::get({n, groups}, scaleType),
                       packed.mins)
          : Value();
  auto scheme =
      SchemeAttr::get(&context, WeightFormat::Int, layout.bits,
                      Granularity::Group, layout.groupSize,
                      layout.hasMins ? CodeOffset::Min : CodeOffset::Symmetric,
                      scaleType, 0, ActivationScheme::None, 0);
  Value y = QLinearOp::create(b, loc, resultType, func.getArgument(0), codes,
                              scales, Value(), mins, Value(), Value(), Value(),
                              scheme, nullptr);
  func::ReturnOp::create(b, loc, y);
  return module;
}

TEST(PackedLowering, QLinearDequantizesAsGgml) {
  const int64_t n = 3, k = 256;
  for (GgmlType type :
       {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
        GgmlType::Q8_0, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,
        GgmlType::Q5_K, GgmlType::Q6_K}) {
    std::optional<PackedWeightLayout> layout = packedLayoutForGgmlType(type);
    ASSERT_TRUE(layout);
    SCOPED_TRACE(layout->source);
    std::vector<uint8_t> blocks =
        randomBlocks(type, n * k, 100 + static_cast<uint32_t>(type));
    std::vector<float> want(n * k);
    ASSERT_TRUE(gguf::dequantizeRow(type, blocks.data(), want.data(), n * k));
    PackedRows packed;
    ASSERT_TRUE(packGgmlRows(type, blocks.data(), n, k, packed));

    std::unique_ptr<MLIRContext> context = makeContext();
    OwningOpRef<ModuleOp> module =
        qlinearModule(*context, *layout, packed, n, k);
    NpyArray identity;
    identity.shape = {k, k};
    std::vector<float> eye(k * k, 0.0f);
    for (int64_t i = 0; i < k; ++i)
      eye[i * k + i] = 1.0f;
    identity.data.resize(eye.size() * sizeof(float));
    std::memcpy(identity.data.data(), eye.data(), identity.data.size());
    JitOptions options;
    options.numThreads = 1;
    llvm::Expected<std::vector<NpyArray>> results =
        runFunction(*module, "f", {identity}, options);
    ASSERT_TRUE(bool(results)) << llvm::toString(results.takeError());
    ASSERT_EQ(results->size(), 1u);
    ASSERT_EQ((*results)[0].data.size(), size_t(k * n) * sizeof(float));
    const float *y = reinterpret_cast<const float *>((*results)[0].data.data());
    int64_t mismatches = 0;
    for (int64_t row = 0; row < n; ++row)
      for (int64_t col = 0; col < k; ++col) {
        float got = y[col * n + row], expected = want[row * k + col];
        bool same = std::memcmp(&got, &expected, sizeof(float)) == 0 ||
                    (got == 0.0f && expected == 0.0f);
        if (!same && mismatches++ < 3)
          ADD_FAILURE() << "W[" << row << ", " << col << "] = " << got
                        << ", dequantizeRow gives " << expected;
      }
    EXPECT_EQ(mismatches, 0);
  }
}

/// A small Llama config (2 layers, hidden 64) for the builder tests.
TransformerConfig smallConfig() {
  TransformerConfig config;
  config.vocabSize = 32;
  config.hiddenSize = 64;
  config.intermediateSize = 96;
  config.numLayers = 2;
  config.numHeads = 4;
  config.numKvHeads = 2;
  config.headDim = 16;
  config.maxPositions = 64;
  config.tiedEmbeddings = true;
  return config;
}

TEST(PackedLowering, BuilderMakesQLinears) {
  MLIRContext context;
  BuildOptions options;
  options.weightsArchive = "w.safetensors";
  options.contextCapacity = 16;
  options.packedWeights["model.layers.1.mlp.down_proj.weight"] =
      *packedLayoutForGgmlType(GgmlType::Q4_1);
  options.packedWeights["model.embed_tokens.weight"] =
      *packedLayoutForGgmlType(GgmlType::Q6_K);
  llvm::Expected<OwningOpRef<ModuleOp>> module =
      buildTransformer(context, smallConfig(), options);
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  std::map<std::string, std::string> globals;
  (*module)->walk([&](GlobalOp global) {
    std::string type;
    llvm::raw_string_ostream os(type);
    os << global.getType();
    globals[global.getSymName().str()] = type;
  });
  EXPECT_EQ(globals["model.layers.1.mlp.down_proj.qweight"],
            "tensor<64x48xi8>");
  EXPECT_EQ(globals["model.layers.1.mlp.down_proj.scales"], "tensor<64x3xf16>");
  EXPECT_EQ(globals["model.layers.1.mlp.down_proj.mins"], "tensor<64x3xf16>");
  EXPECT_EQ(globals.count("model.layers.1.mlp.down_proj.weight"), 0u);
  EXPECT_EQ(globals["model.layers.0.mlp.down_proj.weight"],
            "tensor<64x96xf32>");
  // The tied embedding: the lookup's float table and the LM head's codes.
  EXPECT_EQ(globals["model.embed_tokens.weight"], "tensor<32x64xf32>");
  EXPECT_EQ(globals["model.embed_tokens.qweight"], "tensor<32x64xi8>");
  EXPECT_EQ(globals["model.embed_tokens.scales"], "tensor<32x4xf32>");
  EXPECT_EQ(globals.count("model.embed_tokens.mins"), 0u);

  std::map<std::string, std::string> schemes;
  int linears = 0;
  (*module)->walk([&](Operation *op) {
    if (auto q = dyn_cast<QLinearOp>(op)) {
      std::string text;
      llvm::raw_string_ostream os(text);
      os << q.getScheme();
      schemes[q.getName()->str()] = text;
    } else if (isa<LinearOp>(op)) {
      ++linears;
    }
  });
  EXPECT_EQ(schemes["model.layers.1.mlp.down_proj"],
            "#nibble.scheme<w4, group = 32, min, scale = f16>");
  EXPECT_EQ(schemes["lm_head"], "#nibble.scheme<w6, group = 16, sym>");
  // Three entry points; 13 float linears each.
  EXPECT_EQ(schemes.size(), 2u);
  EXPECT_EQ(linears, 3 * 13);
}

TEST(PackedLowering, BuilderRefusesPackedWeightsItCannotUse) {
  MLIRContext context;
  BuildOptions options;
  options.packedWeights["model.layers.0.input_layernorm.weight"] =
      *packedLayoutForGgmlType(GgmlType::Q8_0);
  llvm::Expected<OwningOpRef<ModuleOp>> notLinear =
      buildTransformer(context, smallConfig(), options);
  ASSERT_FALSE(bool(notLinear));
  EXPECT_THAT(llvm::toString(notLinear.takeError()),
              HasSubstr("packed weight 'model.layers.0.input_layernorm."
                        "weight' (bits=8 group=32 offset=sym scale=f16 "
                        "source=Q8_0): the model has no linear with this "
                        "weight"));
  options.packedWeights.clear();
  // A layout whose groups do not divide the linear's K = 96.
  PackedWeightLayout layout = *packedLayoutForGgmlType(GgmlType::Q4_0);
  layout.groupSize = 256;
  options.packedWeights["model.layers.0.mlp.down_proj.weight"] = layout;
  llvm::Expected<OwningOpRef<ModuleOp>> partial =
      buildTransformer(context, smallConfig(), options);
  ASSERT_FALSE(bool(partial));
  EXPECT_THAT(llvm::toString(partial.takeError()),
              HasSubstr("K = 96 is not a whole number of groups"));
}

/// The logits of every position of `tokens` run through the model at
/// `path` (a GGUF file), its quantization kept or dequantized.
std::vector<float> tinyModelLogits(const std::string &path, bool keep,
                                   const std::vector<int32_t> &tokens,
                                   const test::TempDir &dir,
                                   size_t expectedPacked) {
  LoadOptions loadOptions;
  loadOptions.keepQuantization = keep;
  loadOptions.archive.progress = nullptr;
  llvm::Expected<LoadedModel> loaded =
      loadModel(path, dir.file(keep ? "kept.safetensors" : "f32.safetensors"),
                loadOptions);
  EXPECT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
  if (!loaded)
    return {};
  EXPECT_EQ(loaded->archive.packedWeights.size(), expectedPacked);
  std::unique_ptr<MLIRContext> context = makeContext();
  BuildOptions build;
  build.weightsArchive = loaded->archivePath;
  build.contextCapacity = 16;
  build.packedWeights = loaded->archive.packedWeights;
  llvm::Expected<OwningOpRef<ModuleOp>> module =
      buildTransformer(*context, loaded->config, build);
  EXPECT_TRUE(bool(module)) << llvm::toString(module.takeError());
  if (!module)
    return {};
  int qlinears = 0;
  (**module)->walk([&](QLinearOp) { ++qlinears; });
  EXPECT_EQ(qlinears, 3 * static_cast<int>(expectedPacked)); // 3 entries
  JitOptions jit;
  jit.numThreads = 1;
  llvm::Expected<std::unique_ptr<JitLanguageModel>> model =
      JitLanguageModel::create(**module, jit);
  EXPECT_TRUE(bool(model)) << llvm::toString(model.takeError());
  if (!model)
    return {};
  std::vector<float> logits(tokens.size() * (*model)->vocabSize());
  EXPECT_EQ((*model)->run(tokens.data(), tokens.size(), 0, true, logits.data()),
            NIBBLE_OK);
  return logits;
}

TEST(PackedLowering, TinyGgufModelsKeptEqualFloat) {
  struct Model {
    const char *file;
    size_t packed;
  };
  for (Model m :
       {Model{"tiny-llama.gguf", 11}, Model{"tiny-gemma3.gguf", 15}}) {
    SCOPED_TRACE(m.file);
    test::TempDir dir;
    std::string path = test::llmInput(m.file);
    std::vector<int32_t> tokens = {1, 5, 9, 3, 7, 2};
    std::vector<float> floats = tinyModelLogits(path, false, tokens, dir, 0);
    std::vector<float> kept =
        tinyModelLogits(path, true, tokens, dir, m.packed);
    ASSERT_EQ(floats.size(), kept.size());
    ASSERT_FALSE(floats.empty());
    // The dequantized weights are the same floats and the reference
    // lowering sums in the same order: the logits agree to float rounding
    // (observed: bit for bit).
    float scale = 0, error = 0;
    for (size_t i = 0; i < floats.size(); ++i) {
      scale = std::max(scale, std::fabs(floats[i]));
      error = std::max(error, std::fabs(floats[i] - kept[i]));
    }
    EXPECT_GT(scale, 0.0f);
    EXPECT_LE(error, 1e-5f * scale);
  }
}

} // namespace
