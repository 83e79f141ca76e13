//===- RunLibraryMain.cpp - nibble-run-lib: run a compiled library --------===//
//
//   nibble-run-lib MODEL.so [--input] x.npy ... --output y.npy ...
//
// Opens a model compiled by `nibblec --emit=lib` through the runtime's C API
// and runs it on .npy files (see ModelDriver.h); the weights are resolved
// next to the library. Built for the host and, with the cross compiler, for
// AArch64, so that AArch64 libraries can run under qemu-aarch64.
//
//===----------------------------------------------------------------------===//

#include "runtime/ModelDriver.h"

#include <cstdio>
#include <cstring>

int main(int argc, char **argv) {
  const char *program = argc > 0 ? argv[0] : "nibble-run-lib";
  if (argc < 2 || argv[1][0] == '-') {
    std::fprintf(stderr,
                 "usage: %s MODEL.so [--input] IN.npy ... --output OUT.npy "
                 "...\n       %s MODEL.so --help   (the model's interface)\n",
                 program, program);
    return argc >= 2 && std::strcmp(argv[1], "--help") == 0 ? 0 : 2;
  }
  nibble::runtime::DriverModel model;
  model.libraryPath = argv[1];
  return nibble::runtime::runModelDriver(program, argc - 2, argv + 2, model);
}
