//===- ModelMainTest.cpp - Tests of standalone model executables ----------===//
//
// Runs the fake models linked with the runtime's main() (as nibblec links a
// model executable) on .npy files written here, and checks the outputs, the
// --help text, and the messages and exit codes of every error.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "runtime/Npy.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <cstring>

using namespace nibble::runtime;
using namespace nibble::test;

namespace {

/// A directory with a copy of a fake model executable as "model" and, for
/// the linear model, its weights next to it.
class ExeDir {
public:
  explicit ExeDir(const char *exe = FAKE_LINEAR_EXE, bool withWeights = true) {
    EXPECT_TRUE(copyFile(exe, file("model"), 0755));
    if (withWeights) {
      EXPECT_TRUE(writeFile(file("fake_linear.safetensors"), linearArchive()));
    }
  }
  std::string file(const std::string &name) const { return dir.file(name); }

  /// Runs "model <arguments>"; returns the exit code.
  int run(const std::string &arguments) {
    return runCommand("'" + file("model") + "' " + arguments, out, err);
  }

  std::string out, err;

private:
  TempDir dir;
};

/// Writes an F32 .npy file of `shape` and `values` to `path`.
void writeF32(const std::string &path, std::vector<int64_t> shape,
              const std::vector<float> &values) {
  ASSERT_EQ(writeNpy(path, NIBBLE_DTYPE_F32, shape.data(), shape.size(),
                     values.data(), values.size() * sizeof(float)),
            NIBBLE_OK)
      << nibble_last_error();
}

const std::vector<float> kInput = {1, 2, 3, -0.5f, 4, 0.25f};

TEST(ModelMainTest, RunsTheModelOnNpyFiles) {
  ExeDir exe;
  writeF32(exe.file("x.npy"), {2, 3}, kInput);
  ASSERT_EQ(exe.run("'" + exe.file("x.npy") + "' --output '" +
                    exe.file("y.npy") + "'"),
            0)
      << exe.err;
  EXPECT_EQ(exe.err, "");
  NpyArray y;
  ASSERT_EQ(readNpy(exe.file("y.npy"), y), NIBBLE_OK) << nibble_last_error();
  EXPECT_EQ(y.dtype, NIBBLE_DTYPE_F32);
  EXPECT_EQ(y.shape, (std::vector<int64_t>{2, 2}));
  ASSERT_EQ(y.data.size(), 16u);
  std::vector<float> values(4), expected = linearReference(kInput);
  std::memcpy(values.data(), y.data.data(), 16);
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(values[i], expected[i]) << "element " << i;

  // The same with --input and the NAME=FILE spellings, run from elsewhere.
  ASSERT_EQ(exe.run("--input='" + exe.file("x.npy") + "' -o '" +
                    exe.file("y2.npy") + "'"),
            0)
      << exe.err;
  EXPECT_EQ(readFile(exe.file("y2.npy")), readFile(exe.file("y.npy")));
}

TEST(ModelMainTest, DynamicInputAndScalarOutput) {
  ExeDir exe(FAKE_SUM_EXE, /*withWeights=*/false);
  writeF32(exe.file("v.npy"), {5}, {1.5f, 2.25f, -4, 0.5f, 8});
  ASSERT_EQ(exe.run("-i '" + exe.file("v.npy") + "' --output '" +
                    exe.file("t.npy") + "'"),
            0)
      << exe.err;
  NpyArray total;
  ASSERT_EQ(readNpy(exe.file("t.npy"), total), NIBBLE_OK);
  EXPECT_EQ(total.dtype, NIBBLE_DTYPE_F64);
  EXPECT_TRUE(total.shape.empty());
  double value = 0;
  ASSERT_EQ(total.data.size(), 8u);
  std::memcpy(&value, total.data.data(), 8);
  EXPECT_EQ(value, 8.25);
}

TEST(ModelMainTest, HelpDescribesTheModel) {
  ExeDir exe(FAKE_LINEAR_EXE, /*withWeights=*/false);
  ASSERT_EQ(exe.run("--help"), 0) << exe.err;
  EXPECT_NE(exe.out.find("usage: "), std::string::npos) << exe.out;
  EXPECT_NE(exe.out.find("'linear'"), std::string::npos) << exe.out;
  EXPECT_NE(exe.out.find("weights: fake_linear.safetensors"), std::string::npos)
      << exe.out;
  EXPECT_NE(exe.out.find("inputs:\n  x  F32 [2, 3]  (.npy '<f4')\n"),
            std::string::npos)
      << exe.out;
  EXPECT_NE(exe.out.find("outputs:\n  y  F32 [2, 2]  (.npy '<f4')\n"),
            std::string::npos)
      << exe.out;

  ExeDir sum(FAKE_SUM_EXE, /*withWeights=*/false);
  ASSERT_EQ(sum.run("-h"), 0) << sum.err;
  EXPECT_NE(sum.out.find("  values  F32 [?]"), std::string::npos) << sum.out;
  EXPECT_NE(sum.out.find("  total  F64 []  (.npy '<f8')"), std::string::npos)
      << sum.out;
}

TEST(ModelMainTest, UsageErrors) {
  ExeDir exe;
  writeF32(exe.file("x.npy"), {2, 3}, kInput);
  std::string x = "'" + exe.file("x.npy") + "'";
  EXPECT_EQ(exe.run("--output y.npy"), 2);
  EXPECT_NE(exe.err.find("the model takes 1 input (x), got 0 input files"),
            std::string::npos)
      << exe.err;
  EXPECT_NE(exe.err.find("--help"), std::string::npos) << exe.err;
  EXPECT_EQ(exe.run(x + " " + x + " --output y.npy"), 2);
  EXPECT_NE(exe.err.find("got 2 input files"), std::string::npos) << exe.err;
  EXPECT_EQ(exe.run(x), 2);
  EXPECT_NE(exe.err.find("the model takes 1 output (y), got 0 output files"),
            std::string::npos)
      << exe.err;
  EXPECT_EQ(exe.run(x + " --output"), 2);
  EXPECT_NE(exe.err.find("option --output needs a file name"),
            std::string::npos)
      << exe.err;
  EXPECT_EQ(exe.run("--frobnicate"), 2);
  EXPECT_NE(exe.err.find("unknown option '--frobnicate'"), std::string::npos)
      << exe.err;
}

TEST(ModelMainTest, InputErrorsNameTheFile) {
  ExeDir exe;
  std::string y = " --output '" + exe.file("y.npy") + "'";
  // Wrong dtype.
  std::vector<int32_t> ints(6, 1);
  int64_t shape[] = {2, 3};
  ASSERT_EQ(writeNpy(exe.file("ints.npy"), NIBBLE_DTYPE_I32, shape, 2,
                     ints.data(), 24),
            NIBBLE_OK);
  EXPECT_EQ(exe.run("'" + exe.file("ints.npy") + "'" + y), 1);
  EXPECT_NE(exe.err.find("ints.npy: input 'x' expects dtype F32 (.npy "
                         "'<f4'), found I32 (.npy '<i4')"),
            std::string::npos)
      << exe.err;
  // Wrong shape.
  writeF32(exe.file("x32.npy"), {3, 2}, kInput);
  EXPECT_EQ(exe.run("'" + exe.file("x32.npy") + "'" + y), 1);
  EXPECT_NE(
      exe.err.find(
          "x32.npy: input 'x' of entry 'linear': expected shape [2, 3], got "
          "[3, 2]"),
      std::string::npos)
      << exe.err;
  // Wrong rank.
  writeF32(exe.file("x6.npy"), {6}, kInput);
  EXPECT_EQ(exe.run("'" + exe.file("x6.npy") + "'" + y), 1);
  EXPECT_NE(
      exe.err.find("x6.npy: input 'x' of entry 'linear': expected rank 2"),
      std::string::npos)
      << exe.err;
  // Missing and malformed files.
  EXPECT_EQ(exe.run("'" + exe.file("none.npy") + "'" + y), 1);
  EXPECT_NE(exe.err.find("none.npy: cannot open: No such file"),
            std::string::npos)
      << exe.err;
  ASSERT_TRUE(writeFile(exe.file("junk.npy"), "junk"));
  EXPECT_EQ(exe.run("'" + exe.file("junk.npy") + "'" + y), 1);
  EXPECT_NE(exe.err.find("junk.npy: not a .npy file"), std::string::npos)
      << exe.err;
  // Unwritable output.
  writeF32(exe.file("x.npy"), {2, 3}, kInput);
  EXPECT_EQ(exe.run("'" + exe.file("x.npy") + "' --output '" +
                    exe.file("no/dir/y.npy") + "'"),
            1);
  EXPECT_NE(exe.err.find("no/dir/y.npy: cannot create"), std::string::npos)
      << exe.err;
}

TEST(ModelMainTest, MissingOrBadWeights) {
  ExeDir exe(FAKE_LINEAR_EXE, /*withWeights=*/false);
  writeF32(exe.file("x.npy"), {2, 3}, kInput);
  std::string args =
      "'" + exe.file("x.npy") + "' --output '" + exe.file("y.npy") + "'";
  EXPECT_EQ(exe.run(args), 1);
  EXPECT_NE(exe.err.find(exe.file("fake_linear.safetensors") + ": cannot open"),
            std::string::npos)
      << exe.err;
  ASSERT_TRUE(writeFile(
      exe.file("fake_linear.safetensors"),
      buildSafeTensors({{"w", "F32", {2, 3}, bytesOf(linearWeightW())}})));
  EXPECT_EQ(exe.run(args), 1);
  EXPECT_NE(
      exe.err.find("weight 'b' (F32 [2]) of model 'fake_linear' is missing"),
      std::string::npos)
      << exe.err;
}

TEST(ModelMainTest, RunsOnAArch64UnderQemu) {
#if defined(FAKE_LINEAR_EXE_AARCH64) && defined(QEMU_AARCH64)
  ExeDir exe(FAKE_LINEAR_EXE_AARCH64);
  writeF32(exe.file("x.npy"), {2, 3}, kInput);
  std::string model = "'" + exe.file("model") + "' ";
  std::string out, err;
  ASSERT_EQ(runCommand(std::string(QEMU_AARCH64) +
                           " -L /usr/aarch64-linux-gnu " + model + "'" +
                           exe.file("x.npy") + "' --output '" +
                           exe.file("y.npy") + "'",
                       out, err),
            0)
      << err;
  NpyArray y;
  ASSERT_EQ(readNpy(exe.file("y.npy"), y), NIBBLE_OK) << nibble_last_error();
  ASSERT_EQ(y.data.size(), 16u);
  std::vector<float> values(4), expected = linearReference(kInput);
  std::memcpy(values.data(), y.data.data(), 16);
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(values[i], expected[i]) << "element " << i;
  // Errors too, e.g. the missing weights.
  ASSERT_EQ(::remove(exe.file("fake_linear.safetensors").c_str()), 0);
  EXPECT_EQ(runCommand(std::string(QEMU_AARCH64) +
                           " -L /usr/aarch64-linux-gnu " + model + "'" +
                           exe.file("x.npy") + "' --output '" +
                           exe.file("y.npy") + "'",
                       out, err),
            1);
  EXPECT_NE(err.find("fake_linear.safetensors: cannot open"), std::string::npos)
      << err;
#else
  GTEST_SKIP() << "no aarch64-linux-gnu-g++ or qemu-aarch64";
#endif
}

} // namespace
