//===- ModelDriver.h - Run a compiled model on .npy files -------*- C++ -*-===//
//
// The command line shared by standalone model executables (ModelMain.cpp,
// linked by nibblec next to the model's code) and nibble-run-lib
// (RunLibraryMain.cpp, which opens a model compiled as a shared library):
//
//   [--entry NAME] [--input] x.npy ... --output y.npy ...
//
// (--help: the interface). Runs one entry point (--entry, else the first):
// one input file per input of the entry, in order, and one --output per
// output; states start at zero.
// Weights are resolved next to the executable, or next to the library.
// Exit codes: 0 on success, 1 when the model, its weights or a file fail,
// 2 on a usage error, 3 when an input or output has a dtype .npy files
// cannot hold (bfloat16: unsupported, the status nibblec also uses).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_MODELDRIVER_H
#define NIBBLE_RUNTIME_MODELDRIVER_H

#include "runtime/nibble_model_abi.h"

namespace nibble::runtime {

/// Where the driver's model comes from: exactly one of the two is set.
struct DriverModel {
  /// The model linked into this executable (its nibble_model_get_abi()).
  const nibble_model_abi *linkedAbi = nullptr;
  /// A model compiled as a shared library, opened with nibble_model_open.
  const char *libraryPath = nullptr;
};

/// Runs the model on the .npy files that `args` (the `count` arguments after
/// the program name, and the library if any) name; `program` prefixes
/// messages. Returns the process exit code.
int runModelDriver(const char *program, int count, char **args,
                   const DriverModel &source);

} // namespace nibble::runtime

#endif // NIBBLE_RUNTIME_MODELDRIVER_H
