//===- ModelMain.cpp - main() of executables built by nibblec -------------===//
//
// The entry point nibblec links into a standalone model executable, next to
// the model's code and libnibble_runtime.a:
//
//   ./model [--input] x.npy ... --output y.npy ...
//
// One input file per model input, in order, and one --output per output.
// --help prints the model's interface. The weights are resolved next to the
// executable (the directory of /proc/self/exe). Exit codes: 0 on success, 1
// when the model, its weights or a file fail, 2 on a usage error.
//
//===----------------------------------------------------------------------===//

#include "runtime/Npy.h"
#include "runtime/nibble_runtime.h"

#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

using namespace nibble::runtime;

namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

/// Prints "<program>: error: <message>" to stderr and returns `code`.
int reportError(const char *program, const std::string &message, int code) {
  std::fprintf(stderr, "%s: error: %s\n", program, message.c_str());
  if (code == kExitUsage)
    std::fprintf(stderr,
                 "run '%s --help' for the model's inputs and "
                 "outputs\n",
                 program);
  return code;
}

/// Describes one tensor for --help: "name  F32 [?, 3]  (<f4)".
std::string describeTensor(const nibble_tensor_desc &desc) {
  std::string text =
      std::string(desc.name) + "  " + nibble_dtype_name(desc.dtype) + " [";
  for (int32_t i = 0; i < desc.rank; ++i) {
    if (i != 0)
      text += ", ";
    text +=
        desc.shape[i] == -1 ? std::string("?") : std::to_string(desc.shape[i]);
  }
  text += "]";
  const char *descr = npyDescr(desc.dtype);
  text += descr ? std::string("  (.npy '") + descr + "')"
                : std::string("  (no .npy equivalent)");
  return text;
}

/// Lists the names of `count` tensors, comma-separated.
std::string listNames(const nibble_tensor_desc *descs, int32_t count) {
  std::string text;
  for (int32_t i = 0; i < count; ++i)
    text += (i ? ", " : "") + std::string(descs[i].name);
  return text;
}

void printHelp(const char *program, const nibble_model_abi *abi) {
  std::printf("usage: %s [--input] IN.npy ... --output OUT.npy ...\n\n",
              program);
  std::printf("Runs the compiled model '%s' on .npy files: one input file per\n"
              "model input, in order, and one --output per model output.\n"
              "Dimensions shown as ? take the size of the given array.\n\n",
              abi->entry_name ? abi->entry_name : "?");
  if (abi->weights_file)
    std::printf("weights: %s (next to the executable)\n\n", abi->weights_file);
  std::printf("inputs:\n");
  for (int32_t i = 0; i < abi->num_inputs; ++i)
    std::printf("  %s\n", describeTensor(abi->inputs[i]).c_str());
  std::printf("outputs:\n");
  for (int32_t i = 0; i < abi->num_outputs; ++i)
    std::printf("  %s\n", describeTensor(abi->outputs[i]).c_str());
}

