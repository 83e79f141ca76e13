//===- HfArchiveTest.cpp - Hugging Face weights to the f32 archive --------===//
//
// Checkpoints written here with SafeTensorsWriter -- single-file and
// sharded, F32/F16/BF16, a Gemma 3 multimodal layout -- and the tiny models
// of test/LLM/Inputs (transformers-written; skipped when absent): the
// archive holds exactly the tensors the config needs, converted exactly
// (compared with support's readAsFloat32, an independent conversion), and
// every broken checkpoint is refused with the files and tensors named.
//
//===----------------------------------------------------------------------===//

#include "frontends/llm/HfModel.h"
#include "frontends/llm/ModelLoader.h"

#include "LlmTestUtil.h"

#include "support/SafeTensors.h"

#include "llvm/ADT/StringMap.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <map>

using namespace nibble;
using namespace nibble::llm;
using nibble::test::TempDir;
using nibble::test::tinyModel;
using nibble::test::writeTextFile;
using testing::AllOf;
using testing::HasSubstr;

namespace {

/// A Llama of 2 layers, hidden 8, 2 heads of 4, 1 KV head, FFN 8, vocab 8.
const char *kTinyConfig = R"({"model_type": "llama", "vocab_size": 8,
  "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 2,
  "num_attention_heads": 2, "num_key_value_heads": 1})";

/// Deterministic values exactly representable in F16 and BF16: k / 64 with
/// |k| < 128.
std::vector<float> valuesFor(llvm::StringRef name, int64_t count) {
  uint64_t seed = llvm::hash_value(name);
  std::vector<float> values(count);
  for (int64_t i = 0; i < count; ++i)
    values[i] =
        static_cast<float>(static_cast<int64_t>((seed + 37 * i) % 255) - 127) /
        64.0f;
  return values;
}

/// The bytes of `values` in `dtype` (F32, F16 or BF16; exact for values
/// from valuesFor).
std::vector<uint8_t> encode(const std::vector<float> &values, DType dtype) {
  std::vector<uint8_t> bytes;
  for (float value : values) {
    uint32_t bits;
    std::memcpy(&bits, &value, 4);
    if (dtype == DType::F32) {
      for (int b = 0; b < 4; ++b)
        bytes.push_back(static_cast<uint8_t>(bits >> (8 * b)));
      continue;
    }
    uint16_t half;
    if (dtype == DType::BF16) {
      half = static_cast<uint16_t>(bits >> 16);
    } else if ((bits & 0x7fffffff) == 0) {
      half = static_cast<uint16_t>(bits >> 16);
    } else {
      int exponent = static_cast<int>((bits >> 23) & 0xff) - 127 + 15;
      half = static_cast<uint16_t>(((bits >> 16) & 0x8000) | (exponent << 10) |
                                   ((bits >> 13) & 0x3ff));
    }
    bytes.push_back(static_cast<uint8_t>(half));
    bytes.push_back(static_cast<uint8_t>(half >> 8));
  }
  return bytes;
}

/// One checkpoint tensor: name, shape and the dtype it is stored in.
struct StoredTensor {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::F32;
};

/// The tensors of the tiny Llama under `prefix` ("model."), in `dtype`.
std::vector<StoredTensor> tinyTensors(DType dtype = DType::F32,
                                      llvm::StringRef prefix = "model.") {
  std::vector<StoredTensor> tensors;
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    tensors.push_back({std::move(name), std::move(shape), dtype});
  };
  add(prefix.str() + "embed_tokens.weight", {8, 8});
  for (int layer = 0; layer < 2; ++layer) {
    std::string p = prefix.str() + "layers." + std::to_string(layer) + ".";
    add(p + "input_layernorm.weight", {8});
    add(p + "self_attn.q_proj.weight", {8, 8});
    add(p + "self_attn.k_proj.weight", {4, 8});
    add(p + "self_attn.v_proj.weight", {4, 8});
    add(p + "self_attn.o_proj.weight", {8, 8});
    add(p + "post_attention_layernorm.weight", {8});
    add(p + "mlp.gate_proj.weight", {8, 8});
    add(p + "mlp.up_proj.weight", {8, 8});
    add(p + "mlp.down_proj.weight", {8, 8});
  }
  add(prefix.str() + "norm.weight", {8});
  add("lm_head.weight", {8, 8});
  return tensors;
}

