//===- ModelTest.cpp - Tests of opening, binding and running models -------===//
//
// Opens the fake models of FakeModel.c (as shared libraries and through
// their ABI), checks queries, the memref descriptors handed to invoke(),
// the numbers computed, and every error with its message.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "runtime/nibble_runtime.h"

#include "gtest/gtest.h"

#include <climits>
#include <cstring>
#include <unistd.h>

using namespace nibble::test;

extern "C" double c_api_sum(const float *values, int64_t count,
                            nibble_status *status);

namespace {

/// Expects `status` to be `expected` and the last error to contain every
/// string of `fragments`.
void expectError(nibble_status status, nibble_status expected,
                 std::initializer_list<std::string> fragments) {
  EXPECT_EQ(status, expected)
      << nibble_status_string(status) << ": " << nibble_last_error();
  for (const std::string &fragment : fragments)
    EXPECT_NE(std::string(nibble_last_error()).find(fragment),
              std::string::npos)
        << "message: " << nibble_last_error() << "\nlacks: " << fragment;
}

/// A directory holding a copy of a fake model library as "model.so" and,
/// unless `withWeights` is false, a weight archive `archive` (default:
/// linearArchive()) as "fake_linear.safetensors".
class ModelDir {
public:
  explicit ModelDir(const char *library = FAKE_LINEAR_LIBRARY,
                    const std::string *archive = nullptr,
                    bool withWeights = true) {
    EXPECT_TRUE(copyFile(library, libraryPath(), 0755));
    std::string defaultArchive = linearArchive();
    if (withWeights) {
      EXPECT_TRUE(
          writeFile(weightsPath(), archive ? *archive : defaultArchive));
    }
  }
  std::string libraryPath() const { return dir.file("model.so"); }
  std::string weightsPath() const {
    return dir.file("fake_linear.safetensors");
  }
  const TempDir &temp() const { return dir; }

private:
  TempDir dir;
};

/// Opens the library in `modelDir`, expecting success.
nibble_model *openOrFail(const ModelDir &modelDir) {
  nibble_model *model = nullptr;
  nibble_status status =
      nibble_model_open(modelDir.libraryPath().c_str(), &model);
  EXPECT_EQ(status, NIBBLE_OK) << nibble_last_error();
  return model;
}

/// Opens the linear model with an archive `archive`, returning the status.
nibble_status openWithArchive(const std::string &archive) {
  ModelDir dir(FAKE_LINEAR_LIBRARY, &archive);
  nibble_model *model = nullptr;
  nibble_status status = nibble_model_open(dir.libraryPath().c_str(), &model);
  EXPECT_EQ(model == nullptr, status != NIBBLE_OK);
  nibble_model_close(model);
  return status;
}

const std::vector<float> kInput = {1, 2, 3, -0.5f, 4, 0.25f};

TEST(ModelTest, OpenQueryBindRun) {
  ModelDir dir;
  nibble_model *model = openOrFail(dir);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(nibble_model_num_inputs(model), 1);
  EXPECT_EQ(nibble_model_num_outputs(model), 1);
  EXPECT_EQ(nibble_model_num_entries(model), 1);
  EXPECT_STREQ(nibble_model_entry_name(model, 0), "linear");
  EXPECT_EQ(nibble_model_entry_name(model, 1), nullptr);

  nibble_tensor_desc info;
  ASSERT_EQ(nibble_model_input_info(model, 0, &info), NIBBLE_OK);
  EXPECT_STREQ(info.name, "x");
  EXPECT_EQ(info.dtype, NIBBLE_DTYPE_F32);
  ASSERT_EQ(info.rank, 2);
  EXPECT_EQ(info.shape[0], 2);
  EXPECT_EQ(info.shape[1], 3);
  ASSERT_EQ(nibble_model_output_info(model, 0, &info), NIBBLE_OK);
  EXPECT_STREQ(info.name, "y");
  ASSERT_EQ(info.rank, 2);
  EXPECT_EQ(info.shape[0], 2);
  EXPECT_EQ(info.shape[1], 2);
  size_t bytes = 0;
  ASSERT_EQ(nibble_model_output_bytes(model, 0, &bytes), NIBBLE_OK);
  EXPECT_EQ(bytes, 4 * sizeof(float));

  int64_t shape[] = {2, 3};
  std::vector<float> y(4, -1.0f);
  ASSERT_EQ(nibble_model_bind_input(model, 0, kInput.data(), shape, 2),
            NIBBLE_OK);
  ASSERT_EQ(nibble_model_bind_output(model, 0, y.data(), 16), NIBBLE_OK);
  ASSERT_EQ(nibble_model_run(model), NIBBLE_OK) << nibble_last_error();
  std::vector<float> expected = linearReference(kInput);
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(y[i], expected[i]) << "element " << i;
  // 1*0.5 + 2*-1 + 3*2 + 0.125, checked by hand too.
  EXPECT_FLOAT_EQ(y[0], 4.625f);

  // Rebinding to another input and a larger output buffer.
  std::vector<float> x2 = {0, 0, 0, 1, 1, 1};
  std::vector<float> y2(8, 7.0f);
  ASSERT_EQ(nibble_model_bind_input(model, 0, x2.data(), shape, 2), NIBBLE_OK);
  ASSERT_EQ(nibble_model_bind_output(model, 0, y2.data(), 32), NIBBLE_OK);
  ASSERT_EQ(nibble_model_run(model), NIBBLE_OK);
  EXPECT_FLOAT_EQ(y2[0], 0.125f);
  EXPECT_FLOAT_EQ(y2[1], -3.0f);
  EXPECT_FLOAT_EQ(y2[2], 1.625f);
  EXPECT_FLOAT_EQ(y2[3], -2.0f);
  EXPECT_FLOAT_EQ(y2[4], 7.0f) << "wrote past the output";
  nibble_model_close(model);
}

TEST(ModelTest, TwoModelsOfOneLibraryAreIndependent) {
  ModelDir dir;
  nibble_model *first = openOrFail(dir);
  nibble_model *second = openOrFail(dir);
  ASSERT_TRUE(first && second);
  int64_t shape[] = {2, 3};
  std::vector<float> y(4);
  ASSERT_EQ(nibble_model_bind_input(first, 0, kInput.data(), shape, 2),
            NIBBLE_OK);
  ASSERT_EQ(nibble_model_bind_output(first, 0, y.data(), 16), NIBBLE_OK);
  nibble_model_close(first);
  expectError(nibble_model_run(second), NIBBLE_ERROR_NOT_BOUND, {"'x'"});
  nibble_model_close(second);
}

TEST(ModelTest, BareFileNameIsRelativeToTheCurrentDirectory) {
  ModelDir dir;
  char previous[PATH_MAX];
  ASSERT_NE(::getcwd(previous, sizeof(previous)), nullptr);
  ASSERT_EQ(::chdir(dir.temp().path().c_str()), 0);
  nibble_model *model = nullptr;
  nibble_status status = nibble_model_open("model.so", &model);
  std::string message = nibble_last_error();
  ASSERT_EQ(::chdir(previous), 0);
  EXPECT_EQ(status, NIBBLE_OK) << message;
  nibble_model_close(model);
}

TEST(ModelTest, MisalignedParamsAreCopied) {
  // A 1-byte misaligned data section: the F32 params are copied to aligned
  // memory and the results stay right.
  std::string archive = linearArchive(/*headerAlign=*/8, /*extra=*/1);
  ModelDir dir(FAKE_LINEAR_LIBRARY, &archive);
  nibble_model *model = openOrFail(dir);
  ASSERT_NE(model, nullptr);
  int64_t shape[] = {2, 3};
  std::vector<float> y(4);
  ASSERT_EQ(nibble_model_bind_input(model, 0, kInput.data(), shape, 2),
            NIBBLE_OK);
  ASSERT_EQ(nibble_model_bind_output(model, 0, y.data(), 16), NIBBLE_OK);
  ASSERT_EQ(nibble_model_run(model), NIBBLE_OK);
  std::vector<float> expected = linearReference(kInput);
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(y[i], expected[i]);
  nibble_model_close(model);
}

TEST(ModelTest, DynamicInputAndScalarOutput) {
  nibble_model *model = nullptr;
  ASSERT_EQ(nibble_model_open_abi(fake_sum_model_abi(), nullptr, &model),
            NIBBLE_OK)
      << nibble_last_error();
  nibble_tensor_desc info;
  ASSERT_EQ(nibble_model_input_info(model, 0, &info), NIBBLE_OK);
  EXPECT_EQ(info.rank, 1);
  EXPECT_EQ(info.shape[0], -1);
  size_t bytes = 0;
  ASSERT_EQ(nibble_model_output_bytes(model, 0, &bytes), NIBBLE_OK);
  EXPECT_EQ(bytes, sizeof(double));

  std::vector<float> values = {1.5f, 2.25f, -4, 1e-3f, 8};
  double total = 0;
  int64_t five = 5;
  ASSERT_EQ(nibble_model_bind_input(model, 0, values.data(), &five, 1),
            NIBBLE_OK);
  ASSERT_EQ(nibble_model_bind_output(model, 0, &total, sizeof(total)),
            NIBBLE_OK);
  ASSERT_EQ(nibble_model_run(model), NIBBLE_OK);
  EXPECT_DOUBLE_EQ(total, 1.5 + 2.25 - 4 + static_cast<double>(1e-3f) + 8);

  // An empty input may have no data.
  int64_t zero = 0;
  ASSERT_EQ(nibble_model_bind_input(model, 0, nullptr, &zero, 1), NIBBLE_OK);
  ASSERT_EQ(nibble_model_run(model), NIBBLE_OK);
  EXPECT_EQ(total, 0.0);
  nibble_model_close(model);
}

TEST(ModelTest, UsableFromC99) {
  std::vector<float> values = {1, 2, 3.5f};
  nibble_status status = NIBBLE_ERROR_IO;
  EXPECT_EQ(c_api_sum(values.data(), 3, &status), 6.5);
  EXPECT_EQ(status, NIBBLE_OK) << nibble_last_error();
  c_api_sum(values.data(), -3, &status);
  EXPECT_EQ(status, NIBBLE_ERROR_MISMATCH);
}

// A model defined in this file, to inspect the descriptors invoke() gets.
std::vector<std::vector<int64_t>> recordedArgs;
const int64_t kRecShapeIn[] = {-1, 2, 3};
const int64_t kRecShapeParam[] = {3};
const int64_t kRecShapeOut[] = {4};
const nibble_tensor_desc kRecInputs[] = {
    {"a", NIBBLE_DTYPE_I32, 3, kRecShapeIn},
    {"s", NIBBLE_DTYPE_U8, 0, nullptr}};
const nibble_tensor_desc kRecParams[] = {
    {"p", NIBBLE_DTYPE_F64, 1, kRecShapeParam}};
const nibble_tensor_desc kRecOutputs[] = {
    {"out", NIBBLE_DTYPE_I64, 1, kRecShapeOut}};

void ignoreRunner(nibble_parallel_runner) {}

int32_t recordInvoke(void **args) {
  const int ranks[] = {3, 0, 1, 1};
  recordedArgs.clear();
  for (int i = 0; i < 4; ++i) {
    const int64_t *words = static_cast<const int64_t *>(args[i]);
    recordedArgs.emplace_back(words, words + 3 + 2 * ranks[i]);
  }
  return 0;
}

const nibble_arg_desc kRecArgs[] = {{NIBBLE_ARG_INPUT, 0},
                                    {NIBBLE_ARG_INPUT, 1},
                                    {NIBBLE_ARG_WEIGHT, 0},
                                    {NIBBLE_ARG_OUTPUT, 0}};
const nibble_entry_desc kRecEntries[] = {
    {"record", 2, 1, 4, kRecInputs, kRecOutputs, kRecArgs, recordInvoke}};

nibble_model_abi recordingAbi() {
  nibble_model_abi abi = {};
  abi.abi_version = NIBBLE_MODEL_ABI_VERSION;
  abi.name = "record";
  abi.num_entries = 1;
  abi.num_weights = 1;
  abi.entries = kRecEntries;
  abi.weights = kRecParams;
  abi.weights_file = "rec.safetensors";
  abi.set_parallel_runner = ignoreRunner;
  return abi;
}

TEST(ModelTest, DescriptorsHaveIdentityStrides) {
  TempDir dir;
  std::vector<double> p = {1, 2, 3};
  // Header padded so the F64 data sits at an offset ≡ 4 (mod 8): the runtime
  // must hand invoke() an 8-byte aligned copy.
  std::string archive =
      buildSafeTensors({{"p", "F64", {3}, bytesOf(p)}}, "", 8, 4);
  ASSERT_TRUE(writeFile(dir.file("rec.safetensors"), archive));
  nibble_model_abi abi = recordingAbi();
  nibble_model *model = nullptr;
  ASSERT_EQ(nibble_model_open_abi(&abi, dir.path().c_str(), &model), NIBBLE_OK)
      << nibble_last_error();
  std::vector<int32_t> a(5 * 2 * 3);
  uint8_t s = 1;
  std::vector<int64_t> out(4);
  int64_t shape[] = {5, 2, 3};
  ASSERT_EQ(nibble_model_bind_input(model, 0, a.data(), shape, 3), NIBBLE_OK);
  ASSERT_EQ(nibble_model_bind_input(model, 1, &s, nullptr, 0), NIBBLE_OK);
  ASSERT_EQ(nibble_model_bind_output(model, 0, out.data(), 32), NIBBLE_OK);
  ASSERT_EQ(nibble_model_run(model), NIBBLE_OK);

  ASSERT_EQ(recordedArgs.size(), 4u);
  int64_t aAddress = reinterpret_cast<intptr_t>(a.data());
  EXPECT_EQ(recordedArgs[0],
            (std::vector<int64_t>{aAddress, aAddress, 0, 5, 2, 3, 6, 3, 1}));
  int64_t sAddress = reinterpret_cast<intptr_t>(&s);
  EXPECT_EQ(recordedArgs[1], (std::vector<int64_t>{sAddress, sAddress, 0}));
  const std::vector<int64_t> &param = recordedArgs[2];
  EXPECT_EQ(param[0], param[1]);
  EXPECT_EQ(param[1] % 8, 0) << "param not aligned to its element size";
  EXPECT_EQ(param[2], 0);
  EXPECT_EQ(param[3], 3);
  EXPECT_EQ(param[4], 1);
  const double *pData = reinterpret_cast<const double *>(param[1]);
  EXPECT_EQ(pData[0], 1.0);
  EXPECT_EQ(pData[2], 3.0);
  int64_t outAddress = reinterpret_cast<intptr_t>(out.data());
  EXPECT_EQ(recordedArgs[3],
            (std::vector<int64_t>{outAddress, outAddress, 0, 4, 1}));
  nibble_model_close(model);
}

TEST(ModelTest, MissingLibrary) {
  TempDir dir;
  nibble_model *model = reinterpret_cast<nibble_model *>(&dir);
  expectError(nibble_model_open(dir.file("absent.so").c_str(), &model),
              NIBBLE_ERROR_IO, {"cannot load model library", "absent.so"});
  EXPECT_EQ(model, nullptr);
}

TEST(ModelTest, NotASharedLibrary) {
  TempDir dir;
  ASSERT_TRUE(writeFile(dir.file("text.so"), "hello"));
  nibble_model *model = nullptr;
  expectError(nibble_model_open(dir.file("text.so").c_str(), &model),
              NIBBLE_ERROR_IO, {"text.so"});
}

TEST(ModelTest, LibraryWithoutTheSymbol) {
  ModelDir dir(FAKE_NO_SYMBOL_LIBRARY);
  nibble_model *model = nullptr;
  expectError(nibble_model_open(dir.libraryPath().c_str(), &model),
              NIBBLE_ERROR_ABI,
              {dir.libraryPath(), "no symbol nibble_model_get_abi"});
  EXPECT_EQ(model, nullptr);
}

TEST(ModelTest, AbiVersionMismatch) {
  ModelDir dir(FAKE_V99_LIBRARY);
  nibble_model *model = nullptr;
  expectError(nibble_model_open(dir.libraryPath().c_str(), &model),
              NIBBLE_ERROR_ABI,
              {dir.libraryPath(), "ABI version 99",
               "supports version " + std::to_string(NIBBLE_MODEL_ABI_VERSION)});
  EXPECT_EQ(model, nullptr);
}

TEST(ModelTest, InconsistentAbiDescriptions) {
  nibble_model *model = nullptr;
  expectError(nibble_model_open_abi(nullptr, ".", &model), NIBBLE_ERROR_ABI,
              {"NULL"});
  nibble_model_abi abi = *fake_sum_model_abi();
  abi.set_parallel_runner = nullptr;
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"set_parallel_runner"});
  abi = *fake_sum_model_abi();
  abi.num_entries = 0;
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"no entry points"});

  // Entry-level errors, on a copy of the sum model's entry.
  nibble_entry_desc entry = fake_sum_model_abi()->entries[0];
  abi = *fake_sum_model_abi();
  abi.entries = &entry;
  entry.invoke = nullptr;
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"no invoke function of entry 'sum'"});
  entry = fake_sum_model_abi()->entries[0];
  const int64_t badShape[] = {-2};
  nibble_tensor_desc bad[] = {{"values", NIBBLE_DTYPE_F32, 1, badShape}};
  entry.inputs = bad;
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"input 'values' of entry 'sum'", "dimension -2"});
  bad[0].shape = nullptr;
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"invalid rank"});
  bad[0] = {nullptr, NIBBLE_DTYPE_F32, 0, nullptr};
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"input 0 of entry 'sum' has no name"});
  bad[0] = {"values", static_cast<nibble_dtype>(42), 0, nullptr};
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"unknown dtype 42"});
  entry = fake_sum_model_abi()->entries[0];
  entry.num_inputs = -1;
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"invalid input list of entry 'sum'"});

  // Arguments must name existing tensors, each input and output once.
  entry = fake_sum_model_abi()->entries[0];
  nibble_arg_desc args[] = {{NIBBLE_ARG_INPUT, 0}, {NIBBLE_ARG_OUTPUT, 1}};
  entry.args = args;
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"argument 1 of entry 'sum' has index 1", "has 1 tensors"});
  args[1] = {NIBBLE_ARG_INPUT, 0};
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"input 'values' of entry 'sum' is passed 2 times"});
  args[1] = {NIBBLE_ARG_STATE, 0};
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"argument 1", "has 0 tensors"});
  args[1] = {7, 0};
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"unknown role 7"});

  // Weights and states must be static.
  abi = *fake_linear_model_abi();
  const int64_t dynamic[] = {-1};
  nibble_tensor_desc dynamicWeight[] = {{"w", NIBBLE_DTYPE_F32, 1, dynamic},
                                        {"b", NIBBLE_DTYPE_F32, 1, dynamic}};
  abi.weights = dynamicWeight;
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"weight 'w'", "only inputs and outputs may be dynamic"});
  abi = *fake_accumulator_model_abi();
  abi.states = dynamicWeight;
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"state 'w'", "only inputs and outputs may be dynamic"});
  abi = *fake_accumulator_model_abi();
  const char *const nullProperty[] = {"kind", nullptr};
  abi.num_properties = 1;
  abi.properties = nullProperty;
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"property string 1 is NULL"});

  abi = *fake_linear_model_abi();
  abi.weights_file = nullptr;
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"2 weights but no weights_file"});
  abi = *fake_linear_model_abi();
  abi.num_weights = -1;
  expectError(nibble_model_open_abi(&abi, ".", &model), NIBBLE_ERROR_ABI,
              {"invalid weight list"});
  EXPECT_EQ(model, nullptr);
}

