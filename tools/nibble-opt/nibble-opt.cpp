//===- nibble-opt.cpp - opt-style driver for nibble passes ----------------===//
//
// mlir-opt with every upstream dialect, extension and pass, plus the nibble
// dialect, the nibble-* passes and pipelines. Unlike mlir-opt, the -o file is
// written atomically: to a temporary next to it, renamed into place once the
// whole output is written, so an interrupted run (a full disk, a kill) never
// leaves a truncated file under the output's name.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/cpu/Passes.h"
#include "dialects/NibbleDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::registerAllPasses();
  nibble::registerNibblePasses();
  nibble::registerNibbleCompilerPasses();
  nibble::registerNibbleCpuPasses();
  nibble::registerNibbleCompilerPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<nibble::NibbleDialect>();
  nibble::registerKernelCallBufferization(registry);
  auto [inputFile, outputFile] = mlir::registerAndParseCLIOptions(
      argc, argv, "nibble optimizer driver\n", registry);
  mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();
  if (config.shouldShowDialects()) {
    llvm::outs() << "Available Dialects: ";
    llvm::interleave(registry.getDialectNames(), llvm::outs(), ",");
    llvm::outs() << "\n";
    return EXIT_SUCCESS;
  }
  if (config.shouldListPasses()) {
    mlir::printRegisteredPasses();
    return EXIT_SUCCESS;
  }

  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> input =
      mlir::openInputFile(inputFile, &errorMessage);
  if (!input) {
    llvm::errs() << errorMessage << "\n";
    return EXIT_FAILURE;
  }
  // writeToOutput discards the temporary when the callback fails, and
  // handles "-" (stdout) directly.
  llvm::Error result = llvm::writeToOutput(
      outputFile, [&](llvm::raw_ostream &os) -> llvm::Error {
        if (mlir::failed(
                mlir::MlirOptMain(os, std::move(input), registry, config)))
          return llvm::make_error<llvm::StringError>(
              "", llvm::inconvertibleErrorCode());
        return llvm::Error::success();
      });
  if (!result)
    return EXIT_SUCCESS;
  // The pass pipeline has reported its own diagnostics; only an I/O error
  // carries a message of its own.
  llvm::handleAllErrors(std::move(result), [](const llvm::StringError &error) {
    if (!error.getMessage().empty())
      llvm::errs() << "nibble-opt: error: " << error.getMessage() << "\n";
  });
  return EXIT_FAILURE;
}
