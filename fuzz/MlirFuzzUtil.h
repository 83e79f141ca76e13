//===- MlirFuzzUtil.h - An MLIR context for fuzz harnesses ------*- C++ -*-===//
//
// Creating an MLIRContext and loading its dialects costs more than parsing
// most inputs (milliseconds under ASan), so harnesses share one context
// across consecutive inputs and replace it every kInputsPerContext inputs,
// which bounds the memory its uniqued types and attributes can take. Inputs
// only ever add to those uniquing tables, so a crash reproduces from its
// input alone.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FUZZ_MLIRFUZZUTIL_H
#define NIBBLE_FUZZ_MLIRFUZZUTIL_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <memory>

namespace nibble {
namespace fuzz {

/// Hands out a context with every dialect of `registry` loaded,
/// multithreading off.
class SharedContext {
public:
  static constexpr unsigned kInputsPerContext = 4096;

  explicit SharedContext(mlir::DialectRegistry registry)
      : registry(std::move(registry)) {}

  /// The context for the next input.
  mlir::MLIRContext &next() {
    if (!context || ++uses > kInputsPerContext) {
      context.reset();
      context = std::make_unique<mlir::MLIRContext>(
          registry, mlir::MLIRContext::Threading::DISABLED);
      context->loadAllAvailableDialects();
      uses = 1;
    }
    return *context;
  }

private:
  mlir::DialectRegistry registry;
  std::unique_ptr<mlir::MLIRContext> context;
  unsigned uses = 0;
};

} // namespace fuzz
} // namespace nibble

#endif // NIBBLE_FUZZ_MLIRFUZZUTIL_H
