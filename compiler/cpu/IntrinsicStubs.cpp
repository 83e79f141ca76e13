//===- IntrinsicStubs.cpp - Portable functions standing for intrinsics ----===//

#include "compiler/cpu/IntrinsicStubs.h"
#include "compiler/cpu/KernelFunction.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace nibble;

func::FuncOp nibble::getOrCreateTableLookup(ModuleOp module,
                                            SymbolTable &symbols,
                                            Location loc) {
  constexpr StringLiteral name = "__nibble_table_lookup_16xf32";
  if (auto existing = symbols.lookup<func::FuncOp>(name))
    return existing;
  MLIRContext *ctx = module.getContext();
  auto tableType = VectorType::get({16}, Float32Type::get(ctx));
  auto codesType = VectorType::get({16}, IntegerType::get(ctx, 32));
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto func = func::FuncOp::create(
      b, loc, name,
      FunctionType::get(ctx, {tableType, codesType}, {tableType}));
  func.setPrivate();
  func->setAttr(kLlvmIntrinsicAttrName,
                b.getStringAttr("llvm.x86.avx512.permvar.sf.512"));
  symbols.insert(func);
  b.setInsertionPointToStart(func.addEntryBlock());
  SmallVector<Value> elements;
  for (int64_t i = 0; i < 16; ++i) {
    // vpermps reads the low 4 bits of each code.
    Value code = arith::AndIOp::create(
        b, loc, vector::ExtractOp::create(b, loc, func.getArgument(1), i),
        arith::ConstantIntOp::create(b, loc, b.getI32Type(), 15));
    Value position =
        arith::IndexCastUIOp::create(b, loc, b.getIndexType(), code);
    elements.push_back(vector::ExtractOp::create(
        b, loc, func.getArgument(0), ArrayRef<OpFoldResult>{position}));
  }
  func::ReturnOp::create(
      b, loc,
      ValueRange{vector::FromElementsOp::create(b, loc, tableType, elements)});
  return func;
}

func::FuncOp nibble::getOrCreateDotProduct(ModuleOp module,
                                           SymbolTable &symbols, Location loc,
                                           int64_t lanes, StringRef intrinsic) {
  std::string name = "__nibble_dot_u8s8_" + std::to_string(lanes) + "xi32";
  if (!intrinsic.empty())
    name += "_intrinsic";
  if (auto existing = symbols.lookup<func::FuncOp>(name))
    return existing;
  MLIRContext *ctx = module.getContext();
  Type i32 = IntegerType::get(ctx, 32);
  auto accType = VectorType::get({lanes}, i32);
  auto bytesType = VectorType::get({4 * lanes}, IntegerType::get(ctx, 8));
  auto wideType = VectorType::get({4 * lanes}, i32);
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto func = func::FuncOp::create(
      b, loc, name,
      FunctionType::get(ctx, {accType, bytesType, bytesType}, {accType}));
  func.setPrivate();
  if (!intrinsic.empty())
    func->setAttr(kLlvmIntrinsicAttrName, b.getStringAttr(intrinsic));
  symbols.insert(func);
  b.setInsertionPointToStart(func.addEntryBlock());
  Value a = arith::ExtUIOp::create(b, loc, wideType, func.getArgument(1));
  Value s = arith::ExtSIOp::create(b, loc, wideType, func.getArgument(2));
  Value products = arith::MulIOp::create(b, loc, a, s);
  // Lane i adds products 4i .. 4i + 3: four strided shuffles, all 1-D (an
  // n-D form leaves casts the LLVM lowering does not take).
  Value sum = func.getArgument(0);
  for (int64_t j = 0; j < 4; ++j) {
    SmallVector<int64_t> positions;
    for (int64_t i = 0; i < lanes; ++i)
      positions.push_back(4 * i + j);
    sum = arith::AddIOp::create(
        b, loc, sum,
        vector::ShuffleOp::create(b, loc, products, products, positions));
  }
  func::ReturnOp::create(b, loc, ValueRange{sum});
  return func;
}

std::string nibble::dotProductIntrinsic(bool isAArch64, int64_t lanes) {
  if (isAArch64)
    return lanes == 4 ? "llvm.aarch64.neon.usdot.v4i32.v16i8" : "";
  switch (lanes) {
  case 16:
    return "llvm.x86.avx512.vpdpbusd.512";
  case 8:
    return "llvm.x86.avx512.vpdpbusd.256";
  case 4:
    return "llvm.x86.avx512.vpdpbusd.128";
  default:
    return "";
  }
}
