//===- nibble-run.cpp - Run a function of a nibble module -----------------===//
//
// nibble-run model.mlir -e mlp --input x.npy --output y.npy
//
// Lowers the module (linears and attention through the kernels generated for
// this CPU, or everything through the reference lowering with
// --kernels=reference), JIT-compiles it and calls the entry function with .npy inputs, writing .npy outputs.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/JitRunner.h"
#include "compiler/Passes.h"
#include "compiler/cpu/Passes.h"
#include "dialects/NibbleDialect.h"
#include "passes/Passes.h"
#include "tools/nibble-run/LlmCommands.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<module.mlir>"),
                                      cl::Required);
static cl::opt<std::string> entryPoint("e", cl::desc("Function to run"),
                                       cl::value_desc("name"), cl::Required);
static cl::list<std::string> inputs("input",
                                    cl::desc("An .npy file per argument, in "
                                             "order"),
                                    cl::value_desc("file.npy"));
static cl::list<std::string> outputs("output",
                                     cl::desc("An .npy file per result, in "
                                              "order"),
                                     cl::value_desc("file.npy"));
static cl::opt<std::string>
    weights("weights",
            cl::desc("Weight archive (overrides the module's nibble.weights)"),
            cl::value_desc("file.safetensors"), cl::init(""));
static cl::opt<unsigned> optLevel("O", cl::desc("LLVM optimization level"),
                                  cl::init(3));
static cl::opt<nibble::KernelChoice>
    kernels("kernels", cl::desc("Lowering of linear layers"),
            cl::init(nibble::KernelChoice::Fast), nibble::kernelChoiceValues());
static cl::opt<unsigned>
    threads("num-threads",
            cl::desc("Threads for parallel loops (0: $NIBBLE_NUM_THREADS, "
                     "else the number of CPUs)"),
            cl::init(0));

/// Prints `message` as an error and returns the tool's failure code.
static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "nibble-run") << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAllPasses();
  nibble::registerNibblePasses();
  nibble::registerNibbleCompilerPasses();
  nibble::registerNibbleCpuPasses();
  cl::ParseCommandLineOptions(
      argc, argv,
      "nibble-run: JIT-run a function of a module on .npy inputs, or an LLM\n"
      "(GGUF file, Hugging Face directory): nibble-run generate | perplexity "
      "| logits MODEL ...\n");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<nibble::NibbleDialect>();
  nibble::registerKernelCallBufferization(registry);
  MLIRContext context(registry);
  // A diagnostic names the op and its location; printing the whole op
  // (a function of a real model) would bury it under megabytes.
  context.printOpOnDiagnostic(false);
  context.loadAllAvailableDialects();
  if (nibble::llmSubcommandChosen())
    return nibble::runLlmSubcommand(context);

  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(inputFile, sourceMgr, {&context});
  if (!module)
    return fail("cannot parse " + inputFile);

  std::vector<nibble::NpyArray> arrays;
  for (const std::string &path : inputs) {
    llvm::Expected<nibble::NpyArray> array = nibble::readNpy(path);
    if (!array)
      return fail(llvm::toString(array.takeError()));
    arrays.push_back(std::move(*array));
  }
  nibble::JitOptions options;
  options.weights = weights;
  options.optLevel = optLevel;
  options.numThreads = threads;
  options.kernels = kernels;
  llvm::Expected<std::vector<nibble::NpyArray>> results =
      nibble::runFunction(*module, entryPoint, arrays, options);
  if (!results)
    return fail(llvm::toString(results.takeError()));
  if (outputs.size() != results->size())
    return fail("'" + entryPoint + "' returns " + llvm::Twine(results->size()) +
                " results but " + llvm::Twine(outputs.size()) +
                " --output files were given");
  for (auto [path, result] : llvm::zip(outputs, *results))
    if (llvm::Error error = nibble::writeNpy(path, result))
      return fail(llvm::toString(std::move(error)));
  return 0;
}
