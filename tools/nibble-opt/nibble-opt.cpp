//===- nibble-opt.cpp - opt-style driver for nibble passes ----------------===//
//
// mlir-opt with every upstream dialect, extension and pass, plus the nibble
// dialect, the nibble-* passes and pipelines.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "dialects/NibbleDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  nibble::registerNibblePasses();
  nibble::registerNibbleCompilerPasses();
  nibble::registerNibbleCompilerPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<nibble::NibbleDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "nibble optimizer driver\n", registry));
}
