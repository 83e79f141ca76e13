//===- SelectKernels.cpp - Lower linears to generated CPU kernels ---------===//
//
// The CPU provider: each nibble.linear / nibble.qlinear / nibble.attention
// the target has a kernel for becomes a nibble.kernel_call of a kernel
// function generated in the vector dialect (LinearKernel.h,
// AttentionKernel.h). Linear inputs of any rank are flattened to [M, K]
// around the call and the result reshaped back.
//
//===----------------------------------------------------------------------===//

#include "compiler/cpu/AttentionKernel.h"
#include "compiler/cpu/CpuTarget.h"
#include "compiler/cpu/InterleavedWeights.h"
#include "compiler/cpu/LinearKernel.h"
#include "compiler/cpu/Passes.h"
#include "dialects/NibbleOps.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLECPUSELECTKERNELS
#include "compiler/cpu/Passes.h.inc"
} // namespace nibble

using namespace mlir;
using namespace nibble;

namespace {

/// `value` ([..., K], any rank >= 1) as a 2-D tensor [M, K].
Value flattenTo2D(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  int64_t rank = type.getRank();
  if (rank == 2)
    return value;
  if (rank == 1) {
    auto expanded =
        RankedTensorType::get({1, type.getDimSize(0)}, type.getElementType());
    return tensor::ExpandShapeOp::create(
        b, loc, expanded, value, SmallVector<ReassociationIndices>{{0, 1}});
  }
  ReassociationIndices leading;
  for (int64_t i = 0; i + 1 < rank; ++i)
    leading.push_back(i);
  return tensor::CollapseShapeOp::create(
      b, loc, value, SmallVector<ReassociationIndices>{leading, {rank - 1}});
}

/// The 2-D result `flat` [M, N] reshaped to `type`, whose leading dimensions
/// are those of `input`.
Value unflatten(OpBuilder &b, Location loc, Value flat, RankedTensorType type,
                Value input) {
  int64_t rank = type.getRank();
  if (rank == 2)
    return flat;
  if (rank == 1)
    return tensor::CollapseShapeOp::create(
        b, loc, type, flat, SmallVector<ReassociationIndices>{{0, 1}});
  ReassociationIndices leading;
  SmallVector<OpFoldResult> sizes;
  for (int64_t i = 0; i < rank; ++i) {
    if (i + 1 < rank)
      leading.push_back(i);
    if (type.isDynamicDim(i))
      sizes.push_back(tensor::DimOp::create(b, loc, input, i).getResult());
    else
      sizes.push_back(b.getIndexAttr(type.getDimSize(i)));
  }
  return tensor::ExpandShapeOp::create(
      b, loc, type, flat,
      SmallVector<ReassociationIndices>{leading, {rank - 1}}, sizes);
}

/// The operands of `op`'s kernel after x: its own, or with `interleaved`
/// the interleaved tensors its layout operands unpack (codes collapsed to
/// [N / R, bytes / 4, 4 R]).
SmallVector<Value> kernelOperands(OpBuilder &b, Location loc, Operation *op,
                                  bool interleaved) {
  SmallVector<Value> operands(op->getOperands().drop_front());
  auto qlinear = dyn_cast<QLinearOp>(op);
  if (!interleaved || !qlinear)
    return operands;
  for (Value &operand : operands)
    operand = interleavedKernelOperand(b, loc, qlinear, operand);
  return operands;
}

/// Replaces `op` by a kernel_call of `kernel` (on interleaved weights with
/// `interleaved`).
void replaceWithKernelCall(Operation *op, func::FuncOp kernel,
                           bool interleaved) {
  OpBuilder b(op);
  Location loc = op->getLoc();
  Value input = op->getOperand(0);
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  Value x = flattenTo2D(b, loc, input);
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t outputs = resultType.getShape().back();
  auto flatType = RankedTensorType::get({xType.getDimSize(0), outputs},
                                        resultType.getElementType());
  SmallVector<Value> dynamicSizes;
  if (flatType.isDynamicDim(0))
    dynamicSizes.push_back(tensor::DimOp::create(b, loc, x, 0));
  Value init = tensor::EmptyOp::create(b, loc, flatType, dynamicSizes);
  SmallVector<Value> inputs = {x};
  llvm::append_range(inputs, kernelOperands(b, loc, op, interleaved));
  // The unpacks the kernel no longer reads go.
  SmallVector<Operation *> unpacks;
  for (Value operand : op->getOperands())
    if (auto unpack = operand.getDefiningOp<linalg::UnPackOp>())
      unpacks.push_back(unpack);
  auto call =
      KernelCallOp::create(b, loc, TypeRange{flatType},
                           FlatSymbolRefAttr::get(kernel.getSymNameAttr()),
                           inputs, ValueRange{init});
  op->getResult(0).replaceAllUsesWith(
      unflatten(b, loc, call.getResult(0), resultType, input));
  op->erase();
  for (Operation *unpack : unpacks)
    if (unpack->use_empty()) {
      Operation *empty = unpack->getOperand(1).getDefiningOp();
      unpack->erase();
      if (empty && empty->use_empty())
        empty->erase();
    }
}

/// Replaces attention `op` by a kernel_call of `kernel`.
void replaceAttention(AttentionOp op, func::FuncOp kernel) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto type = cast<RankedTensorType>(op.getResult().getType());
  SmallVector<Value> dynamicSizes;
  if (type.isDynamicDim(0))
    dynamicSizes.push_back(tensor::DimOp::create(b, loc, op.getQuery(), 0));
  Value init = tensor::EmptyOp::create(b, loc, type, dynamicSizes);
  auto call = KernelCallOp::create(
      b, loc, TypeRange{type}, FlatSymbolRefAttr::get(kernel.getSymNameAttr()),
      ValueRange{op.getQuery(), op.getKeys(), op.getValues(), op.getStart()},
      ValueRange{init});
  op.getResult().replaceAllUsesWith(call.getResult(0));
  op.erase();
}

