//===- ParallelCallsToRuntime.cpp - Parallel bodies -> parallel-for -------===//
//
// Runs on the LLVM dialect, after nibble-outline-parallel-loops and the
// conversion to LLVM. Each call of a parallel body `@body(begin, end, args...)`
// becomes
//
//   store args... into a stack struct `ctx`
//   __nibble_parallel_for(begin, end, @body_task, ctx)
//
// where `@body_task(ctx, begin, end)` loads the arguments back and calls the
// body on a sub-range. __nibble_parallel_for hands the range to the
// runner that the runtime installed with __nibble_set_parallel_runner
// (runtime/nibble_model_abi.h), or runs it on the calling thread when none is
// installed, so compiled code also works without the runtime.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LLVM/Passes.h"
#include "compiler/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/SymbolTable.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLEPARALLELCALLSTORUNTIME
#include "compiler/Conversion/LLVM/Passes.h.inc"
} // namespace nibble

using namespace mlir;
using namespace nibble;

namespace {

constexpr llvm::StringLiteral kRunnerGlobal = "__nibble_parallel_runner";
constexpr llvm::StringLiteral kSetRunner = "__nibble_set_parallel_runner";
constexpr llvm::StringLiteral kParallelFor = "__nibble_parallel_for";

/// The types the generated helpers share.
struct HelperTypes {
  Type ptr, i64, voidType;
  /// void(ptr ctx, i64 begin, i64 end): a task, as nibble_parallel_task.
  LLVM::LLVMFunctionType task;
  /// void(i64 begin, i64 end, ptr task, ptr ctx): nibble_parallel_runner.
  LLVM::LLVMFunctionType runner;

  explicit HelperTypes(MLIRContext *context)
      : ptr(LLVM::LLVMPointerType::get(context)),
        i64(IntegerType::get(context, 64)),
        voidType(LLVM::LLVMVoidType::get(context)),
        task(LLVM::LLVMFunctionType::get(voidType, {ptr, i64, i64})),
        runner(LLVM::LLVMFunctionType::get(voidType, {i64, i64, ptr, ptr})) {}
};

struct ParallelCallsToRuntimePass
    : public nibble::impl::NibbleParallelCallsToRuntimeBase<
          ParallelCallsToRuntimePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    HelperTypes types(&getContext());
    for (StringRef name : {kRunnerGlobal, kSetRunner, kParallelFor})
      if (module.lookupSymbol(name)) {
        module.emitError("nibble-parallel-calls-to-runtime: the module "
                         "already defines '")
            << name << "'";
        return signalPassFailure();
      }
    LLVM::LLVMFuncOp parallelFor = buildRuntimeHooks(module, types);

