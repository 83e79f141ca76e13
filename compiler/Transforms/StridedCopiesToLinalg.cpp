//===- StridedCopiesToLinalg.cpp - memref.copy of strided buffers ---------===//
//
// Rewrites memref.copy ops whose source or target is not contiguous into
// linalg.copy, so no call to MLIR's runner-utils `memrefCopy` is generated.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinTypes.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLESTRIDEDCOPIESTOLINALG
#include "compiler/Transforms/Passes.h.inc"
} // namespace nibble

using namespace mlir;

namespace {
/// Whether `type` is a memref whose elements are laid out contiguously in
/// row-major order (what the LLVM lowering copies with a memcpy).
bool isContiguous(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  return memref && memref.getLayout().isIdentity();
}

struct StridedCopiesToLinalgPass
    : public nibble::impl::NibbleStridedCopiesToLinalgBase<
          StridedCopiesToLinalgPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation()->walk([&](memref::CopyOp copy) {
      if (!isContiguous(copy.getSource().getType()) ||
          !isContiguous(copy.getTarget().getType()))
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      OpBuilder builder(copy);
      linalg::CopyOp::create(builder, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      copy.erase();
    }
  }
};
} // namespace
