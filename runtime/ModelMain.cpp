//===- ModelMain.cpp - main() of executables built by nibblec -------------===//
//
// The entry point nibblec links into a standalone model executable, next to
// the model's code and libnibble_runtime.a:
//
//   ./model [--input] x.npy ... --output y.npy ...
//
// See ModelDriver.h for the arguments; the weights are resolved next to the
// executable (the directory of /proc/self/exe).
//
//===----------------------------------------------------------------------===//

#include "runtime/ModelDriver.h"

int main(int argc, char **argv) {
  nibble::runtime::DriverModel model;
  model.linkedAbi = nibble_model_get_abi();
  return nibble::runtime::runModelDriver(
      argc > 0 ? argv[0] : "model", argc > 0 ? argc - 1 : 0, argv + 1, model);
}