    SymbolTable symbols(module);
    // Every use of every parallel body, gathered in one walk of the module
    // (a walk per body is quadratic in the size of a real model).
    llvm::StringMap<SmallVector<Operation *>> usesOf;
    for (auto body : module.getOps<LLVM::LLVMFuncOp>())
      if (body->hasAttr(kParallelBodyAttrName) && !body.isExternal())
        usesOf.try_emplace(body.getName());
    // A body is only ever called directly; taking its address is refused
    // below.
    module.walk([&](Operation *op) {
      FlatSymbolRefAttr callee;
      if (auto call = dyn_cast<LLVM::CallOp>(op))
        callee = call.getCalleeAttr();
      else if (auto address = dyn_cast<LLVM::AddressOfOp>(op))
        callee = address.getGlobalNameAttr();
      if (!callee)
        return;
      auto it = usesOf.find(callee.getValue());
      if (it != usesOf.end())
        it->second.push_back(op);
    });
    for (auto body : llvm::to_vector(module.getOps<LLVM::LLVMFuncOp>())) {
      if (!body->hasAttr(kParallelBodyAttrName) || body.isExternal())
        continue;
      LLVM::LLVMFunctionType type = body.getFunctionType();
      if (type.getNumParams() < 2 || type.getParamType(0) != types.i64 ||
          type.getParamType(1) != types.i64 ||
          !isa<LLVM::LLVMVoidType>(type.getReturnType())) {
        body.emitOpError("is marked ")
            << kParallelBodyAttrName
            << " but is not a function (i64 begin, i64 end, ...) -> void";
        return signalPassFailure();
      }
      body.setLinkage(LLVM::Linkage::Internal);
      auto context = LLVM::LLVMStructType::getLiteral(
          &getContext(), type.getParams().drop_front(2));
      // The calls to rewrite, gathered before the task adds its own.
      SmallVector<Operation *> calls = usesOf.lookup(body.getName());
      LLVM::LLVMFuncOp task = buildTask(symbols, body, context, types);
      for (Operation *user : calls) {
        auto call = dyn_cast<LLVM::CallOp>(user);
        if (!call) {
          user->emitOpError("uses parallel body '")
              << body.getName() << "' other than by a direct call";
          return signalPassFailure();
        }
        rewriteCall(call, parallelFor, task, context, types);
      }
    }
  }

  /// Defines the runner global, its setter and the dispatching
  /// __nibble_parallel_for; returns the latter.
  LLVM::LLVMFuncOp buildRuntimeHooks(ModuleOp module,
                                     const HelperTypes &types) {
    Location loc = module.getLoc();
    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());

    // ptr @__nibble_parallel_runner = null
    auto runner = LLVM::GlobalOp::create(
        builder, loc, types.ptr, /*isConstant=*/false, LLVM::Linkage::Internal,
        kRunnerGlobal, Attribute());
    {
      OpBuilder::InsertionGuard guard(builder);
      builder.createBlock(&runner.getInitializerRegion());
      LLVM::ReturnOp::create(builder, loc,
                             LLVM::ZeroOp::create(builder, loc, types.ptr));
    }

    // void __nibble_set_parallel_runner(ptr runner): hidden, so that
    // models loaded into one process each keep their own.
    auto setter = LLVM::LLVMFuncOp::create(
        builder, loc, kSetRunner,
        LLVM::LLVMFunctionType::get(types.voidType, {types.ptr}));
    setter.setVisibility_(LLVM::Visibility::Hidden);
    {
      OpBuilder::InsertionGuard guard(builder);
      Block *entry = setter.addEntryBlock(builder);
      builder.setInsertionPointToStart(entry);
      Value address = LLVM::AddressOfOp::create(builder, loc, runner);
      LLVM::StoreOp::create(builder, loc, entry->getArgument(0), address);
      LLVM::ReturnOp::create(builder, loc, ValueRange());
    }

    // void __nibble_parallel_for(i64 begin, i64 end, ptr task, ptr ctx):
    // the installed runner, or task(ctx, begin, end) when there is none.
    auto parallelFor = LLVM::LLVMFuncOp::create(
        builder, loc, kParallelFor, types.runner, LLVM::Linkage::Internal);
    {
      OpBuilder::InsertionGuard guard(builder);
      Block *entry = parallelFor.addEntryBlock(builder);
      Region &region = parallelFor.getBody();
      Block *serial = builder.createBlock(&region);
      Block *threaded = builder.createBlock(&region);
      Value begin = entry->getArgument(0), end = entry->getArgument(1);
      Value task = entry->getArgument(2), context = entry->getArgument(3);

      builder.setInsertionPointToEnd(entry);
      Value address = LLVM::AddressOfOp::create(builder, loc, runner);
      Value installed = LLVM::LoadOp::create(builder, loc, types.ptr, address);
      Value none =
          LLVM::ICmpOp::create(builder, loc, LLVM::ICmpPredicate::eq, installed,
                               LLVM::ZeroOp::create(builder, loc, types.ptr));
      LLVM::CondBrOp::create(builder, loc, none, serial, threaded);

      builder.setInsertionPointToEnd(serial);
      LLVM::CallOp::create(builder, loc, types.task,
                           ValueRange{task, context, begin, end});
      LLVM::ReturnOp::create(builder, loc, ValueRange());

      builder.setInsertionPointToEnd(threaded);
      LLVM::CallOp::create(builder, loc, types.runner,
                           ValueRange{installed, begin, end, task, context});
      LLVM::ReturnOp::create(builder, loc, ValueRange());
    }
    return parallelFor;
  }

  /// Defines `void <body>_task(ptr ctx, i64 begin, i64 end)`, which loads
  /// the arguments of `body` from the struct `context` at ctx and calls it.
  LLVM::LLVMFuncOp buildTask(SymbolTable &symbols, LLVM::LLVMFuncOp body,
                             LLVM::LLVMStructType context,
                             const HelperTypes &types) {
    Location loc = body.getLoc();
    OpBuilder builder(body);
    builder.setInsertionPointAfter(body);
    auto task =
        LLVM::LLVMFuncOp::create(builder, loc, (body.getName() + "_task").str(),
                                 types.task, LLVM::Linkage::Internal);
    symbols.insert(task);
    Block *entry = task.addEntryBlock(builder);
    builder.setInsertionPointToStart(entry);
    SmallVector<Value> args = {entry->getArgument(1), entry->getArgument(2)};
    for (auto [index, fieldType] : llvm::enumerate(context.getBody())) {
      Value field = LLVM::GEPOp::create(
          builder, loc, types.ptr, context, entry->getArgument(0),
          ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(index)});
      args.push_back(LLVM::LoadOp::create(builder, loc, fieldType, field));
    }
    LLVM::CallOp::create(builder, loc, body, args);
    LLVM::ReturnOp::create(builder, loc, ValueRange());
    return task;
  }

  /// Replaces `call` of a parallel body by a __nibble_parallel_for call.
  void rewriteCall(LLVM::CallOp call, LLVM::LLVMFuncOp parallelFor,
                   LLVM::LLVMFuncOp task, LLVM::LLVMStructType context,
                   const HelperTypes &types) {
    Location loc = call.getLoc();
    // The struct lives in the caller's frame, allocated once at its entry.
    auto caller = call->getParentOfType<LLVM::LLVMFuncOp>();
    OpBuilder builder(&caller.getBody().front(),
                      caller.getBody().front().begin());
    Value one = LLVM::ConstantOp::create(builder, loc, types.i64,
                                         builder.getI64IntegerAttr(1));
    Value storage =
        LLVM::AllocaOp::create(builder, loc, types.ptr, context, one);

    builder.setInsertionPoint(call);
    ValueRange operands = call.getArgOperands();
    for (auto [index, value] : llvm::enumerate(operands.drop_front(2))) {
      Value field = LLVM::GEPOp::create(
          builder, loc, types.ptr, context, storage,
          ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(index)});
      LLVM::StoreOp::create(builder, loc, value, field);
    }
    Value taskAddress = LLVM::AddressOfOp::create(builder, loc, task);
    LLVM::CallOp::create(
        builder, loc, parallelFor,
        ValueRange{operands[0], operands[1], taskAddress, storage});
    call.erase();
  }
};

} // namespace