struct SelectKernelsPass
    : public nibble::impl::NibbleCpuSelectKernelsBase<SelectKernelsPass> {
  using Base::Base;

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    registerKernelCallBufferization(registry);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    CpuTarget target = triple.empty()
                           ? CpuTarget::host()
                           : CpuTarget::fromFeatures(triple, features);
    if (vectorBits != 0) {
      if (vectorBits != 128 && vectorBits != 256 && vectorBits != 512) {
        module.emitError("vector-bits must be 128, 256 or 512, not ")
            << vectorBits;
        return signalPassFailure();
      }
      target.vectorBits = vectorBits;
    }
    SmallVector<Operation *> linears;
    SmallVector<AttentionOp> attentions;
    module.walk([&](Operation *op) {
      if (isa<LinearOp, QLinearOp>(op))
        linears.push_back(op);
      if (auto attention = dyn_cast<AttentionOp>(op))
        attentions.push_back(attention);
    });
    SymbolTable symbols(module);
    for (AttentionOp op : attentions) {
      std::string whyNot;
      FailureOr<unsigned> lanes = chooseAttentionKernel(op, target, whyNot);
      if (failed(lanes)) {
        if (remarks)
          op->emitRemark("reference lowering: ") << whyNot;
        continue;
      }
      func::FuncOp kernel =
          getOrCreateAttentionKernel(module, symbols, op, *lanes);
      if (remarks)
        op->emitRemark("kernel @")
            << kernel.getSymName() << " (" << *lanes << " lanes)";
      replaceAttention(op, kernel);
    }
    for (Operation *op : linears) {
      std::string whyNot;
      FailureOr<LinearKernelConfig> config =
          chooseLinearKernel(op, target, whyNot);
      if (succeeded(config) && rows != 0) {
        int64_t outputs = cast<RankedTensorType>(op->getResult(0).getType())
                              .getShape()
                              .back();
        if (outputs % rows != 0) {
          op->emitError("rows=") << rows.getValue() << " does not divide the "
                                 << outputs << " outputs";
          return signalPassFailure();
        }
        config->rows = rows;
      }
      if (succeeded(config) && tokens != 0)
        config->tokens = tokens;
      // Panels split into row blocks: only when those tile them (panels of
      // interleaved weights have no row blocks).
      if (succeeded(config) && !config->interleavedRows &&
          config->panelRows % config->rows != 0)
        config->panelRows = 0;
      if (failed(config)) {
        if (remarks)
          op->emitRemark("reference lowering: ") << whyNot;
        continue;
      }
      func::FuncOp kernel =
          getOrCreateLinearKernel(module, symbols, op, *config);
      if (remarks) {
        InFlightDiagnostic remark = op->emitRemark("kernel @");
        remark << kernel.getSymName() << " (" << target.describe() << ", "
               << config->lanes << " lanes, " << config->rows << " rows x "
               << config->tokens << " tokens";
        if (config->singleTokenRows && !config->interleavedRows)
          remark << ", single tokens " << config->singleTokenRows
                 << (config->singleTokenRows == 1 ? " row" : " rows")
                 << " at a time";
        if (config->interleavedRows)
          remark << ", weights interleaved by " << config->interleavedRows
                 << " rows read in place: blocks of " << config->interleavedRows
                 << " rows x " << config->panelTokens
                 << " tokens, then single tokens";
        else if (config->panelRows)
          remark << ", panels of " << config->panelRows << " rows x "
                 << config->panelTokens << " tokens";
        remark << ")";
      }
      replaceWithKernelCall(op, kernel, config->interleavedRows != 0);
    }
  }
};

} // namespace
