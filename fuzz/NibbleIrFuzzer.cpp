//===- NibbleIrFuzzer.cpp - Fuzzing the parsing of nibble IR --------------===//
//
// Feeds the input, as MLIR text, to the MLIR parser with the nibble dialect
// (and func, arith, tensor, math, which nibble IR uses around it)
// registered: the #nibble.scheme attribute, every op's custom assembly
// format and verifier. A module that parses and verifies must print, parse
// again and print the same text (the custom syntax round-trips).
//
//===----------------------------------------------------------------------===//

#include "fuzz/FuzzUtil.h"
#include "fuzz/MlirFuzzUtil.h"
#include "dialects/NibbleDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/raw_ostream.h"

namespace {

nibble::fuzz::SharedContext *contexts;

std::string print(mlir::ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os);
  return text;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  mlir::DialectRegistry registry;
  registry.insert<nibble::NibbleDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::tensor::TensorDialect,
                  mlir::math::MathDialect>();
  contexts = new nibble::fuzz::SharedContext(std::move(registry));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext &context = contexts->next();
  std::string lastError;
  mlir::ScopedDiagnosticHandler silence(
      &context, [&](mlir::Diagnostic &diagnostic) {
        lastError = diagnostic.str();
        return mlir::success();
      });
  mlir::ParserConfig config(&context, /*verifyAfterParse=*/true);
  // MLIR's lexer expects its buffer to end in a NUL, as every file buffer
  // does (MemoryBuffer::getFile, mlir-opt); libFuzzer's input does not, so
  // parse a copy (std::string keeps a NUL after its size()).
  std::string text(reinterpret_cast<const char *>(data), size);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, config);
  if (!module)
    return 0;
  std::string printed = print(*module);
  mlir::OwningOpRef<mlir::ModuleOp> reparsed =
      mlir::parseSourceString<mlir::ModuleOp>(printed, config);
  if (!reparsed) {
    llvm::errs() << "printed module:\n" << printed << "\nerror: " << lastError
                 << "\n";
    nibble::fuzz::fail("a printed module does not parse again");
  }
  if (print(*reparsed) != printed) {
    llvm::errs() << "printed module:\n"
                 << printed << "\nprinted again:\n"
                 << print(*reparsed) << "\n";
    nibble::fuzz::fail("a module prints differently after a round trip");
  }
  return 0;
}