int64_t elementCount(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

/// Writes `tensors` to `path` with valuesFor's values.
void writeShard(const std::string &path,
                const std::vector<StoredTensor> &tensors) {
  SafeTensorsWriter writer;
  for (const StoredTensor &tensor : tensors)
    ASSERT_FALSE(bool(writer.addTensor(
        tensor.name, tensor.dtype, tensor.shape,
        encode(valuesFor(tensor.name, elementCount(tensor.shape)),
               tensor.dtype))));
  ASSERT_FALSE(bool(writer.write(path)));
}

/// Writes an index mapping each tensor of `shards` to its shard.
void writeIndex(
    const std::string &path,
    const std::map<std::string, std::vector<StoredTensor>> &shards) {
  std::string text = R"({"metadata": {"total_size": 0}, "weight_map": {)";
  bool first = true;
  for (const auto &[shard, tensors] : shards)
    for (const StoredTensor &tensor : tensors) {
      text += (first ? "\"" : ", \"") + tensor.name + "\": \"" + shard + "\"";
      first = false;
    }
  writeTextFile(path, text + "}}");
}

/// Writes a sharded checkpoint: the tiny Llama over three shards of three
/// dtypes, and its config.
std::map<std::string, std::vector<StoredTensor>>
writeShardedTiny(const TempDir &dir) {
  std::vector<StoredTensor> all = tinyTensors();
  std::map<std::string, std::vector<StoredTensor>> shards;
  const DType dtypes[] = {DType::F32, DType::F16, DType::BF16};
  for (size_t i = 0; i < all.size(); ++i) {
    all[i].dtype = dtypes[i % 3];
    shards["model-0000" + std::to_string(i % 3 + 1) + "-of-00003.safetensors"]
        .push_back(all[i]);
  }
  for (const auto &[shard, tensors] : shards)
    writeShard(dir.file(shard), tensors);
  writeIndex(dir.file("model.safetensors.index.json"), shards);
  writeTextFile(dir.file("config.json"), kTinyConfig);
  return shards;
}

/// readHfConfig + writeFloatArchiveFromHf into `archive`; the error message
/// or "".
std::string writeArchive(const std::string &dir, const std::string &archive,
                         ArchiveSummary *summary = nullptr,
                         bool ropeInterleaved = false) {
  llvm::Expected<TransformerConfig> config = readHfConfig(dir);
  if (!config)
    return llvm::toString(config.takeError());
  config->ropeInterleaved = ropeInterleaved;
  llvm::Expected<ArchiveSummary> written =
      writeFloatArchiveFromHf(dir, *config, archive);
  if (!written)
    return llvm::toString(written.takeError());
  if (summary)
    *summary = *written;
  return "";
}

/// The float32 values of every tensor of the safetensors file at `path`,
/// converted by support's readAsFloat32; `archive`: all must be F32.
std::map<std::string, std::vector<float>> readAll(const std::string &path,
                                                  bool archive = true) {
  std::map<std::string, std::vector<float>> values;
  auto file = SafeTensorsFile::open(path);
  EXPECT_TRUE(bool(file)) << llvm::toString(file.takeError());
  if (!file)
    return values;
  for (const TensorView &tensor : (*file)->tensors()) {
    if (archive)
      EXPECT_EQ(tensor.dtype, DType::F32) << tensor.name;
    values[tensor.name] = *readAsFloat32(tensor);
  }
  return values;
}

TEST(HfArchive, SingleFileF16) {
  TempDir dir;
  writeTextFile(dir.file("config.json"), kTinyConfig);
  writeShard(dir.file("model.safetensors"), tinyTensors(DType::F16));
  ArchiveSummary summary;
  ASSERT_EQ(writeArchive(dir.dir(), dir.file("a.safetensors"), &summary), "");
  EXPECT_EQ(summary.tensorCount, 21u);
  EXPECT_TRUE(summary.ignoredTensors.empty());
  std::map<std::string, std::vector<float>> archive =
      readAll(dir.file("a.safetensors"));
  ASSERT_EQ(archive.size(), 21u);
  for (const StoredTensor &tensor : tinyTensors())
    EXPECT_EQ(archive[tensor.name],
              valuesFor(tensor.name, elementCount(tensor.shape)))
        << tensor.name;
}

TEST(HfArchive, ShardsOfThreeDtypes) {
  TempDir dir;
  writeShardedTiny(dir);
  ASSERT_EQ(writeArchive(dir.dir(), dir.file("a.safetensors")), "");
  std::map<std::string, std::vector<float>> archive =
      readAll(dir.file("a.safetensors"));
  ASSERT_EQ(archive.size(), 21u);
  for (const StoredTensor &tensor : tinyTensors())
    EXPECT_EQ(archive[tensor.name],
              valuesFor(tensor.name, elementCount(tensor.shape)))
        << tensor.name;
}

TEST(HfArchive, InterleavedRopeRows) {
  // Asked for interleaved RoPE, q/k rows move within each head: archive row
  // 2j + h of a head holds source row h * headDim / 2 + j.
  TempDir dir;
  writeTextFile(dir.file("config.json"), kTinyConfig);
  writeShard(dir.file("model.safetensors"), tinyTensors());
  ASSERT_EQ(writeArchive(dir.dir(), dir.file("a.safetensors"), nullptr,
                         /*ropeInterleaved=*/true),
            "");
  std::map<std::string, std::vector<float>> archive =
      readAll(dir.file("a.safetensors"));
  for (const char *name : {"model.layers.1.self_attn.q_proj.weight",
                           "model.layers.0.self_attn.k_proj.weight"}) {
    const std::vector<float> &got = archive[name];
    int64_t rows = static_cast<int64_t>(got.size()) / 8;
    std::vector<float> source = valuesFor(name, rows * 8);
    for (int64_t row = 0; row < rows; ++row) {
      int64_t head = row / 4, feature = row % 4;
      int64_t sourceRow = head * 4 + (feature % 2) * 2 + feature / 2;
      for (int col = 0; col < 8; ++col)
        EXPECT_EQ(got[row * 8 + col], source[sourceRow * 8 + col])
            << name << " row " << row;
    }
  }
  // Other tensors keep their rows.
  EXPECT_EQ(archive["model.layers.0.self_attn.v_proj.weight"],
            valuesFor("model.layers.0.self_attn.v_proj.weight", 32));
}

TEST(HfArchive, Gemma3MultimodalNames) {
  // model.language_model.* is the text model; vision tensors are ignored;
  // the LM head is tied.
  TempDir dir;
  writeTextFile(dir.file("config.json"), R"({"model_type": "gemma3",
    "text_config": {"vocab_size": 8, "hidden_size": 8,
    "intermediate_size": 8, "num_hidden_layers": 1,
    "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 4}})");
  std::vector<StoredTensor> tensors;
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    tensors.push_back({std::move(name), std::move(shape), DType::BF16});
  };
  std::string p = "model.language_model.";
  add(p + "embed_tokens.weight", {8, 8});
  for (const char *norm :
       {"input_layernorm", "post_attention_layernorm",
        "pre_feedforward_layernorm", "post_feedforward_layernorm"})
    add(p + "layers.0." + norm + ".weight", {8});
  add(p + "layers.0.self_attn.q_proj.weight", {8, 8});
  add(p + "layers.0.self_attn.k_proj.weight", {4, 8});
  add(p + "layers.0.self_attn.v_proj.weight", {4, 8});
  add(p + "layers.0.self_attn.o_proj.weight", {8, 8});
  add(p + "layers.0.self_attn.q_norm.weight", {4});
  add(p + "layers.0.self_attn.k_norm.weight", {4});
  add(p + "layers.0.mlp.gate_proj.weight", {8, 8});
  add(p + "layers.0.mlp.up_proj.weight", {8, 8});
  add(p + "layers.0.mlp.down_proj.weight", {8, 8});
  add(p + "norm.weight", {8});
  add("model.vision_tower.vision_model.post_layernorm.weight", {4});
  writeShard(dir.file("model.safetensors"), tensors);
  ArchiveSummary summary;
  ASSERT_EQ(writeArchive(dir.dir(), dir.file("a.safetensors"), &summary), "");
  EXPECT_EQ(summary.tensorCount, 15u);
  ASSERT_EQ(summary.ignoredTensors.size(), 1u);
  EXPECT_THAT(summary.ignoredTensors[0],
              HasSubstr("'model.vision_tower.vision_model.post_layernorm."
                        "weight' of "));
  std::map<std::string, std::vector<float>> archive =
      readAll(dir.file("a.safetensors"));
  EXPECT_EQ(archive["model.layers.0.self_attn.k_norm.weight"],
            valuesFor(p + "layers.0.self_attn.k_norm.weight", 4));
  EXPECT_EQ(archive["model.norm.weight"], valuesFor(p + "norm.weight", 8));
  EXPECT_EQ(archive.count("lm_head.weight"), 0u);
}

TEST(HfArchive, RefusesBrokenShards) {
  {
    TempDir dir;
    auto shards = writeShardedTiny(dir);
    std::string missing = shards.begin()->first;
    llvm::sys::fs::remove(dir.file(missing));
    EXPECT_THAT(writeArchive(dir.dir(), dir.file("a.safetensors")),
                AllOf(HasSubstr(dir.file("model.safetensors.index.json")),
                      HasSubstr("shard '" + missing + "' (7 tensors, e.g. '"),
                      HasSubstr("does not exist: " + dir.file(missing))));
    EXPECT_FALSE(llvm::sys::fs::exists(dir.file("a.safetensors")));
  }
  {
    // The index lists a tensor its shard lacks.
    TempDir dir;
    auto shards = writeShardedTiny(dir);
    auto &[shard, tensors] = *shards.begin();
    std::string dropped = tensors.back().name;
    tensors.pop_back();
    writeShard(dir.file(shard), tensors);
    EXPECT_THAT(writeArchive(dir.dir(), dir.file("a.safetensors")),
                HasSubstr(dir.file("model.safetensors.index.json") +
                          ": tensor '" + dropped + "' is listed in '" + shard +
                          "', which has no such tensor (" + dir.file(shard) +
                          ")"));
  }
  {
    // A tensor in two shards.
    TempDir dir;
    auto shards = writeShardedTiny(dir);
    auto first = shards.begin(), second = std::next(first);
    second->second.push_back(first->second.front());
    writeShard(dir.file(second->first), second->second);
    EXPECT_THAT(writeArchive(dir.dir(), dir.file("a.safetensors")),
                HasSubstr("tensor '" + first->second.front().name +
                          "' is in both " + dir.file(first->first) + " and " +
                          dir.file(second->first)));
  }
  {
    // A shard outside the directory.
    TempDir dir;
    writeShardedTiny(dir);
    writeTextFile(dir.file("model.safetensors.index.json"),
                  R"({"weight_map": {"lm_head.weight": "../x.safetensors"}})");
    EXPECT_THAT(writeArchive(dir.dir(), dir.file("a.safetensors")),
                HasSubstr("field 'weight_map': tensor 'lm_head.weight': shard "
                          "'../x.safetensors' is not a file inside"));
    writeTextFile(dir.file("model.safetensors.index.json"), R"({"w": {}})");
    EXPECT_THAT(writeArchive(dir.dir(), dir.file("a.safetensors")),
                HasSubstr("field 'weight_map': missing (required)"));
  }
  {
    TempDir dir;
    writeTextFile(dir.file("config.json"), kTinyConfig);
    EXPECT_THAT(writeArchive(dir.dir(), dir.file("a.safetensors")),
                HasSubstr(dir.dir() + ": neither model.safetensors nor "
                                      "model.safetensors.index.json exists"));
  }
}

TEST(HfArchive, RefusesMissingWrongOrNonFloatTensors) {
  {
    TempDir dir;
    writeTextFile(dir.file("config.json"), kTinyConfig);
    std::vector<StoredTensor> tensors = tinyTensors();
    tensors.erase(tensors.begin() + 3); // layers.0 k_proj
    tensors.pop_back();                 // lm_head
    writeShard(dir.file("model.safetensors"), tensors);
    EXPECT_THAT(writeArchive(dir.dir(), dir.file("a.safetensors")),
                HasSubstr(dir.dir() + ": 2 of the 21 tensors the model needs "
                                      "are missing: "
                                      "model.layers.0.self_attn.k_proj.weight, "
                                      "lm_head.weight"));
  }
  {
    TempDir dir;
    writeTextFile(dir.file("config.json"), kTinyConfig);
    std::vector<StoredTensor> tensors = tinyTensors();
    tensors[4].shape = {4, 4}; // layers.0 v_proj
    writeShard(dir.file("model.safetensors"), tensors);
    EXPECT_THAT(writeArchive(dir.dir(), dir.file("a.safetensors")),
                HasSubstr("'model.layers.0.self_attn.v_proj.weight' of " +
                          dir.file("model.safetensors") +
                          " (model.layers.0.self_attn.v_proj.weight): "
                          "expected shape [4, 8], found [4, 4]"));
  }
  {
    TempDir dir;
    writeTextFile(dir.file("config.json"), kTinyConfig);
    std::vector<StoredTensor> tensors = tinyTensors();
    SafeTensorsWriter writer;
    for (const StoredTensor &tensor : tensors) {
      DType dtype =
          tensor.name == "model.norm.weight" ? DType::I32 : DType::F32;
      ASSERT_FALSE(bool(writer.addTensor(
          tensor.name, dtype, tensor.shape,
          std::vector<uint8_t>(elementCount(tensor.shape) * 4))));
    }
    ASSERT_FALSE(bool(writer.write(dir.file("model.safetensors"))));
    EXPECT_THAT(writeArchive(dir.dir(), dir.file("a.safetensors")),
                HasSubstr("'model.norm.weight' of " +
                          dir.file("model.safetensors") +
                          ": dtype I32 is not a float type nibble converts"));
  }
}

TEST(HfArchive, TinyTransformersModels) {
  // test/LLM/Inputs: the same Llama single-file and in 3 shards (F32), and
  // a Qwen2 in BF16 with q/k/v biases, all written by transformers.
  std::string single = tinyModel("tiny-llama"),
              sharded = tinyModel("tiny-llama-sharded"),
              qwen = tinyModel("tiny-qwen2");
  if (!llvm::sys::fs::is_directory(single) ||
      !llvm::sys::fs::is_directory(sharded) ||
      !llvm::sys::fs::is_directory(qwen))
    GTEST_SKIP() << "test/LLM/Inputs/tiny-* not present";
  TempDir dir;
  ASSERT_EQ(writeArchive(single, dir.file("single.safetensors")), "");
  ASSERT_EQ(writeArchive(sharded, dir.file("sharded.safetensors")), "");
  std::map<std::string, std::vector<float>> fromSingle =
      readAll(dir.file("single.safetensors"));
  EXPECT_EQ(fromSingle.size(), 21u);
  EXPECT_EQ(fromSingle, readAll(dir.file("sharded.safetensors")));
  EXPECT_EQ(fromSingle, readAll(single + "/model.safetensors"));

  llvm::Expected<LoadedModel> model =
      loadModel(qwen, dir.file("qwen.safetensors"));
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ(model->format, LoadedModel::Format::HfDirectory);
  EXPECT_TRUE(model->config.attentionBias);
  EXPECT_TRUE(model->config.tiedEmbeddings);
  ASSERT_TRUE(model->generation.has_value());
  EXPECT_EQ(model->generation->eosTokenIds, (std::vector<int64_t>{2}));
  std::map<std::string, std::vector<float>> archive =
      readAll(dir.file("qwen.safetensors"));
  std::map<std::string, std::vector<float>> source =
      readAll(qwen + "/model.safetensors", /*archive=*/false);
  EXPECT_EQ(archive.size(), 26u);
  for (const auto &[name, values] : archive)
    EXPECT_EQ(values, source[name]) << name;
}

} // namespace