/// Opens the accumulator model with its weights in `dir`.
nibble_model *openAccumulator(const TempDir &dir) {
  nibble_model *model = nullptr;
  EXPECT_EQ(nibble_model_open_abi(fake_accumulator_model_abi(),
                                  dir.path().c_str(), &model),
            NIBBLE_OK)
      << nibble_last_error();
  return model;
}

/// Runs "add" on `x` then "read" into `count` floats.
std::vector<float> addAndRead(nibble_model *model, std::vector<float> x,
                              int64_t count) {
  EXPECT_EQ(nibble_model_select_entry(model, "add"), NIBBLE_OK);
  int64_t two = 2;
  EXPECT_EQ(nibble_model_bind_input(model, 0, x.data(), &two, 1), NIBBLE_OK);
  EXPECT_EQ(nibble_model_run(model), NIBBLE_OK) << nibble_last_error();
  EXPECT_EQ(nibble_model_select_entry(model, "read"), NIBBLE_OK);
  std::vector<float> y(static_cast<size_t>(count), -1.0f);
  EXPECT_EQ(nibble_model_bind_output_shaped(
                model, 0, y.data(), y.size() * sizeof(float), &count, 1),
            NIBBLE_OK)
      << nibble_last_error();
  EXPECT_EQ(nibble_model_run(model), NIBBLE_OK) << nibble_last_error();
  return y;
}

