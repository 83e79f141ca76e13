//===- NibbleSchemeFuzzer.cpp - Fuzzing the #nibble.scheme attribute ------===//
//
// Parses the input as the body of a scheme attribute,
// `#nibble.scheme<INPUT>`, through mlir::parseAttribute (the attribute's
// custom parser and its verifier). An attribute that parses must print and
// parse back to the same (uniqued) attribute. Narrower than NibbleIrFuzzer
// and many times faster per input.
//
//===----------------------------------------------------------------------===//

#include "fuzz/FuzzUtil.h"
#include "fuzz/MlirFuzzUtil.h"
#include "dialects/NibbleDialect.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

namespace {
nibble::fuzz::SharedContext *contexts;
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  mlir::DialectRegistry registry;
  registry.insert<nibble::NibbleDialect>();
  contexts = new nibble::fuzz::SharedContext(std::move(registry));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext &context = contexts->next();
  mlir::ScopedDiagnosticHandler silence(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  std::string text = "#nibble.scheme<" +
                     std::string(reinterpret_cast<const char *>(data), size) +
                     ">";
  size_t consumed = 0;
  mlir::Attribute attr = mlir::parseAttribute(text, &context, mlir::Type(),
                                              &consumed);
  if (!attr || consumed != text.size())
    return 0;
  std::string printed;
  llvm::raw_string_ostream os(printed);
  attr.print(os);
  mlir::Attribute again = mlir::parseAttribute(printed, &context);
  if (again != attr) {
    llvm::errs() << "input: " << text << "\nprinted: " << printed << "\n";
    nibble::fuzz::fail("a scheme attribute does not round-trip");
  }
  return 0;
}
