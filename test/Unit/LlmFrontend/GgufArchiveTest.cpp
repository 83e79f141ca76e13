//===- GgufArchiveTest.cpp - GGUF weights to the f32 archive --------------===//
//
// The archives of the small GGUF models of Inputs/make_llm_gguf_fixtures.py
// hold exactly the tensors the script lists (Inputs/llm_gguf_expected.json),
// under Hugging Face names, with the shape and the float32 bits of gguf's
// numpy dequantizer (compared by checksum: bit-exact), in the file's RoPE
// row order or, asked for, the other one (LlamaModel.permute undone or
// applied). Missing tensors and wrong shapes are refused by name.
//
//===----------------------------------------------------------------------===//

#include "frontends/llm/GgufModel.h"
#include "frontends/llm/ModelLoader.h"

#include "LlmTestUtil.h"

#include "runtime/nibble_runtime.h"
#include "support/SafeTensors.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

using namespace nibble;
using namespace nibble::llm;
using nibble::test::FloatChecksum;
using nibble::test::llmInput;
using nibble::test::TempDir;
using testing::AllOf;
using testing::HasSubstr;

namespace {

/// The script's expectations for `model` ("tiny-llama.gguf").
const llvm::json::Object &expectations(const std::string &model) {
  static llvm::json::Value root = [] {
    auto buffer =
        llvm::MemoryBuffer::getFile(llmInput("llm_gguf_expected.json"));
    EXPECT_TRUE(bool(buffer));
    llvm::Expected<llvm::json::Value> value =
        llvm::json::parse((*buffer)->getBuffer());
    EXPECT_TRUE(bool(value));
    return std::move(*value);
  }();
  return *root.getAsObject()->getObject("models")->getObject(model);
}

/// Writes the archive of `model` with `ropeInterleaved` set as given (or as
/// read when unset) and checks it against the script's expectations.
void checkArchive(const std::string &model,
                  std::optional<bool> ropeInterleaved) {
  std::string path = llmInput(model);
  runtime::GgufFile file;
  ASSERT_EQ(file.open(path), NIBBLE_OK) << nibble_last_error();
  llvm::Expected<TransformerConfig> config = readGgufConfig(file, path);
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  bool reordered =
      ropeInterleaved && *ropeInterleaved != config->ropeInterleaved;
  if (ropeInterleaved)
    config->ropeInterleaved = *ropeInterleaved;
  TempDir dir;
  std::string archivePath = dir.file("model.safetensors");
  llvm::Expected<ArchiveSummary> summary =
      writeFloatArchiveFromGguf(file, path, *config, archivePath);
  ASSERT_TRUE(bool(summary)) << llvm::toString(summary.takeError());

  const llvm::json::Object &tensors = *expectations(model).getObject("tensors");
  auto archive = SafeTensorsFile::open(archivePath);
  ASSERT_TRUE(bool(archive)) << llvm::toString(archive.takeError());
  EXPECT_EQ((*archive)->tensors().size(), tensors.size());
  EXPECT_EQ(summary->tensorCount, tensors.size());
  EXPECT_EQ(expectedTensors(*config).size(), tensors.size());
  for (const auto &entry : tensors) {
    std::string name = entry.first.str();
    const llvm::json::Object &expected = *entry.second.getAsObject();
    const TensorView *tensor = (*archive)->lookup(name);
    ASSERT_NE(tensor, nullptr) << name;
    EXPECT_EQ(tensor->dtype, DType::F32) << name;
    std::vector<int64_t> shape;
    for (const llvm::json::Value &dim : *expected.getArray("shape"))
      shape.push_back(*dim.getAsInteger());
    EXPECT_EQ(std::vector<int64_t>(tensor->shape.begin(), tensor->shape.end()),
              shape)
        << name;
    llvm::StringRef key = "checksum";
    if (reordered && expected.get("reordered_checksum"))
      key = "reordered_checksum";
    uint64_t want = 0;
    ASSERT_FALSE(expected.getString(key)->getAsInteger(10, want)) << name;
    FloatChecksum checksum;
    checksum.add(reinterpret_cast<const float *>(tensor->bytes.data()),
                 tensor->bytes.size() / sizeof(float));
    EXPECT_EQ(checksum.value(), want) << name << " (" << key.str() << ")";
  }
}

TEST(GgufArchive, LlamaEveryGgmlType) { checkArchive("tiny-llama.gguf", {}); }

TEST(GgufArchive, LlamaInRotateHalfOrder) {
  // LlamaModel.permute undone: Hugging Face's q/k rows.
  checkArchive("tiny-llama.gguf", false);
}

TEST(GgufArchive, Gemma3) { checkArchive("tiny-gemma3.gguf", {}); }

TEST(GgufArchive, Gemma3InInterleavedOrder) {
  // q/k rows and the q/k norms permuted as LlamaModel.permute would.
  checkArchive("tiny-gemma3.gguf", true);
}

TEST(GgufArchive, Qwen2WithBiases) {
  checkArchive("tiny-qwen2.gguf", {});
  checkArchive("tiny-qwen2.gguf", true);
}

TEST(GgufArchive, IgnoredTensorsAndProgress) {
  std::string path = llmInput("tiny-llama.gguf");
  runtime::GgufFile file;
  ASSERT_EQ(file.open(path), NIBBLE_OK) << nibble_last_error();
  llvm::Expected<TransformerConfig> config = readGgufConfig(file, path);
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  TempDir dir;
  std::string progress;
  llvm::raw_string_ostream progressStream(progress);
  ArchiveOptions options;
  options.progress = &progressStream;
  options.progressMinBytes = 0;
  llvm::Expected<ArchiveSummary> summary = writeFloatArchiveFromGguf(
      file, path, *config, dir.file("a.safetensors"), options);
  ASSERT_TRUE(bool(summary)) << llvm::toString(summary.takeError());
  ASSERT_EQ(summary->ignoredTensors.size(), 1u);
  EXPECT_THAT(summary->ignoredTensors[0], HasSubstr("'rope_freqs.weight'"));
  // 21 tensors: a line per tenth of them, the last one at 21/21.
  EXPECT_THAT(progress,
              HasSubstr("nibble: writing " + dir.file("a.safetensors") +
                        ": 3/21 "
                        "tensors"));
  EXPECT_THAT(progress, HasSubstr(": 21/21 tensors"));
  auto archive = SafeTensorsFile::open(dir.file("a.safetensors"));
  ASSERT_TRUE(bool(archive)) << llvm::toString(archive.takeError());
  uint64_t bytes = 0;
  for (const TensorView &tensor : (*archive)->tensors())
    bytes += tensor.bytes.size();
  EXPECT_EQ(summary->dataBytes, bytes);
  EXPECT_EQ(summary->tensorCount, (*archive)->tensors().size());
}

TEST(GgufArchive, RefusesMissingTensorsAndWrongShapes) {
  auto archiveError = [](const std::string &name) -> std::string {
    std::string path = llmInput(name);
    runtime::GgufFile file;
    if (file.open(path) != NIBBLE_OK)
      return nibble_last_error();
    llvm::Expected<TransformerConfig> config = readGgufConfig(file, path);
    if (!config)
      return llvm::toString(config.takeError());
    TempDir dir;
    llvm::Expected<ArchiveSummary> summary = writeFloatArchiveFromGguf(
        file, path, *config, dir.file("a.safetensors"));
    if (summary)
      return "";
    EXPECT_FALSE(llvm::sys::fs::exists(dir.file("a.safetensors")));
    return llvm::toString(summary.takeError());
  };
  EXPECT_THAT(archiveError("bad-missing-tensors.gguf"),
              AllOf(HasSubstr(llmInput("bad-missing-tensors.gguf")),
                    HasSubstr("2 of the 26 tensors the model needs are "
                              "missing: model.layers.1.mlp.up_proj.weight, "
                              "model.norm.weight")));
  EXPECT_THAT(
      archiveError("bad-shape.gguf"),
      AllOf(HasSubstr("tensors with the wrong shape"),
            HasSubstr("'blk.0.attn_k.weight' of " + llmInput("bad-shape.gguf") +
                      " (model.layers.0.self_attn.k_proj.weight): "
                      "expected shape [16, 32], found [17, 32]")));
}

TEST(GgufArchive, LoadModel) {
  TempDir dir;
  std::string path = llmInput("tiny-llama.gguf");
  LoadOptions options;
  options.rotateHalfRope = true;
  llvm::Expected<LoadedModel> model =
      loadModel(path, dir.file("w.safetensors"), options);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ(model->format, LoadedModel::Format::Gguf);
  EXPECT_EQ(model->tokenizerPath, path);
  EXPECT_EQ(model->archivePath, dir.file("w.safetensors"));
  EXPECT_FALSE(model->config.ropeInterleaved);
  EXPECT_FALSE(model->generation);
  EXPECT_EQ(model->archive.tensorCount, 21u);
  EXPECT_TRUE(test::fileExists(dir.file("w.safetensors")));

  llvm::Expected<LoadedModel> notAModel =
      loadModel(llmInput("llm_gguf_expected.json"), dir.file("x"));
  ASSERT_FALSE(bool(notAModel));
  EXPECT_THAT(llvm::toString(notAModel.takeError()),
              HasSubstr("neither a GGUF file (no 'GGUF' magic) nor a Hugging "
                        "Face model directory"));
  llvm::Expected<LoadedModel> absent =
      loadModel(dir.file("absent.gguf"), dir.file("x"));
  ASSERT_FALSE(bool(absent));
  EXPECT_THAT(llvm::toString(absent.takeError()),
              HasSubstr("absent.gguf: no such file or directory"));
}

/// Writes the archives of both real models to $NIBBLE_LLM_ARCHIVE_DIR (or a
/// temporary directory): for measuring time and memory, e.g.
///   /usr/bin/time -v LlmFrontendTests --gtest_also_run_disabled_tests \
///       --gtest_filter='*DISABLED_RealModels*'
TEST(GgufArchive, DISABLED_RealModels) {
  TempDir temp;
  const char *dirEnv = std::getenv("NIBBLE_LLM_ARCHIVE_DIR");
  std::string dir = dirEnv && *dirEnv ? dirEnv : temp.dir();
  for (const char *name :
       {"SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"}) {
    std::string path = test::realModel(name);
    if (!test::fileExists(path)) {
      llvm::outs() << path << " not found\n";
      continue;
    }
    std::string archive = dir + "/" + name + ".f32.safetensors";
    llvm::Expected<LoadedModel> model = loadModel(path, archive);
    ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
    llvm::outs() << name << ": " << model->archive.tensorCount << " tensors, "
                 << model->archive.dataBytes << " bytes -> " << archive << "\n";
  }
}

} // namespace