TEST(ModelTest, EntryPointsStatesAndBoundWeights) {
  TempDir dir;
  ASSERT_TRUE(writeFile(dir.file("fake_linear.safetensors"), linearArchive()));
  nibble_model *model = openAccumulator(dir);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(nibble_model_num_entries(model), 2);
  EXPECT_STREQ(nibble_model_entry_name(model, 1), "read");
  EXPECT_STREQ(nibble_model_property(model, "kind"), "accumulator");
  EXPECT_EQ(nibble_model_property(model, "absent"), nullptr);
  ASSERT_EQ(nibble_model_num_states(model), 1);
  nibble_tensor_desc info;
  void *data = nullptr;
  ASSERT_EQ(nibble_model_state(model, 0, &info, &data), NIBBLE_OK);
  EXPECT_STREQ(info.name, "acc");
  auto *acc = static_cast<float *>(data);
  EXPECT_EQ(acc[0], 0.0f) << "states start at zero";

  // acc += x * b, with b the bound weight (linearWeightB()).
  std::vector<float> b = linearWeightB();
  std::vector<float> y = addAndRead(model, {1, 2}, 5);
  EXPECT_EQ(y, (std::vector<float>{b[0], 2 * b[1], b[0], 2 * b[1], b[0]}));
  y = addAndRead(model, {3, 0}, 2);
  EXPECT_EQ(y, (std::vector<float>{4 * b[0], 2 * b[1]}));
  EXPECT_EQ(acc[0], 4 * b[0]) << "the state is updated in place";

  // A second session shares the weights, not the state.
  nibble_model *second = openAccumulator(dir);
  ASSERT_NE(second, nullptr);
  y = addAndRead(second, {1, 1}, 2);
  EXPECT_EQ(y, (std::vector<float>{b[0], b[1]}));
  nibble_model_close(second);
  // The first still runs on the shared (still mapped) weights.
  y = addAndRead(model, {0, 1}, 2);
  EXPECT_EQ(y, (std::vector<float>{4 * b[0], 3 * b[1]}));

  ASSERT_EQ(nibble_model_reset_states(model), NIBBLE_OK);
  EXPECT_EQ(acc[0], 0.0f);
  EXPECT_EQ(acc[1], 0.0f);
  nibble_model_close(model);
}

