//===- KernelFunction.cpp - Kernel functions the providers generate -------===//

#include "compiler/cpu/KernelFunction.h"

using namespace mlir;

MemRefType nibble::kernelBufferType(ArrayRef<int64_t> shape, Type elementType) {
  SmallVector<int64_t> strides(shape.size(), ShapedType::kDynamic);
  strides.back() = 1;
  return MemRefType::get(shape, elementType,
                         StridedLayoutAttr::get(elementType.getContext(),
                                                ShapedType::kDynamic, strides));
}

func::FuncOp nibble::createKernelFunction(ModuleOp module, SymbolTable &symbols,
                                          StringRef name,
                                          TypeRange argumentTypes,
                                          Location loc) {
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto func = func::FuncOp::create(
      b, loc, name, FunctionType::get(module.getContext(), argumentTypes, {}));
  func.setPrivate();
  func->setAttr("passthrough", b.getArrayAttr({b.getStringAttr("noinline")}));
  symbols.insert(func);
  func.addEntryBlock();
  return func;
}