/// The directory of the running executable, or "." if unknown.
std::string executableDirectory() {
  char buffer[PATH_MAX];
  ssize_t length = ::readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (length <= 0)
    return ".";
  std::string path(buffer, static_cast<size_t>(length));
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// Parses the command line into input and output files; returns false with
/// `error` set on a usage error.
bool parseArguments(int argc, char **argv, std::vector<std::string> &inputs,
                    std::vector<std::string> &outputs, bool &help,
                    std::string &error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
      continue;
    }
    std::vector<std::string> *list = nullptr;
    std::string value;
    for (const char *option : {"--input", "--output"}) {
      std::string name = option;
      if (arg == name || arg == name.substr(1, 2)) {
        if (i + 1 >= argc) {
          error = "option " + arg + " needs a file name";
          return false;
        }
        value = argv[++i];
      } else if (arg.compare(0, name.size() + 1, name + "=") == 0) {
        value = arg.substr(name.size() + 1);
      } else {
        continue;
      }
      list = name == "--input" ? &inputs : &outputs;
    }
    if (!list) {
      if (arg.size() > 1 && arg[0] == '-') {
        error = "unknown option '" + arg + "'";
        return false;
      }
      list = &inputs;
      value = arg;
    }
    list->push_back(value);
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  const char *program = argc > 0 ? argv[0] : "model";
  const nibble_model_abi *abi = nibble_model_get_abi();
  std::vector<std::string> inputFiles, outputFiles;
  bool help = false;
  std::string error;
  if (!parseArguments(argc, argv, inputFiles, outputFiles, help, error))
    return reportError(program, error, kExitUsage);
  nibble_model *model = nullptr;
  if (!abi || abi->abi_version != NIBBLE_MODEL_ABI_VERSION) {
    // Fails, with the runtime's message.
    nibble_model_open_abi(abi, ".", &model);
    return reportError(program, nibble_last_error(), kExitError);
  }
  if (help) {
    printHelp(program, abi);
    return 0;
  }

  auto countError = [&](const char *kind, int32_t expected,
                        const nibble_tensor_desc *descs, size_t given) {
    return std::string("the model takes ") + std::to_string(expected) + " " +
           kind + (expected == 1 ? "" : "s") + " (" +
           listNames(descs, expected) + "), got " + std::to_string(given) +
           " " + kind + " file" + (given == 1 ? "" : "s");
  };
  if (inputFiles.size() != static_cast<size_t>(abi->num_inputs))
    return reportError(
        program,
        countError("input", abi->num_inputs, abi->inputs, inputFiles.size()),
        kExitUsage);
  if (outputFiles.size() != static_cast<size_t>(abi->num_outputs))
    return reportError(program,
                       countError("output", abi->num_outputs, abi->outputs,
                                  outputFiles.size()),
                       kExitUsage);

  if (nibble_model_open_abi(abi, executableDirectory().c_str(), &model) !=
      NIBBLE_OK)
    return reportError(program, nibble_last_error(), kExitError);
  struct Closer {
    nibble_model *model;
    ~Closer() { nibble_model_close(model); }
  } closer{model};

  std::vector<NpyArray> inputs(inputFiles.size());
  for (size_t i = 0; i < inputFiles.size(); ++i) {
    const nibble_tensor_desc &desc = abi->inputs[i];
    const std::string &file = inputFiles[i];
    if (readNpy(file, inputs[i]) != NIBBLE_OK)
      return reportError(program, nibble_last_error(), kExitError);
    if (inputs[i].dtype != desc.dtype) {
      const char *expected = npyDescr(desc.dtype);
      return reportError(program,
                         file + ": input '" + desc.name + "' expects dtype " +
                             nibble_dtype_name(desc.dtype) + " (.npy '" +
                             (expected ? expected : "none") + "'), found " +
                             nibble_dtype_name(inputs[i].dtype) + " (.npy '" +
                             npyDescr(inputs[i].dtype) + "')",
                         kExitError);
    }
    if (nibble_model_bind_input(model, static_cast<int32_t>(i),
                                inputs[i].data.data(), inputs[i].shape.data(),
                                static_cast<int32_t>(inputs[i].shape.size())) !=
        NIBBLE_OK)
      return reportError(program, file + ": " + nibble_last_error(),
                         kExitError);
  }

  std::vector<std::vector<uint8_t>> outputs(outputFiles.size());
  for (size_t i = 0; i < outputFiles.size(); ++i) {
    const nibble_tensor_desc &desc = abi->outputs[i];
    if (!npyDescr(desc.dtype))
      return reportError(program,
                         outputFiles[i] + ": output '" + desc.name +
                             "' has dtype " + nibble_dtype_name(desc.dtype) +
                             ", which .npy files cannot hold",
                         kExitError);
    size_t bytes = 0;
    nibble_model_output_bytes(model, static_cast<int32_t>(i), &bytes);
    outputs[i].resize(bytes);
    if (nibble_model_bind_output(model, static_cast<int32_t>(i),
                                 outputs[i].data(), bytes) != NIBBLE_OK)
      return reportError(program, nibble_last_error(), kExitError);
  }

  if (nibble_model_run(model) != NIBBLE_OK)
    return reportError(program, nibble_last_error(), kExitError);

  for (size_t i = 0; i < outputFiles.size(); ++i) {
    const nibble_tensor_desc &desc = abi->outputs[i];
    if (writeNpy(outputFiles[i], desc.dtype, desc.shape,
                 static_cast<size_t>(desc.rank), outputs[i].data(),
                 outputs[i].size()) != NIBBLE_OK)
      return reportError(program, nibble_last_error(), kExitError);
  }
  return 0;
}