TEST(ModelTest, EntryPointAndStateErrors) {
  TempDir dir, other;
  ASSERT_TRUE(writeFile(dir.file("fake_linear.safetensors"), linearArchive()));
  ASSERT_TRUE(
      writeFile(other.file("fake_linear.safetensors"), linearArchive()));
  nibble_model *model = openAccumulator(dir);
  ASSERT_NE(model, nullptr);
  expectError(nibble_model_select_entry(model, "decode"),
              NIBBLE_ERROR_INVALID_ARGUMENT,
              {"no entry point 'decode'", "it has: add, read"});
  ASSERT_EQ(nibble_model_select_entry(model, "read"), NIBBLE_OK);
  size_t bytes = 0;
  expectError(nibble_model_output_bytes(model, 0, &bytes),
              NIBBLE_ERROR_MISMATCH,
              {"output 'y' of entry 'read'", "dynamic shape [?]",
               "nibble_model_bind_output_shaped"});
  float y[4];
  expectError(nibble_model_bind_output(model, 0, y, sizeof(y)),
              NIBBLE_ERROR_MISMATCH, {"dynamic shape"});
  int64_t four = 4, five = 5;
  expectError(nibble_model_bind_output_shaped(model, 0, y, sizeof(y), &five, 1),
              NIBBLE_ERROR_MISMATCH,
              {"output 'y'", "16 bytes is too small", "F32 [5] needs 20"});
  int64_t matrix[] = {2, 2};
  expectError(
      nibble_model_bind_output_shaped(model, 0, y, sizeof(y), matrix, 2),
      NIBBLE_ERROR_MISMATCH, {"expected rank 1"});
  expectError(nibble_model_run(model), NIBBLE_ERROR_NOT_BOUND,
              {"output 'y' of entry 'read' is not bound"});
  ASSERT_EQ(nibble_model_bind_output_shaped(model, 0, y, sizeof(y), &four, 1),
            NIBBLE_OK);
  expectError(nibble_model_state(model, 1, nullptr, nullptr),
              NIBBLE_ERROR_INVALID_ARGUMENT,
              {"state index 1 out of range", "1 states"});
  // The code holds one set of bound weights: a second session must use the
  // same archive.
  nibble_model *clash = nullptr;
  expectError(nibble_model_open_abi(fake_accumulator_model_abi(),
                                    other.path().c_str(), &clash),
              NIBBLE_ERROR_MISMATCH,
              {"already open with the weights", dir.path(), other.path()});
  EXPECT_EQ(clash, nullptr);
  nibble_model_close(model);
  // Once closed, another archive is fine.
  clash = openAccumulator(other);
  EXPECT_NE(clash, nullptr);
  nibble_model_close(clash);
}

