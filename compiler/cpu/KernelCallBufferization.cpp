//===- KernelCallBufferization.cpp - nibble.kernel_call on buffers --------===//
//
// nibble.kernel_call is in destination style: inputs are read, outputs are
// written in place and become the results. On buffers it is a func.call of
// the kernel, each buffer cast to the kernel's argument type; a buffer whose
// layout cannot be cast (an inner stride other than 1) goes through a
// contiguous copy.
//
//===----------------------------------------------------------------------===//

#include "compiler/cpu/Passes.h"
#include "dialects/NibbleOps.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace nibble;

namespace {

struct KernelCallBufferization
    : public DstBufferizableOpInterfaceExternalModel<KernelCallBufferization,
                                                     KernelCallOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto call = cast<KernelCallOp>(op);
    auto kernel = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
        op, call.getKernelAttr());
    if (!kernel)
      return op->emitOpError("kernel '")
             << call.getKernel() << "' is not a func.func";
    Location loc = op->getLoc();
    SmallVector<Value> arguments, outputs;
    // Outputs the kernel writes into a contiguous copy: (copy, output).
    SmallVector<std::pair<Value, Value>> copyBacks;
    for (auto [index, operand] : llvm::enumerate(op->getOperands())) {
      if (!isa<TensorType>(operand.getType())) {
        arguments.push_back(operand);
        continue;
      }
      FailureOr<Value> buffer = getBuffer(rewriter, operand, options, state);
      if (failed(buffer))
        return failure();
      bool isOutput = index >= call.getInputs().size();
      if (isOutput)
        outputs.push_back(*buffer);
      Type wanted = kernel.getArgumentTypes()[index];
      Value argument = *buffer;
      if (argument.getType() == wanted) {
        arguments.push_back(argument);
        continue;
      }
      if (memref::CastOp::areCastCompatible(argument.getType(), wanted)) {
        arguments.push_back(
            memref::CastOp::create(rewriter, loc, wanted, argument));
        continue;
      }
      // A contiguous copy the kernel can read (and write, for outputs).
      auto type = cast<MemRefType>(argument.getType());
      SmallVector<Value> sizes;
      for (int64_t i = 0; i < type.getRank(); ++i)
        if (type.isDynamicDim(i))
          sizes.push_back(memref::DimOp::create(rewriter, loc, argument, i));
      Value copy = memref::AllocOp::create(
          rewriter, loc,
          MemRefType::get(type.getShape(), type.getElementType()), sizes);
      if (isOutput)
        copyBacks.emplace_back(copy, argument);
      else
        memref::CopyOp::create(rewriter, loc, argument, copy);
      arguments.push_back(memref::CastOp::create(rewriter, loc, wanted, copy));
    }
    func::CallOp::create(rewriter, loc, kernel, arguments);
    for (auto [copy, output] : copyBacks)
      memref::CopyOp::create(rewriter, loc, copy, output);
    replaceOpWithBufferizedValues(rewriter, op, outputs);
    return success();
  }
};

} // namespace

void nibble::registerKernelCallBufferization(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, NibbleDialect *) {
    KernelCallOp::attachInterface<KernelCallBufferization>(*ctx);
  });
}
