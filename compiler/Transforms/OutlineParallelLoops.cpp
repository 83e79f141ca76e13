//===- OutlineParallelLoops.cpp - scf.parallel -> parallel-for calls ------===//
//
// Moves the body of every outermost, large enough scf.parallel into a
// function over a range [begin, end) of the loop's leading dimensions,
// linearized, and replaces the loop by a call of that function over the whole
// range. The function carries the kParallelBodyAttrName marker; after
// lowering to the LLVM dialect, nibble-parallel-calls-to-runtime turns the
// call into a parallel-for that splits the range across threads.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLEOUTLINEPARALLELLOOPS
#include "compiler/Transforms/Passes.h.inc"
} // namespace nibble

using namespace mlir;
using namespace nibble;

namespace {

/// Threads split the leading dimensions of a loop until they have at least
/// this many iterations: enough chunks for several threads each.
constexpr int64_t kMinSplitIterations = 64;

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
        // Only outermost loops: nested ones run inside their share.
        return WalkResult::skip();
      });
      Operation *insertAfter = func;
      for (scf::ParallelOp loop : loops)
        insertAfter = outline(loop, func, insertAfter, symbols);
    }
  }

  /// Replaces `loop` (in `func`) by a call of a new function, placed after
  /// `insertAfter`, that runs the iterations [begin, end) of the loop's
  /// leading dimensions, linearized. Returns the new function.
  func::FuncOp outline(scf::ParallelOp loop, func::FuncOp func,
                       Operation *insertAfter, SymbolTable &symbols) {
    Location loc = loop.getLoc();
    MLIRContext *context = &getContext();
    unsigned numSplit = numSplitDims(loop);

    // Values the new function needs: everything the loop reads from above,
    // except constants, which are cloned (so that LLVM still sees them).
    SetVector<Value> used;
    getUsedValuesDefinedAbove(loop.getRegion(), used);
    // The bounds the body needs: all but the upper bound of dimension 0,
    // which only sets the call's range.
    used.insert(loop.getLowerBound().begin(), loop.getLowerBound().end());
    used.insert(loop.getStep().begin(), loop.getStep().end());
    used.insert(std::next(loop.getUpperBound().begin()),
                loop.getUpperBound().end());
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
    auto remap = [&](OperandRange values) {
      return llvm::map_to_vector(values,
                                 [&](Value v) { return mapping.lookup(v); });
    };
    SmallVector<Value> lower = remap(loop.getLowerBound());
    SmallVector<Value> step = remap(loop.getStep());
    SmallVector<Value> upper = remap(loop.getUpperBound().drop_front());
    upper.insert(upper.begin(), Value()); // Dimension 0 needs none.
    // Trip counts of the split dimensions but the first, for delinearizing.
    SmallVector<Value> trips(numSplit);
    for (unsigned d = 1; d < numSplit; ++d)
      trips[d] = buildTripCount(builder, loc, lower[d], upper[d], step[d]);

    SmallVector<Value> oldIvs = loop.getInductionVars();
    Value one = arith::ConstantIndexOp::create(builder, loc, 1);
    scf::ForOp::create(
        builder, loc, entry->getArgument(0), entry->getArgument(1), one,
        ValueRange(), [&](OpBuilder &b, Location l, Value linear, ValueRange) {
          // Split dimension d's index from the linear one (row-major), and
          // its induction variable lower + index * step.
          Value rest = linear;
          for (unsigned d = numSplit; d-- > 0;) {
            Value position = rest;
            if (d > 0) {
              position = arith::RemSIOp::create(b, l, rest, trips[d]);
              rest = arith::DivSIOp::create(b, l, rest, trips[d]);
            }
            mapping.map(oldIvs[d],
                        arith::AddIOp::create(
                            b, l, lower[d],
                            arith::MulIOp::create(b, l, position, step[d])));
          }
          auto cloneBody = [&](OpBuilder &inner) {
            for (Operation &op : loop.getBody()->without_terminator())
              inner.clone(op, mapping);
          };
          if (numSplit == loop.getNumLoops()) {
            cloneBody(b);
          } else {
            // The other dimensions stay a parallel loop.
            scf::ParallelOp::create(
                b, l, ArrayRef(lower).drop_front(numSplit),
                ArrayRef(upper).drop_front(numSplit),
                ArrayRef(step).drop_front(numSplit),
                [&](OpBuilder &nb, Location, ValueRange ivs) {
                  for (auto [old, iv] :
                       llvm::zip(ArrayRef(oldIvs).drop_front(numSplit), ivs))
                    mapping.map(old, iv);
                  cloneBody(nb);
                });
          }
          scf::YieldOp::create(b, l);
        });
    func::ReturnOp::create(builder, loc);

    // At the loop: call it on [0, product of the split trip counts).
    builder.setInsertionPoint(loop);
    Value total;
    for (unsigned d = 0; d < numSplit; ++d) {
      Value count = buildTripCount(builder, loc, loop.getLowerBound()[d],
                                   loop.getUpperBound()[d], loop.getStep()[d]);
      total =
          d == 0 ? count : arith::MulIOp::create(builder, loc, total, count);
    }
    SmallVector<Value> operands = {
        arith::ConstantIndexOp::create(builder, loc, 0), total};
    operands.append(captured);
    func::CallOp::create(builder, loc, body, operands);
    loop.erase();
    return body;
  }

  /// The number of leading dimensions of `loop` that threads split: the
  /// fewest whose iterations reach kMinSplitIterations (a dimension with
  /// dynamic bounds counts as enough), so that a loop over one token still
  /// spreads over the threads through its next dimension.
  static unsigned numSplitDims(scf::ParallelOp loop) {
    unsigned count = 0;
    int64_t iterations = 1;
    while (count < loop.getNumLoops() && iterations < kMinSplitIterations) {
      iterations =
          saturatingMul(iterations, tripCount(loop.getLowerBound()[count],
                                              loop.getUpperBound()[count],
                                              loop.getStep()[count]));
      ++count;
    }
    return count;
  }

  /// max(0, ceil((upper - lower) / step)) as index arithmetic.
  static Value buildTripCount(OpBuilder &builder, Location loc, Value lower,
                              Value upper, Value step) {
    Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
    Value span = arith::SubIOp::create(builder, loc, upper, lower);
    return arith::MaxSIOp::create(
        builder, loc, zero,
        arith::CeilDivSIOp::create(builder, loc, span, step));
  }
};

} // namespace