int32_t rejectInvoke(void **) { return 1; }

TEST(ModelTest, EntryPointRejectingItsArguments) {
  nibble_entry_desc entry = fake_sum_model_abi()->entries[0];
  entry.invoke = rejectInvoke;
  nibble_model_abi abi = *fake_sum_model_abi();
  abi.entries = &entry;
  nibble_model *model = nullptr;
  ASSERT_EQ(nibble_model_open_abi(&abi, nullptr, &model), NIBBLE_OK);
  float value = 1;
  double total = 0;
  int64_t one = 1;
  ASSERT_EQ(nibble_model_bind_input(model, 0, &value, &one, 1), NIBBLE_OK);
  ASSERT_EQ(nibble_model_bind_output(model, 0, &total, sizeof(total)),
            NIBBLE_OK);
  expectError(nibble_model_run(model), NIBBLE_ERROR_INVALID_ARGUMENT,
              {"entry 'sum' of model 'fake_sum' rejected its arguments"});
  nibble_model_close(model);
}

TEST(ModelTest, WeightsFileMissing) {
  ModelDir dir(FAKE_LINEAR_LIBRARY, nullptr, /*withWeights=*/false);
  nibble_model *model = nullptr;
  expectError(nibble_model_open(dir.libraryPath().c_str(), &model),
              NIBBLE_ERROR_IO,
              {dir.weightsPath(), "cannot open", "No such file"});
  EXPECT_EQ(model, nullptr);
}

