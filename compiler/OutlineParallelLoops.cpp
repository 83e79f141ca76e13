//===- OutlineParallelLoops.cpp - scf.parallel -> parallel-for calls ------===//
//
// Moves the body of every outermost, large enough scf.parallel into a
// function over a range [begin, end) of its first dimension, and replaces the
// loop by a call of that function over the whole range. The function carries
// the kParallelBodyAttrName marker; after lowering to the LLVM dialect,
// nibble-parallel-calls-to-runtime turns the call into a parallel-for that
// splits the range across threads.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLEOUTLINEPARALLELLOOPS
#include "compiler/Passes.h.inc"
} // namespace nibble

using namespace mlir;
using namespace nibble;

namespace {

/// Work estimates saturate here, so that dynamic bounds and deep nests never
/// overflow.
constexpr int64_t kUnknownWork = int64_t(1) << 40;

/// `a * b`, saturated at kUnknownWork.
int64_t saturatingMul(int64_t a, int64_t b) {
  if (a != 0 && b > kUnknownWork / a)
    return kUnknownWork;
  return std::min(a * b, kUnknownWork);
}

/// The trip count of a loop dimension, or kUnknownWork when a bound is not
/// a constant.
int64_t tripCount(Value lower, Value upper, Value step) {
  APInt lb, ub, st;
  if (!matchPattern(lower, m_ConstantInt(&lb)) ||
      !matchPattern(upper, m_ConstantInt(&ub)) ||
      !matchPattern(step, m_ConstantInt(&st)) || !st.isStrictlyPositive())
    return kUnknownWork;
  int64_t span = ub.getSExtValue() - lb.getSExtValue();
  return span <= 0 ? 0 : (span + st.getSExtValue() - 1) / st.getSExtValue();
}

/// Estimated work of the loops nested in `region`: the iterations of the
/// innermost loops, each loop body counting at least one unit.
int64_t nestedWork(Region &region);

/// Iterations of `loop` (scf.for or scf.parallel) times the work of one.
int64_t loopWork(Operation *loop) {
  int64_t trips = 1;
  if (auto forOp = dyn_cast<scf::ForOp>(loop))
    trips = tripCount(forOp.getLowerBound(), forOp.getUpperBound(),
                      forOp.getStep());
  if (auto parallel = dyn_cast<scf::ParallelOp>(loop))
    for (auto [lb, ub, step] :
         llvm::zip(parallel.getLowerBound(), parallel.getUpperBound(),
                   parallel.getStep()))
      trips = saturatingMul(trips, tripCount(lb, ub, step));
  return saturatingMul(trips,
                       std::max<int64_t>(1, nestedWork(loop->getRegion(0))));
}

int64_t nestedWork(Region &region) {
  int64_t work = 0;
  for (Operation &op : region.getOps()) {
    if (isa<scf::ForOp, scf::ParallelOp>(op))
      work = std::min(work + loopWork(&op), kUnknownWork);
    else
      for (Region &nested : op.getRegions())
        work = std::min(work + nestedWork(nested), kUnknownWork);
  }
  return work;
}

struct OutlineParallelLoopsPass
    : public nibble::impl::NibbleOutlineParallelLoopsBase<
          OutlineParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (func.isExternal() || func->hasAttr(kParallelBodyAttrName))
        continue;
      SmallVector<scf::ParallelOp> loops;
      func.walk<WalkOrder::PreOrder>([&](scf::ParallelOp loop) {
        if (loop.getNumResults() == 0 && loopWork(loop) >= minWork)
          loops.push_back(loop);
        // Only outermost loops: the threads split the outer dimension.
        return WalkResult::skip();
      });
      Operation *insertAfter = func;
      for (scf::ParallelOp loop : loops)
        insertAfter = outline(loop, func, insertAfter, symbols);
    }
  }

  /// Replaces `loop` (in `func`) by a call of a new function, placed after
  /// `insertAfter`, that runs the iterations [begin, end) of the loop's first
  /// dimension. Returns the new function.
  func::FuncOp outline(scf::ParallelOp loop, func::FuncOp func,
                       Operation *insertAfter, SymbolTable &symbols) {
    Location loc = loop.getLoc();
    MLIRContext *context = &getContext();

    // Values the new function needs: everything the loop reads from above,
    // except constants, which are cloned (so that LLVM still sees them).
    SetVector<Value> used;
    getUsedValuesDefinedAbove(loop.getRegion(), used);
    used.insert(loop->getOperands().begin(), loop->getOperands().end());
    SmallVector<Value> captured;
    SmallVector<Operation *> constants;
    for (Value value : used) {
      Operation *def = value.getDefiningOp();
      if (def && def->getNumOperands() == 0 &&
          def->hasTrait<OpTrait::ConstantLike>())
        constants.push_back(def);
      else
        captured.push_back(value);
    }

    // func.func private @<func>_parallel(%begin, %end, captured...)
    Type index = IndexType::get(context);
    SmallVector<Type> argTypes = {index, index};
    for (Value value : captured)
      argTypes.push_back(value.getType());
    OpBuilder builder(func);
    builder.setInsertionPointAfter(insertAfter);
    auto body = func::FuncOp::create(builder, loc,
                                     (func.getSymName() + "_parallel").str(),
                                     FunctionType::get(context, argTypes, {}));
    body.setPrivate();
    body->setAttr(kParallelBodyAttrName, UnitAttr::get(context));
    symbols.insert(body); // Makes the name unique.

    Block *entry = body.addEntryBlock();
    builder.setInsertionPointToStart(entry);
    IRMapping mapping;
    for (Operation *constant : constants)
      builder.clone(*constant, mapping);
    for (auto [value, argument] :
         llvm::zip(captured, entry->getArguments().drop_front(2)))
      mapping.map(value, argument);
    Value one = arith::ConstantIndexOp::create(builder, loc, 1);
    Value lower0 = mapping.lookup(loop.getLowerBound()[0]);
    Value step0 = mapping.lookup(loop.getStep()[0]);
    SmallVector<Value> oldIvs = loop.getInductionVars();
    auto cloneBody = [&](OpBuilder &b, Value iv0, ValueRange ivs) {
      mapping.map(oldIvs[0], iv0);
      for (auto [old, iv] :
           llvm::zip(ArrayRef<Value>(oldIvs).drop_front(), ivs))
        mapping.map(old, iv);
      for (Operation &op : loop.getBody()->without_terminator())
        b.clone(op, mapping);
    };
    scf::ForOp::create(
        builder, loc, entry->getArgument(0), entry->getArgument(1), one,
        ValueRange(), [&](OpBuilder &b, Location l, Value i, ValueRange) {
          // The first dimension's induction variable: lower + i * step.
          Value iv0 = arith::AddIOp::create(
              b, l, lower0, arith::MulIOp::create(b, l, i, step0));
          if (loop.getNumLoops() == 1) {
            cloneBody(b, iv0, {});
          } else {
            auto remap = [&](OperandRange values) {
              return llvm::map_to_vector(values.drop_front(), [&](Value v) {
                return mapping.lookup(v);
              });
            };
            scf::ParallelOp::create(
                b, l, remap(loop.getLowerBound()), remap(loop.getUpperBound()),
                remap(loop.getStep()),
                [&](OpBuilder &nb, Location, ValueRange ivs) {
                  cloneBody(nb, iv0, ivs);
                });
          }
          scf::YieldOp::create(b, l);
        });
    func::ReturnOp::create(builder, loc);

    // At the loop: call it on [0, number of iterations of dimension 0).
    builder.setInsertionPoint(loop);
    Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
    Value span = arith::SubIOp::create(builder, loc, loop.getUpperBound()[0],
                                       loop.getLowerBound()[0]);
    Value trips = arith::MaxSIOp::create(
        builder, loc, zero,
        arith::CeilDivSIOp::create(builder, loc, span, loop.getStep()[0]));
    SmallVector<Value> operands = {zero, trips};
    operands.append(captured);
    func::CallOp::create(builder, loc, body, operands);
    loop.erase();
    return body;
  }
};

} // namespace
