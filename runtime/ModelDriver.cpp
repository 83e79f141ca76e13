//===- ModelDriver.cpp - Run a compiled model on .npy files ---------------===//

#include "runtime/ModelDriver.h"
#include "runtime/Npy.h"
#include "runtime/nibble_runtime.h"

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

namespace nibble::runtime {
namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
/// The model is fine but its interface needs something the driver cannot do
/// yet (a dtype .npy files cannot hold); nibblec uses the same status.
constexpr int kExitUnsupported = 3;

/// How the driver names itself in messages.
struct Names {
  /// Prefix of error messages: the program.
  const char *program;
  /// How to invoke it again, for usage hints: the program, followed by the
  /// library when there is one.
  std::string command;
};

/// Prints "<program>: error: <message>" to stderr (with a --help hint after
/// usage errors) and returns `code`.
int reportError(const Names &names, const std::string &message, int code) {
  std::fprintf(stderr, "%s: error: %s\n", names.program, message.c_str());
  if (code == kExitUsage)
    std::fprintf(stderr,
                 "run '%s --help' for the model's inputs and "
                 "outputs\n",
                 names.command.c_str());
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

void printHelp(const Names &names, const nibble_model_abi *abi,
               const nibble_entry_desc &entry, const char *weightsPlace) {
  std::printf("usage: %s [--entry NAME] [--input] IN.npy ... --output OUT.npy "
              "...\n\n",
              names.command.c_str());
  std::printf(
      "Runs entry point '%s' of the compiled model '%s' on .npy files:\n"
      "one input file per input, in order, and one --output per\n"
      "output. Dimensions shown as ? take the size of the given "
      "array.\n\n",
      entry.name, abi->name ? abi->name : "?");
  std::printf("entry points:");
  for (int32_t i = 0; i < abi->num_entries; ++i)
    std::printf(" %s", abi->entries[i].name);
  std::printf("\n");
  if (abi->weights_file)
    std::printf("weights: %s (%s)\n", abi->weights_file, weightsPlace);
  for (int32_t i = 0; i < abi->num_states; ++i)
    std::printf("state: %s (zero at start)\n",
                describeTensor(abi->states[i]).c_str());
  std::printf("\ninputs:\n");
  for (int32_t i = 0; i < entry.num_inputs; ++i)
    std::printf("  %s\n", describeTensor(entry.inputs[i]).c_str());
  std::printf("outputs:\n");
  for (int32_t i = 0; i < entry.num_outputs; ++i)
    std::printf("  %s\n", describeTensor(entry.outputs[i]).c_str());
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

/// Parses the arguments into input and output files; returns false with
/// `error` set on a usage error.
bool parseArguments(int argc, char **argv, std::vector<std::string> &inputs,
                    std::vector<std::string> &outputs, std::string &entry,
                    bool &help, std::string &error) {
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
      continue;
    }
    std::vector<std::string> *list = nullptr;
    std::string value;
    if (arg == "--entry" || arg.compare(0, 8, "--entry=") == 0) {
      if (arg == "--entry" && i + 1 >= argc) {
        error = "option --entry needs an entry point's name";
        return false;
      }
      entry = arg == "--entry" ? argv[++i] : arg.substr(8);
      continue;
    }
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

int runModelDriver(const char *program, int argc, char **argv,
                   const DriverModel &source) {
  // A write past the file-size limit (RLIMIT_FSIZE) then fails with EFBIG,
  // is reported, and its temporary file removed, instead of killing the
  // program half-way through writing an output.
  std::signal(SIGXFSZ, SIG_IGN);
  Names names{program, program};
  if (source.libraryPath)
    names.command += std::string(" ") + source.libraryPath;
  std::vector<std::string> inputFiles, outputFiles;
  std::string entryName;
  bool help = false;
  std::string error;
  if (!parseArguments(argc, argv, inputFiles, outputFiles, entryName, help,
                      error))
    return reportError(names, error, kExitUsage);

  // A library is opened (with its weights) first; a linked-in model only
  // once the arguments are known to fit it, so --help works without weights.
  nibble_model *model = nullptr;
  struct Closer {
    nibble_model *&model;
    ~Closer() { nibble_model_close(model); }
  } closer{model};
  const nibble_model_abi *abi = source.linkedAbi;
  if (source.libraryPath) {
    if (nibble_model_open(source.libraryPath, &model) != NIBBLE_OK)
      return reportError(names, nibble_last_error(), kExitError);
    abi = nibble_model_get_model_abi(model);
  } else if (!abi || abi->abi_version != NIBBLE_MODEL_ABI_VERSION) {
    // Fails, with the runtime's message.
    nibble_model_open_abi(abi, ".", &model);
    return reportError(names, nibble_last_error(), kExitError);
  }
  // The entry point: --entry, else the first (the description of a linked
  // model is checked when it is opened, so only its shape is relied on
  // here).
  if (!model && (abi->num_entries < 1 || !abi->entries)) {
    nibble_model_open_abi(abi, ".", &model);
    return reportError(names, nibble_last_error(), kExitError);
  }
  const nibble_entry_desc *entry = &abi->entries[0];
  if (!entryName.empty()) {
    entry = nullptr;
    std::string known;
    for (int32_t i = 0; i < abi->num_entries; ++i) {
      if (abi->entries[i].name && entryName == abi->entries[i].name)
        entry = &abi->entries[i];
      known += std::string(i ? ", " : "") +
               (abi->entries[i].name ? abi->entries[i].name : "?");
    }
    if (!entry)
      return reportError(names,
                         "the model has no entry point '" + entryName +
                             "' (it has: " + known + ")",
                         kExitUsage);
  }
  if (help) {
    printHelp(names, abi, *entry,
              source.libraryPath ? "next to the library"
                                 : "next to the executable");
    return 0;
  }

  auto countError = [&](const char *kind, int32_t expected,
                        const nibble_tensor_desc *descs, size_t given) {
    return std::string("the model takes ") + std::to_string(expected) + " " +
           kind + (expected == 1 ? "" : "s") + " (" +
           listNames(descs, expected) + "), got " + std::to_string(given) +
           " " + kind + " file" + (given == 1 ? "" : "s");
  };
  if (inputFiles.size() != static_cast<size_t>(entry->num_inputs))
    return reportError(names,
                       countError("input", entry->num_inputs, entry->inputs,
                                  inputFiles.size()),
                       kExitUsage);
  if (outputFiles.size() != static_cast<size_t>(entry->num_outputs))
    return reportError(names,
                       countError("output", entry->num_outputs, entry->outputs,
                                  outputFiles.size()),
                       kExitUsage);

  if (!model && nibble_model_open_abi(abi, executableDirectory().c_str(),
                                      &model) != NIBBLE_OK)
    return reportError(names, nibble_last_error(), kExitError);
  if (nibble_model_select_entry(model, entry->name) != NIBBLE_OK)
    return reportError(names, nibble_last_error(), kExitError);

  std::vector<NpyArray> inputs(inputFiles.size());
  for (size_t i = 0; i < inputFiles.size(); ++i) {
    const nibble_tensor_desc &desc = entry->inputs[i];
    const std::string &file = inputFiles[i];
    if (!npyDescr(desc.dtype))
      return reportError(names,
                         file + ": input '" + desc.name + "' has dtype " +
                             nibble_dtype_name(desc.dtype) +
                             ", which .npy files cannot hold",
                         kExitUnsupported);
    if (readNpy(file, inputs[i]) != NIBBLE_OK)
      return reportError(names, nibble_last_error(), kExitError);
    if (inputs[i].dtype != desc.dtype) {
      const char *expected = npyDescr(desc.dtype);
      return reportError(names,
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
      return reportError(names, file + ": " + nibble_last_error(), kExitError);
  }

  std::vector<std::vector<uint8_t>> outputs(outputFiles.size());
  for (size_t i = 0; i < outputFiles.size(); ++i) {
    const nibble_tensor_desc &desc = entry->outputs[i];
    if (!npyDescr(desc.dtype))
      return reportError(names,
                         outputFiles[i] + ": output '" + desc.name +
                             "' has dtype " + nibble_dtype_name(desc.dtype) +
                             ", which .npy files cannot hold",
                         kExitUnsupported);
    size_t bytes = 0;
    if (nibble_model_output_bytes(model, static_cast<int32_t>(i), &bytes) !=
        NIBBLE_OK)
      return reportError(names, nibble_last_error(), kExitUnsupported);
    outputs[i].resize(bytes);
    if (nibble_model_bind_output(model, static_cast<int32_t>(i),
                                 outputs[i].data(), bytes) != NIBBLE_OK)
      return reportError(names, nibble_last_error(), kExitError);
  }

  if (nibble_model_run(model) != NIBBLE_OK)
    return reportError(names, nibble_last_error(), kExitError);

  for (size_t i = 0; i < outputFiles.size(); ++i) {
    const nibble_tensor_desc &desc = entry->outputs[i];
    if (writeNpy(outputFiles[i], desc.dtype, desc.shape,
                 static_cast<size_t>(desc.rank), outputs[i].data(),
                 outputs[i].size()) != NIBBLE_OK)
      return reportError(names, nibble_last_error(), kExitError);
  }
  return 0;
}

} // namespace nibble::runtime