TEST(ModelTest, WeightsResolvedNextToTheLibraryOrAbsolute) {
  TempDir dir;
  ASSERT_TRUE(writeFile(dir.file("fake_linear.safetensors"), linearArchive()));
  nibble_model *model = nullptr;
  // Relative to weights_dir.
  ASSERT_EQ(nibble_model_open_abi(fake_linear_model_abi(), dir.path().c_str(),
                                  &model),
            NIBBLE_OK)
      << nibble_last_error();
  nibble_model_close(model);
  // Not found in the current directory.
  expectError(nibble_model_open_abi(fake_linear_model_abi(), nullptr, &model),
              NIBBLE_ERROR_IO, {"./fake_linear.safetensors"});
  // An absolute weights_file ignores weights_dir.
  nibble_model_abi abi = *fake_linear_model_abi();
  std::string absolute = dir.file("fake_linear.safetensors");
  abi.weights_file = absolute.c_str();
  ASSERT_EQ(nibble_model_open_abi(&abi, "/nonexistent", &model), NIBBLE_OK)
      << nibble_last_error();
  nibble_model_close(model);
}

TEST(ModelTest, OpenInstallsTheThreadPool) {
  // The sum model has no weights, so it opens anywhere.
  nibble_model *model = nullptr;
  ASSERT_EQ(nibble_model_open_abi(fake_sum_model_abi(), nullptr, &model),
            NIBBLE_OK)
      << nibble_last_error();
  EXPECT_EQ(fake_installed_runner(), &nibble_parallel_for);
  nibble_model_close(model);
}

TEST(ModelTest, ParamMissingFromTheArchive) {
  std::string archive =
      buildSafeTensors({{"w", "F32", {2, 3}, bytesOf(linearWeightW())}});
  ModelDir dir(FAKE_LINEAR_LIBRARY, &archive);
  nibble_model *model = nullptr;
  expectError(nibble_model_open(dir.libraryPath().c_str(), &model),
              NIBBLE_ERROR_MISMATCH,
              {dir.weightsPath(), "weight 'b' (F32 [2])", "missing"});
}

