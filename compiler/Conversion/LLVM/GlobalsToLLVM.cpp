//===- GlobalsToLLVM.cpp - Module-level weights as bound pointer slots ----===//
//
// nibble.global i becomes an internal LLVM global `__nibble_global_slot_<i>`
// holding a pointer; nibble.global_buffer loads that pointer into a memref
// descriptor of the global's static shape; `__nibble_bind_globals(void **)`
// fills the slots. The weights themselves never enter the binary.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LLVM/Passes.h"
#include "compiler/Transforms/ModelAbi.h"
#include "dialects/NibbleOps.h"

#include "mlir/Conversion/LLVMCommon/MemRefBuilder.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLEGLOBALSTOLLVM
#include "compiler/Conversion/LLVM/Passes.h.inc"
} // namespace nibble

using namespace mlir;
using namespace nibble;

namespace {
struct GlobalsToLLVMPass
    : public nibble::impl::NibbleGlobalsToLLVMBase<GlobalsToLLVMPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    OpBuilder builder(ctx);
    builder.setInsertionPointToEnd(module.getBody());

    // One pointer slot per global, filled from the pointer at the global's
    // weight index (module order when the globals have none).
    llvm::StringMap<std::string> slotOf;
    SmallVector<std::string> slots;
    SmallVector<int64_t> pointerIndex;
    SmallVector<GlobalOp> globals(module.getOps<GlobalOp>());
    size_t numIndexed = llvm::count_if(globals, [](GlobalOp global) {
      return global->hasAttr(kWeightIndexAttrName);
    });
    for (auto [position, global] : llvm::enumerate(globals)) {
      auto index = global->getAttrOfType<IntegerAttr>(kWeightIndexAttrName);
      if (numIndexed != 0 && (!index || index.getInt() < 0)) {
        global.emitOpError("needs a non-negative ")
            << kWeightIndexAttrName << ", as the module's other globals have";
        return signalPassFailure();
      }
      pointerIndex.push_back(index ? index.getInt()
                                   : static_cast<int64_t>(position));
      std::string slot = "__nibble_global_slot_" + std::to_string(slots.size());
      auto slotOp = LLVM::GlobalOp::create(
          builder, global.getLoc(), ptrType, /*isConstant=*/false,
          LLVM::Linkage::Internal, slot, /*value=*/Attribute());
      Block *init = builder.createBlock(&slotOp.getInitializerRegion());
      builder.setInsertionPointToStart(init);
      Value null = LLVM::ZeroOp::create(builder, global.getLoc(), ptrType);
      LLVM::ReturnOp::create(builder, global.getLoc(), null);
      builder.setInsertionPointToEnd(module.getBody());
      slotOf[global.getSymName()] = slot;
      slots.push_back(slot);
    }

    // void __nibble_bind_globals(void **pointers): each slot from its
    // pointer.
    Location loc = module.getLoc();
    auto bindType =
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptrType});
    auto bind = LLVM::LLVMFuncOp::create(builder, loc, "__nibble_bind_globals",
                                         bindType);
    Block *body = bind.addEntryBlock(builder);
    builder.setInsertionPointToStart(body);
    for (auto [index, slot] : llvm::enumerate(slots)) {
      Value address = LLVM::GEPOp::create(
          builder, loc, ptrType, ptrType, body->getArgument(0),
          ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(pointerIndex[index])});
      Value pointer = LLVM::LoadOp::create(builder, loc, ptrType, address);
      Value slotAddress =
          LLVM::AddressOfOp::create(builder, loc, ptrType, slot);
      LLVM::StoreOp::create(builder, loc, pointer, slotAddress);
    }
    LLVM::ReturnOp::create(builder, loc, ValueRange());

    // Each buffer: a descriptor over the bound pointer, cast back to the
    // memref its (already converted) users unwrap.
    LLVMTypeConverter converter(ctx);
    SmallVector<GlobalBufferOp> buffers;
    module.walk([&](GlobalBufferOp buffer) { buffers.push_back(buffer); });
    for (GlobalBufferOp buffer : buffers) {
      auto it = slotOf.find(buffer.getGlobal());
      if (it == slotOf.end()) {
        buffer.emitOpError("names no nibble.global");
        return signalPassFailure();
      }
      OpBuilder b(buffer);
      Location bloc = buffer.getLoc();
      auto type = cast<MemRefType>(buffer.getResult().getType());
      Value slotAddress =
          LLVM::AddressOfOp::create(b, bloc, ptrType, it->second);
      Value pointer = LLVM::LoadOp::create(b, bloc, ptrType, slotAddress);
      Value descriptor =
          MemRefDescriptor::fromStaticShape(b, bloc, converter, type, pointer);
      auto cast = UnrealizedConversionCastOp::create(b, bloc, type, descriptor);
      buffer.getResult().replaceAllUsesWith(cast.getResult(0));
      buffer.erase();
    }
    for (GlobalOp global : globals)
      global.erase();
    // State declarations have served the ABI and the verifier; nothing of
    // them is left to translate.
    for (StateOp state : llvm::to_vector(module.getOps<StateOp>()))
      state.erase();
  }
};
} // namespace