TEST(ModelTest, ParamDTypeMismatch) {
  std::string archive =
      buildSafeTensors({{"w", "F16", {2, 3}, std::string(12, '\0')},
                        {"b", "F32", {2}, bytesOf(linearWeightB())}});
  expectError(
      openWithArchive(archive), NIBBLE_ERROR_MISMATCH,
      {"weight 'w' is F16 [2, 3] in the archive", "model expects F32 [2, 3]"});
  // A safetensors dtype nibble has no nibble_dtype for.
  archive = buildSafeTensors({{"w", "U32", {2, 3}, std::string(24, '\0')},
                              {"b", "F32", {2}, bytesOf(linearWeightB())}});
  expectError(openWithArchive(archive), NIBBLE_ERROR_MISMATCH,
              {"weight 'w' is U32 [2, 3]"});
}

TEST(ModelTest, ParamShapeMismatch) {
  std::string archive =
      buildSafeTensors({{"w", "F32", {3, 2}, bytesOf(linearWeightW())},
                        {"b", "F32", {2}, bytesOf(linearWeightB())}});
  expectError(
      openWithArchive(archive), NIBBLE_ERROR_MISMATCH,
      {"weight 'w' is F32 [3, 2] in the archive", "model expects F32 [2, 3]"});
  archive = buildSafeTensors({{"w", "F32", {2, 3}, bytesOf(linearWeightW())},
                              {"b", "F32", {2, 1}, bytesOf(linearWeightB())}});
  expectError(openWithArchive(archive), NIBBLE_ERROR_MISMATCH,
              {"weight 'b' is F32 [2, 1]"});
}

TEST(ModelTest, MalformedArchives) {
  std::string good = linearArchive();
  expectError(openWithArchive(good.substr(0, 5)), NIBBLE_ERROR_FORMAT,
              {"fake_linear.safetensors", "truncated", "5 bytes"});
  expectError(openWithArchive(""), NIBBLE_ERROR_FORMAT,
              {"truncated", "0 bytes"});
  // The header is cut off.
  expectError(openWithArchive(good.substr(0, 40)), NIBBLE_ERROR_FORMAT,
              {"header length", "exceeds"});
  // The data section is cut off.
  expectError(openWithArchive(good.substr(0, good.size() - 4)),
              NIBBLE_ERROR_FORMAT,
              {"tensor \"b\"", "outside the data section"});
  // Garbage instead of JSON.
  std::string garbage = good;
  garbage[8] = '[';
  expectError(openWithArchive(garbage), NIBBLE_ERROR_FORMAT,
              {"malformed header", "expected '{'", "at byte 0"});
  // Overlapping tensors.
  std::string overlapping = rawSafeTensors(
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}",
      std::string(24, '\0'));
  expectError(openWithArchive(overlapping), NIBBLE_ERROR_FORMAT,
              {"\"w\" [0, 24] and \"b\" [16, 24] overlap"});
}

TEST(ModelTest, BindErrors) {
  ModelDir dir;
  nibble_model *model = openOrFail(dir);
  ASSERT_NE(model, nullptr);
  std::vector<float> y(4);
  int64_t shape3[] = {2, 3, 1};
  expectError(nibble_model_bind_input(model, 0, kInput.data(), shape3, 3),
              NIBBLE_ERROR_MISMATCH,
              {"input 'x'", "expected rank 2 [2, 3], got rank 3"});
  int64_t wrongShape[] = {3, 2};
  expectError(nibble_model_bind_input(model, 0, kInput.data(), wrongShape, 2),
              NIBBLE_ERROR_MISMATCH,
              {"input 'x'", "expected shape [2, 3], got [3, 2]"});
  int64_t shape[] = {2, 3};
  expectError(nibble_model_bind_input(model, 0, nullptr, shape, 2),
              NIBBLE_ERROR_INVALID_ARGUMENT, {"input 'x': data is NULL"});
  expectError(nibble_model_bind_input(model, 0, kInput.data(), nullptr, 2),
              NIBBLE_ERROR_INVALID_ARGUMENT, {"shape is NULL"});
  expectError(nibble_model_bind_input(model, 1, kInput.data(), shape, 2),
              NIBBLE_ERROR_INVALID_ARGUMENT,
              {"input index 1 out of range", "1 inputs"});
  expectError(nibble_model_bind_input(model, -1, kInput.data(), shape, 2),
              NIBBLE_ERROR_INVALID_ARGUMENT, {"index -1"});
  expectError(nibble_model_bind_output(model, 0, y.data(), 15),
              NIBBLE_ERROR_MISMATCH,
              {"output 'y'", "15 bytes is too small", "F32 [2, 2] needs 16"});
  expectError(nibble_model_bind_output(model, 0, nullptr, 16),
              NIBBLE_ERROR_INVALID_ARGUMENT, {"output 'y': data is NULL"});
  expectError(nibble_model_bind_output(model, 3, y.data(), 16),
              NIBBLE_ERROR_INVALID_ARGUMENT, {"output index 3"});
  nibble_tensor_desc info;
  expectError(nibble_model_input_info(model, 2, &info),
              NIBBLE_ERROR_INVALID_ARGUMENT, {"input index 2"});
  expectError(nibble_model_output_info(model, 0, nullptr),
              NIBBLE_ERROR_INVALID_ARGUMENT, {"info is NULL"});
  nibble_model_close(model);
}

TEST(ModelTest, DynamicDimensionMustBeNonNegative) {
  nibble_model *model = nullptr;
  ASSERT_EQ(nibble_model_open_abi(fake_sum_model_abi(), nullptr, &model),
            NIBBLE_OK);
  int64_t negative = -1;
  float value = 0;
  expectError(nibble_model_bind_input(model, 0, &value, &negative, 1),
              NIBBLE_ERROR_MISMATCH,
              {"input 'values'", "expected shape [?], got [-1]"});
  int64_t huge = INT64_MAX / 2;
  expectError(nibble_model_bind_input(model, 0, &value, &huge, 1),
              NIBBLE_ERROR_INVALID_ARGUMENT, {"too large"});
  nibble_model_close(model);
}

TEST(ModelTest, RunBeforeBinding) {
  ModelDir dir;
  nibble_model *model = openOrFail(dir);
  ASSERT_NE(model, nullptr);
  expectError(nibble_model_run(model), NIBBLE_ERROR_NOT_BOUND,
              {"input 'x' of entry 'linear' is not bound"});
  int64_t shape[] = {2, 3};
  ASSERT_EQ(nibble_model_bind_input(model, 0, kInput.data(), shape, 2),
            NIBBLE_OK);
  expectError(nibble_model_run(model), NIBBLE_ERROR_NOT_BOUND,
              {"output 'y' of entry 'linear' is not bound"});
  std::vector<float> y(4);
  ASSERT_EQ(nibble_model_bind_output(model, 0, y.data(), 16), NIBBLE_OK);
  ASSERT_EQ(nibble_model_run(model), NIBBLE_OK);
  // A failed rebind leaves the input unbound rather than stale.
  int64_t wrongShape[] = {1, 3};
  EXPECT_NE(nibble_model_bind_input(model, 0, kInput.data(), wrongShape, 2),
            NIBBLE_OK);
  expectError(nibble_model_run(model), NIBBLE_ERROR_NOT_BOUND,
              {"input 'x' of entry 'linear' is not bound"});
  nibble_model_close(model);
}

TEST(ModelTest, NullArguments) {
  nibble_model *model = nullptr;
  expectError(nibble_model_open(nullptr, &model), NIBBLE_ERROR_INVALID_ARGUMENT,
              {"library path is NULL"});
  expectError(nibble_model_open("x.so", nullptr), NIBBLE_ERROR_INVALID_ARGUMENT,
              {"out is NULL"});
  expectError(nibble_model_run(nullptr), NIBBLE_ERROR_INVALID_ARGUMENT,
              {"model is NULL"});
  EXPECT_EQ(nibble_model_num_inputs(nullptr), 0);
  EXPECT_EQ(nibble_model_num_outputs(nullptr), 0);
  EXPECT_EQ(nibble_model_get_model_abi(nullptr), nullptr);
  nibble_model_close(nullptr);
}

TEST(ModelTest, StatusAndDTypeNames) {
  EXPECT_STREQ(nibble_status_string(NIBBLE_OK), "NIBBLE_OK");
  EXPECT_STREQ(nibble_status_string(NIBBLE_ERROR_MISMATCH),
               "NIBBLE_ERROR_MISMATCH");
  EXPECT_STREQ(nibble_status_string(static_cast<nibble_status>(99)),
               "NIBBLE_ERROR_UNKNOWN");
  struct Expected {
    nibble_dtype dtype;
    const char *name;
    size_t size;
  };
  for (const Expected &e :
       std::initializer_list<Expected>{{NIBBLE_DTYPE_F32, "F32", 4},
                                       {NIBBLE_DTYPE_F16, "F16", 2},
                                       {NIBBLE_DTYPE_BF16, "BF16", 2},
                                       {NIBBLE_DTYPE_F64, "F64", 8},
                                       {NIBBLE_DTYPE_I8, "I8", 1},
                                       {NIBBLE_DTYPE_U8, "U8", 1},
                                       {NIBBLE_DTYPE_I16, "I16", 2},
                                       {NIBBLE_DTYPE_I32, "I32", 4},
                                       {NIBBLE_DTYPE_I64, "I64", 8},
                                       {NIBBLE_DTYPE_BOOL, "BOOL", 1}}) {
    EXPECT_STREQ(nibble_dtype_name(e.dtype), e.name);
    EXPECT_EQ(nibble_dtype_size(e.dtype), e.size) << e.name;
  }
  EXPECT_EQ(nibble_dtype_size(static_cast<nibble_dtype>(10)), 0u);
  EXPECT_STREQ(nibble_dtype_name(static_cast<nibble_dtype>(-1)), "?");
}

} // namespace
