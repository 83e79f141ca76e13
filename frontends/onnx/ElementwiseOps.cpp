//===- ElementwiseOps.cpp - ONNX elementwise operators --------------------===//
//
// Unary, binary and variadic elementwise operators with numpy-style
// broadcasting, each a linalg.generic whose indexing maps broadcast the
// operands. When every operand is known at import time (shape arithmetic)
// the result is folded to a constant instead.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;

namespace nibble {
namespace onnx_import {

namespace {

/// A scalar of a folded computation: floats in `f`, integers (and bools) in
/// `i`; both are filled when read.
struct Num {
  double f = 0;
  int64_t i = 0;
};

using FoldFn = llvm::function_ref<std::optional<Num>(ArrayRef<Num>)>;

} // namespace

static bool isFloatValue(Value v) { return isa<FloatType>(v.getType()); }

/// The elements of `attr` as Nums.
static std::vector<Num> readNums(DenseElementsAttr attr) {
  std::vector<Num> nums;
  nums.reserve(attr.getNumElements());
  if (isa<FloatType>(attr.getElementType())) {
    for (const APFloat &value : attr.getValues<APFloat>()) {
      double f = value.convertToDouble();
      nums.push_back({f, std::isfinite(f) ? (int64_t)f : 0});
    }
  } else {
    bool isBool = attr.getElementType().isInteger(1);
    for (const APInt &value : attr.getValues<APInt>()) {
      int64_t i = isBool ? (int64_t)value.getZExtValue() : value.getSExtValue();
      nums.push_back({(double)i, i});
    }
  }
  return nums;
}

/// A constant of `type` from Nums.
static DenseElementsAttr writeNums(RankedTensorType type, ArrayRef<Num> nums) {
  Type elementTy = type.getElementType();
  if (auto floatType = dyn_cast<FloatType>(elementTy)) {
    SmallVector<APFloat> values;
    for (const Num &num : nums) {
      APFloat value(num.f);
      bool lost;
      value.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                    &lost);
      values.push_back(value);
    }
    return DenseElementsAttr::get(type, values);
  }
  unsigned width = elementTy.getIntOrFloatBitWidth();
  SmallVector<APInt> values;
  for (const Num &num : nums)
    values.push_back(width == 1 ? APInt(1, num.i != 0)
                                : APInt(width, (uint64_t)num.i,
                                        /*isSigned=*/true));
  return DenseElementsAttr::get(type, values);
}

/// Folds `fold` over known `inputs` broadcast to `shape`; null when an
/// element does not fold.
static DenseElementsAttr foldNary(ArrayRef<DenseElementsAttr> inputs,
                                  ArrayRef<int64_t> shape,
                                  RankedTensorType resultType, FoldFn fold) {
  std::vector<std::vector<Num>> nums;
  for (DenseElementsAttr input : inputs)
    nums.push_back(readNums(input));
  int64_t count = resultType.getNumElements();
  int64_t rank = shape.size();
  std::vector<Num> result(count);
  SmallVector<int64_t> index(rank, 0);
  SmallVector<Num> args(inputs.size());
  for (int64_t flat = 0; flat < count; ++flat) {
    for (size_t k = 0; k < inputs.size(); ++k) {
      ArrayRef<int64_t> inShape =
          cast<RankedTensorType>(inputs[k].getType()).getShape();
      int64_t offset = rank - inShape.size(), linear = 0;
      for (size_t d = 0; d < inShape.size(); ++d)
        linear =
            linear * inShape[d] + (inShape[d] == 1 ? 0 : index[offset + d]);
      args[k] = nums[k][linear];
    }
    std::optional<Num> value = fold(args);
    if (!value)
      return nullptr;
    result[flat] = *value;
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < shape[d])
        break;
      index[d] = 0;
    }
  }
  return writeNums(resultType, result);
}

/// Converts an elementwise node over its inputs `operands` producing
/// `resultElementType` (null: the first operand's element type).
/// `sameType` requires every operand to have the same element type. Folds
/// with `fold` when all operands are known and `fold` is given.
static LogicalResult convertNary(ImportContext &ctx,
                                 ArrayRef<unsigned> operands,
                                 Type resultElementType, bool sameType,
                                 ScalarBodyFn body,
                                 std::optional<FoldFn> fold = std::nullopt) {
  SmallVector<RankedTensorType> types;
  SmallVector<ArrayRef<int64_t>> shapes;
  for (unsigned i : operands) {
    FailureOr<RankedTensorType> type = ctx.inputType(i);
    if (failed(type))
      return failure();
    types.push_back(*type);
  }
  for (RankedTensorType &type : types)
    shapes.push_back(type.getShape());
  if (sameType)
    for (size_t k = 1; k < types.size(); ++k)
      if (types[k].getElementType() != types[0].getElementType())
        return ctx.emitError()
               << "dtype mismatch: input " << operands[k]
               << " has element type " << types[k].getElementType()
               << " but input " << operands[0] << " has "
               << types[0].getElementType();
  FailureOr<SmallVector<int64_t>> shape = broadcastShapes(ctx, shapes);
  if (failed(shape))
    return failure();
  if (!resultElementType)
    resultElementType = types[0].getElementType();
  FailureOr<RankedTensorType> checkedType =
      ctx.checkedTensorType(*shape, resultElementType);
  if (failed(checkedType))
    return failure();
  RankedTensorType resultType = *checkedType;

  if (fold && resultType.getNumElements() <= kMaxFoldElements) {
    SmallVector<DenseElementsAttr> known;
    for (unsigned i : operands) {
      DenseElementsAttr attr = ctx.constantInput(i);
      if (!attr)
        break;
      known.push_back(attr);
    }
    if (known.size() == operands.size())
      if (DenseElementsAttr folded = foldNary(known, *shape, resultType, *fold))
        return ctx.setConstantOutput(0, folded);
  }

  SmallVector<Value> values;
  for (unsigned i : operands) {
    FailureOr<Value> value = ctx.input(i);
    if (failed(value))
      return failure();
    values.push_back(*value);
  }
  Value result = buildElementwise(ctx.getBuilder(), ctx.loc(), values, *shape,
                                  resultElementType, body);
  return ctx.setOutput(0, result);
}

/// Requires input 0 to be a float tensor (for transcendental functions).
static LogicalResult requireFloat(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  if (failed(type))
    return failure();
  if (!isa<FloatType>(type->getElementType()))
    return ctx.emitError() << "dtype mismatch: expected a float tensor, found "
                           << *type;
  return success();
}

/// Whether an input of the current node is uint8 (held as i8 and marked
/// unsigned by the importer). ONNX requires the operands of the binary
/// arithmetic operators to share one type, so then all of them are.
static bool hasUnsignedInput(ImportContext &ctx) {
  for (const std::string &name : ctx.node().input())
    if (!name.empty() && ctx.isUnsigned(name))
      return true;
  return false;
}

/// Marks output 0 unsigned (uint8) when `isUnsigned` and `result` succeeded.
static LogicalResult markUnsignedOutput(ImportContext &ctx, bool isUnsigned,
                                        LogicalResult result) {
  if (succeeded(result) && isUnsigned && ctx.hasOutput(0))
    ctx.markUnsigned(ctx.node().output(0));
  return result;
}

//===----------------------------------------------------------------------===//
// Binary arithmetic
//===----------------------------------------------------------------------===//

/// A binary op that is FloatOp on floats and IntOp on integers (uint8 wraps
/// modulo 256: the same bits as i8 arithmetic), folded with `Fold` on known
/// constants.
template <typename FloatOp, typename IntOp, typename Fold>
static LogicalResult convertWrappingBinary(ImportContext &ctx, Fold fold) {
  bool isUnsigned = hasUnsignedInput(ctx);
  LogicalResult converted = convertNary(
      ctx, {0, 1}, nullptr, true,
      [](OpBuilder &b, Location loc, ValueRange a) -> Value {
        if (isFloatValue(a[0]))
          return FloatOp::create(b, loc, a[0], a[1]);
        return IntOp::create(b, loc, a[0], a[1]);
      },
      [fold](ArrayRef<Num> a) -> std::optional<Num> {
        return Num{fold(a[0].f, a[1].f), fold(a[0].i, a[1].i)};
      });
  return markUnsignedOutput(ctx, isUnsigned, converted);
}

static LogicalResult convertAdd(ImportContext &ctx) {
  return convertWrappingBinary<arith::AddFOp, arith::AddIOp>(
      ctx, [](auto x, auto y) { return x + y; });
}

static LogicalResult convertSub(ImportContext &ctx) {
  return convertWrappingBinary<arith::SubFOp, arith::SubIOp>(
      ctx, [](auto x, auto y) { return x - y; });
}

static LogicalResult convertMul(ImportContext &ctx) {
  return convertWrappingBinary<arith::MulFOp, arith::MulIOp>(
      ctx, [](auto x, auto y) { return x * y; });
}

static LogicalResult convertDiv(ImportContext &ctx) {
  // uint8 divides unsigned; its folding (which reads i8 as signed) is left
  // to the generated code.
  bool isUnsigned = hasUnsignedInput(ctx);
  LogicalResult converted = convertNary(
      ctx, {0, 1}, nullptr, true,
      [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
        if (isFloatValue(a[0]))
          return arith::DivFOp::create(b, loc, a[0], a[1]);
        if (isUnsigned)
          return arith::DivUIOp::create(b, loc, a[0], a[1]);
        return arith::DivSIOp::create(b, loc, a[0], a[1]);
      },
      [&](ArrayRef<Num> a) -> std::optional<Num> {
        if (isUnsigned || (a[1].i == 0 && a[1].f == 0))
          return std::nullopt;
        return Num{a[0].f / a[1].f, a[1].i ? a[0].i / a[1].i : 0};
      });
  return markUnsignedOutput(ctx, isUnsigned, converted);
}

/// Pow of an integer base: the result has the base's type (ONNX). Computed
/// as pow in f64 (libm pow, error under 1 ulp). An integer exponent rounds
/// the result to the nearest integer: exact while |result| < 2^52, where an
/// ulp is at most 0.5 (the operands convert exactly below 2^53). A float
/// exponent truncates it toward zero, as onnxruntime's cast of std::pow.
static LogicalResult convertIntegerPow(ImportContext &ctx) {
  return convertNary(ctx, {0, 1}, nullptr, false,
                     [](OpBuilder &b, Location loc, ValueRange a) -> Value {
                       Type f64 = b.getF64Type();
                       Value base = arith::SIToFPOp::create(b, loc, f64, a[0]);
                       Value e = a[1];
                       bool intExponent = !isFloatValue(e);
                       if (intExponent)
                         e = arith::SIToFPOp::create(b, loc, f64, e);
                       else if (e.getType() != f64)
                         e = arith::ExtFOp::create(b, loc, f64, e);
                       Value power = math::PowFOp::create(b, loc, base, e);
                       if (intExponent)
                         power = math::RoundEvenOp::create(b, loc, power);
                       return arith::FPToSIOp::create(b, loc, a[0].getType(),
                                                      power);
                     });
}

static LogicalResult convertPow(ImportContext &ctx) {
  FailureOr<RankedTensorType> baseType = ctx.inputType(0);
  if (failed(baseType))
    return failure();
  if (baseType->getElementType().isSignlessInteger() &&
      baseType->getElementType().getIntOrFloatBitWidth() > 1)
    return convertIntegerPow(ctx);
  if (failed(requireFloat(ctx)))
    return failure();
  // x^2 and x^0.5 as a multiplication and a square root (exact, as numpy).
  double exponent = 0;
  bool knownScalar = false;
  if (DenseElementsAttr e = ctx.constantInput(1))
    if (e.isSplat()) {
      knownScalar = true;
      exponent = readNums(e)[0].f;
    }
  if (knownScalar && (exponent == 2.0 || exponent == 0.5 || exponent == 1.0))
    return convertNary(ctx, {0}, nullptr, false,
                       [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
                         if (exponent == 2.0)
                           return arith::MulFOp::create(b, loc, a[0], a[0]);
                         if (exponent == 0.5)
                           return math::SqrtOp::create(b, loc, a[0]);
                         return a[0];
                       });
  return convertNary(ctx, {0, 1}, nullptr, false,
                     [](OpBuilder &b, Location loc, ValueRange a) -> Value {
                       Type type = a[0].getType();
                       Value e = a[1];
                       if (!isFloatValue(e))
                         e = arith::SIToFPOp::create(b, loc, type, e);
                       else if (e.getType().getIntOrFloatBitWidth() <
                                type.getIntOrFloatBitWidth())
                         e = arith::ExtFOp::create(b, loc, type, e);
                       else if (e.getType() != type)
                         e = arith::TruncFOp::create(b, loc, type, e);
                       return math::PowFOp::create(b, loc, a[0], e);
                     });
}

//===----------------------------------------------------------------------===//
// Unary functions
//===----------------------------------------------------------------------===//

/// A float-only unary function.
template <typename OpTy>
static LogicalResult convertFloatUnary(ImportContext &ctx) {
  if (failed(requireFloat(ctx)))
    return failure();
  return convertNary(ctx, {0}, nullptr, false,
                     [](OpBuilder &b, Location loc, ValueRange a) -> Value {
                       return OpTy::create(b, loc, a[0]);
                     });
}

static LogicalResult convertSqrt(ImportContext &ctx) {
  if (failed(requireFloat(ctx)))
    return failure();
  return convertNary(
      ctx, {0}, nullptr, false,
      [](OpBuilder &b, Location loc, ValueRange a) -> Value {
        return math::SqrtOp::create(b, loc, a[0]);
      },
      [](ArrayRef<Num> a) -> std::optional<Num> {
        return Num{std::sqrt(a[0].f), 0};
      });
}

static LogicalResult convertReciprocal(ImportContext &ctx) {
  if (failed(requireFloat(ctx)))
    return failure();
  return convertNary(ctx, {0}, nullptr, false,
                     [](OpBuilder &b, Location loc, ValueRange a) -> Value {
                       Value one = buildScalar(b, loc, a[0].getType(), 1.0);
                       return arith::DivFOp::create(b, loc, one, a[0]);
                     });
}

static LogicalResult convertNeg(ImportContext &ctx) {
  return convertNary(
      ctx, {0}, nullptr, false,
      [](OpBuilder &b, Location loc, ValueRange a) -> Value {
        if (isFloatValue(a[0]))
          return arith::NegFOp::create(b, loc, a[0]);
        Value zero = buildScalar(b, loc, a[0].getType(), 0);
        return arith::SubIOp::create(b, loc, zero, a[0]);
      },
      [](ArrayRef<Num> a) -> std::optional<Num> {
        return Num{-a[0].f, -a[0].i};
      });
}

static LogicalResult convertAbs(ImportContext &ctx) {
  return convertNary(
      ctx, {0}, nullptr, false,
      [](OpBuilder &b, Location loc, ValueRange a) -> Value {
        if (isFloatValue(a[0]))
          return math::AbsFOp::create(b, loc, a[0]);
        return math::AbsIOp::create(b, loc, a[0]);
      },
      [](ArrayRef<Num> a) -> std::optional<Num> {
        return Num{std::fabs(a[0].f), a[0].i < 0 ? -a[0].i : a[0].i};
      });
}

static Value buildSigmoid(OpBuilder &b, Location loc, Value x) {
  Value one = buildScalar(b, loc, x.getType(), 1.0);
  Value negated = arith::NegFOp::create(b, loc, x);
  Value exp = math::ExpOp::create(b, loc, negated);
  Value denominator = arith::AddFOp::create(b, loc, one, exp);
  return arith::DivFOp::create(b, loc, one, denominator);
}

static LogicalResult convertSign(ImportContext &ctx) {
  return convertNary(
      ctx, {0}, nullptr, false,
      [](OpBuilder &b, Location loc, ValueRange a) -> Value {
        Type type = a[0].getType();
        Value zero = buildScalar(b, loc, type, 0.0);
        Value one = buildScalar(b, loc, type, 1.0);
        Value minusOne = buildScalar(b, loc, type, -1.0);
        Value positive, negative;
        if (isFloatValue(a[0])) {
          positive = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                           a[0], zero);
          negative = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                           a[0], zero);
        } else {
          positive = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt,
                                           a[0], zero);
          negative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                           a[0], zero);
        }
        // NaN (neither positive nor negative) stays NaN only for floats:
        // sign(NaN) = NaN in numpy; select keeps the input then.
        Value rest =
            isFloatValue(a[0])
                ? Value(arith::SelectOp::create(
                      b, loc,
                      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                            a[0], zero),
                      zero, a[0]))
                : zero;
        Value result =
            arith::SelectOp::create(b, loc, negative, minusOne, rest);
        return arith::SelectOp::create(b, loc, positive, one, result);
      },
      [](ArrayRef<Num> a) -> std::optional<Num> {
        double f = a[0].f > 0 ? 1 : a[0].f < 0 ? -1 : a[0].f;
        int64_t i = a[0].i > 0 ? 1 : a[0].i < 0 ? -1 : 0;
        return Num{f, i};
      });
}

static LogicalResult convertSoftplus(ImportContext &ctx) {
  if (failed(requireFloat(ctx)))
    return failure();
  // log(1 + exp(x)) computed as max(x, 0) + log1p(exp(-|x|)), which does
  // not overflow for large x.
  return convertNary(ctx, {0}, nullptr, false,
                     [](OpBuilder &b, Location loc, ValueRange a) -> Value {
                       Value x = a[0];
                       Value zero = buildScalar(b, loc, x.getType(), 0.0);
                       Value relu = arith::MaximumFOp::create(b, loc, x, zero);
                       Value negAbs = arith::NegFOp::create(
                           b, loc, math::AbsFOp::create(b, loc, x));
                       Value tail = math::Log1pOp::create(
                           b, loc, math::ExpOp::create(b, loc, negAbs));
                       return arith::AddFOp::create(b, loc, relu, tail);
                     });
}

/// Sum or Mean of any number of inputs.
template <bool IsMean> static LogicalResult convertSum(ImportContext &ctx) {
  SmallVector<unsigned> operands;
  for (unsigned i = 0; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i))
      operands.push_back(i);
  if (operands.empty())
    return ctx.emitError() << "needs at least one input";
  if (IsMean && failed(requireFloat(ctx)))
    return failure();
  double count = operands.size();
  return convertNary(
      ctx, operands, nullptr, true,
      [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
        Value result = a[0];
        for (Value v : a.drop_front())
          result = isFloatValue(v)
                       ? Value(arith::AddFOp::create(b, loc, result, v))
                       : Value(arith::AddIOp::create(b, loc, result, v));
        if (IsMean)
          result = arith::DivFOp::create(
              b, loc, result, buildScalar(b, loc, result.getType(), count));
        return result;
      },
      [&](ArrayRef<Num> a) -> std::optional<Num> {
        Num result{0, 0};
        for (const Num &n : a) {
          result.f += n.f;
          result.i += n.i;
        }
        if (IsMean)
          result.f /= count;
        return result;
      });
}

static LogicalResult convertMod(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  if (failed(type))
    return failure();
  bool fmod = ctx.intAttr("fmod", 0);
  bool isFloat = isa<FloatType>(type->getElementType());
  if (isFloat && !fmod)
    return ctx.emitError() << "fmod must be 1 for float inputs";
  // uint8: the unsigned remainder (both fmod conventions agree on it).
  bool isUnsigned = hasUnsignedInput(ctx);
  LogicalResult converted = convertNary(
      ctx, {0, 1}, nullptr, true,
      [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
        if (isFloat)
          return arith::RemFOp::create(b, loc, a[0], a[1]);
        if (isUnsigned)
          return arith::RemUIOp::create(b, loc, a[0], a[1]);
        Value rem = arith::RemSIOp::create(b, loc, a[0], a[1]);
        if (fmod)
          return rem;
        // Python-style: the result takes the divisor's sign.
        Value zero = buildScalar(b, loc, rem.getType(), 0);
        Value remNegative =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, rem, zero);
        Value divisorNegative = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::slt, a[1], zero);
        Value nonzero =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, rem, zero);
        Value differ =
            arith::XOrIOp::create(b, loc, remNegative, divisorNegative);
        Value adjust = arith::AndIOp::create(b, loc, differ, nonzero);
        Value adjusted = arith::AddIOp::create(b, loc, rem, a[1]);
        return arith::SelectOp::create(b, loc, adjust, adjusted, rem);
      },
      [&](ArrayRef<Num> a) -> std::optional<Num> {
        if (isFloat) {
          if (a[1].f == 0)
            return std::nullopt;
          return Num{std::fmod(a[0].f, a[1].f), 0};
        }
        if (isUnsigned || a[1].i == 0)
          return std::nullopt;
        int64_t rem = a[0].i % a[1].i;
        if (!fmod && rem != 0 && ((rem < 0) != (a[1].i < 0)))
          rem += a[1].i;
        return Num{(double)rem, rem};
      });
  return markUnsignedOutput(ctx, isUnsigned, converted);
}

static LogicalResult convertSigmoid(ImportContext &ctx) {
  if (failed(requireFloat(ctx)))
    return failure();
  return convertNary(ctx, {0}, nullptr, false,
                     [](OpBuilder &b, Location loc, ValueRange a) -> Value {
                       return buildSigmoid(b, loc, a[0]);
                     });
}

static LogicalResult convertRelu(ImportContext &ctx) {
  return convertNary(
      ctx, {0}, nullptr, false,
      [](OpBuilder &b, Location loc, ValueRange a) -> Value {
        Value zero = buildScalar(b, loc, a[0].getType(), 0.0);
        if (isFloatValue(a[0]))
          return arith::MaximumFOp::create(b, loc, a[0], zero);
        return arith::MaxSIOp::create(b, loc, a[0], zero);
      },
      [](ArrayRef<Num> a) -> std::optional<Num> {
        return Num{std::max(a[0].f, 0.0), std::max<int64_t>(a[0].i, 0)};
      });
}

static LogicalResult convertGelu(ImportContext &ctx) {
  if (failed(requireFloat(ctx)))
    return failure();
  std::string approximate = ctx.stringAttr("approximate", "none");
  if (approximate != "none" && approximate != "tanh")
    return ctx.emitError() << "unknown approximate='" << approximate
                           << "' (expected 'none' or 'tanh')";
  bool useTanh = approximate == "tanh";
  return convertNary(
      ctx, {0}, nullptr, false,
      [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
        Type type = a[0].getType();
        Value x = a[0];
        Value half = buildScalar(b, loc, type, 0.5);
        Value one = buildScalar(b, loc, type, 1.0);
        Value inner;
        if (useTanh) {
          // tanh(sqrt(2/pi) * (x + 0.044715 x^3))
          Value c = buildScalar(b, loc, type, std::sqrt(2.0 / M_PI));
          Value k = buildScalar(b, loc, type, 0.044715);
          Value x3 = arith::MulFOp::create(
              b, loc, arith::MulFOp::create(b, loc, x, x), x);
          Value sum = arith::AddFOp::create(
              b, loc, x, arith::MulFOp::create(b, loc, k, x3));
          inner = math::TanhOp::create(b, loc,
                                       arith::MulFOp::create(b, loc, c, sum));
        } else {
          Value invSqrt2 = buildScalar(b, loc, type, M_SQRT1_2);
          inner = math::ErfOp::create(
              b, loc, arith::MulFOp::create(b, loc, x, invSqrt2));
        }
        Value factor = arith::AddFOp::create(b, loc, one, inner);
        return arith::MulFOp::create(
            b, loc, arith::MulFOp::create(b, loc, half, x), factor);
      });
}

//===----------------------------------------------------------------------===//
// Comparisons, logic and selection
//===----------------------------------------------------------------------===//

template <arith::CmpFPredicate FP, arith::CmpIPredicate IP>
static LogicalResult convertCompare(ImportContext &ctx) {
  return convertNary(
      ctx, {0, 1}, ctx.getBuilder().getI1Type(), true,
      [](OpBuilder &b, Location loc, ValueRange a) -> Value {
        if (isFloatValue(a[0]))
          return arith::CmpFOp::create(b, loc, FP, a[0], a[1]);
        return arith::CmpIOp::create(b, loc, IP, a[0], a[1]);
      },
      [](ArrayRef<Num> a) -> std::optional<Num> {
        bool result;
        switch (IP) {
        case arith::CmpIPredicate::eq:
          result = a[0].f == a[1].f && a[0].i == a[1].i;
          break;
        case arith::CmpIPredicate::slt:
          result = a[0].f < a[1].f || (a[0].f == a[1].f && a[0].i < a[1].i);
          break;
        case arith::CmpIPredicate::sgt:
          result = a[0].f > a[1].f || (a[0].f == a[1].f && a[0].i > a[1].i);
          break;
        case arith::CmpIPredicate::sle:
          result = a[0].f < a[1].f || (a[0].f == a[1].f && a[0].i <= a[1].i);
          break;
        default:
          result = a[0].f > a[1].f || (a[0].f == a[1].f && a[0].i >= a[1].i);
          break;
        }
        return Num{(double)result, result};
      });
}

static LogicalResult requireBool(ImportContext &ctx, unsigned i) {
  FailureOr<RankedTensorType> type = ctx.inputType(i);
  if (failed(type))
    return failure();
  if (!type->getElementType().isInteger(1))
    return ctx.emitError() << "dtype mismatch: input " << i
                           << " must be a bool tensor, found " << *type;
  return success();
}

static LogicalResult convertNot(ImportContext &ctx) {
  if (failed(requireBool(ctx, 0)))
    return failure();
  return convertNary(
      ctx, {0}, nullptr, false,
      [](OpBuilder &b, Location loc, ValueRange a) -> Value {
        Value one = arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
        return arith::XOrIOp::create(b, loc, a[0], one);
      },
      [](ArrayRef<Num> a) -> std::optional<Num> {
        return Num{(double)!a[0].i, !a[0].i};
      });
}

template <bool IsAnd> static LogicalResult convertLogical(ImportContext &ctx) {
  if (failed(requireBool(ctx, 0)) || failed(requireBool(ctx, 1)))
    return failure();
  return convertNary(
      ctx, {0, 1}, nullptr, true,
      [](OpBuilder &b, Location loc, ValueRange a) -> Value {
        if (IsAnd)
          return arith::AndIOp::create(b, loc, a[0], a[1]);
        return arith::OrIOp::create(b, loc, a[0], a[1]);
      },
      [](ArrayRef<Num> a) -> std::optional<Num> {
        bool r = IsAnd ? (a[0].i && a[1].i) : (a[0].i || a[1].i);
        return Num{(double)r, r};
      });
}

static LogicalResult convertWhere(ImportContext &ctx) {
  if (failed(requireBool(ctx, 0)))
    return failure();
  FailureOr<RankedTensorType> x = ctx.inputType(1), y = ctx.inputType(2);
  if (failed(x) || failed(y))
    return failure();
  if (x->getElementType() != y->getElementType())
    return ctx.emitError() << "dtype mismatch: input 1 has element type "
                           << x->getElementType() << " but input 2 has "
                           << y->getElementType();
  return convertNary(
      ctx, {0, 1, 2}, x->getElementType(), false,
      [](OpBuilder &b, Location loc, ValueRange a) -> Value {
        return arith::SelectOp::create(b, loc, a[0], a[1], a[2]);
      },
      [](ArrayRef<Num> a) -> std::optional<Num> {
        return a[0].i ? a[1] : a[2];
      });
}

/// Max or Min of any number of inputs.
template <bool IsMax> static LogicalResult convertExtremum(ImportContext &ctx) {
  SmallVector<unsigned> operands;
  for (unsigned i = 0; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i))
      operands.push_back(i);
  if (operands.empty())
    return ctx.emitError() << "needs at least one input";
  // uint8 compares unsigned; its folding (which reads i8 as signed) is left
  // to the generated code.
  bool isUnsigned = hasUnsignedInput(ctx);
  LogicalResult converted = convertNary(
      ctx, operands, nullptr, true,
      [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
        Value result = a[0];
        for (Value v : a.drop_front()) {
          if (isFloatValue(v))
            result = IsMax
                         ? Value(arith::MaximumFOp::create(b, loc, result, v))
                         : Value(arith::MinimumFOp::create(b, loc, result, v));
          else if (isUnsigned)
            result = IsMax ? Value(arith::MaxUIOp::create(b, loc, result, v))
                           : Value(arith::MinUIOp::create(b, loc, result, v));
          else
            result = IsMax ? Value(arith::MaxSIOp::create(b, loc, result, v))
                           : Value(arith::MinSIOp::create(b, loc, result, v));
        }
        return result;
      },
      [&](ArrayRef<Num> a) -> std::optional<Num> {
        if (isUnsigned)
          return std::nullopt;
        Num result = a[0];
        for (const Num &n : a.drop_front()) {
          result.f = IsMax ? std::max(result.f, n.f) : std::min(result.f, n.f);
          result.i = IsMax ? std::max(result.i, n.i) : std::min(result.i, n.i);
        }
        return result;
      });
  return markUnsignedOutput(ctx, isUnsigned, converted);
}

static LogicalResult convertClip(ImportContext &ctx) {
  SmallVector<unsigned> operands = {0};
  bool hasMin = ctx.hasInput(1), hasMax = ctx.hasInput(2);
  if (hasMin)
    operands.push_back(1);
  if (hasMax)
    operands.push_back(2);
  for (unsigned i = 1; i < operands.size(); ++i) {
    FailureOr<RankedTensorType> type = ctx.inputType(operands[i]);
    if (failed(type))
      return failure();
    if (type->getRank() != 0 && type->getNumElements() != 1)
      return ctx.emitError() << "shape mismatch: input " << operands[i]
                             << " must be a scalar, found " << *type;
  }
  return convertNary(
      ctx, operands, nullptr, true,
      [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
        Value result = a[0];
        bool isFloat = isFloatValue(result);
        unsigned next = 1;
        if (hasMin) {
          Value lo = a[next++];
          result = isFloat
                       ? Value(arith::MaximumFOp::create(b, loc, result, lo))
                       : Value(arith::MaxSIOp::create(b, loc, result, lo));
        }
        if (hasMax) {
          Value hi = a[next++];
          result = isFloat
                       ? Value(arith::MinimumFOp::create(b, loc, result, hi))
                       : Value(arith::MinSIOp::create(b, loc, result, hi));
        }
        return result;
      });
}

//===----------------------------------------------------------------------===//
// Cast
//===----------------------------------------------------------------------===//

/// Converts scalar `v` to `to` with ONNX Cast semantics (float to int
/// truncates toward zero, to bool is `!= 0`).
static Value buildCast(OpBuilder &b, Location loc, Value v, Type to) {
  Type from = v.getType();
  if (from == to)
    return v;
  bool fromFloat = isa<FloatType>(from), toFloat = isa<FloatType>(to);
  if (to.isInteger(1)) {
    Value zero = buildScalar(b, loc, from, 0);
    if (fromFloat)
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, v, zero);
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v, zero);
  }
  if (fromFloat && toFloat) {
    if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
      return arith::ExtFOp::create(b, loc, to, v);
    if (from.getIntOrFloatBitWidth() > to.getIntOrFloatBitWidth())
      return arith::TruncFOp::create(b, loc, to, v);
    // f16 <-> bf16: through f32.
    Value wide = arith::ExtFOp::create(b, loc, b.getF32Type(), v);
    return arith::TruncFOp::create(b, loc, to, wide);
  }
  if (fromFloat)
    return arith::FPToSIOp::create(b, loc, to, v);
  if (toFloat)
    return from.isInteger(1) ? Value(arith::UIToFPOp::create(b, loc, to, v))
                             : Value(arith::SIToFPOp::create(b, loc, to, v));
  unsigned fromWidth = from.getIntOrFloatBitWidth();
  unsigned toWidth = to.getIntOrFloatBitWidth();
  if (fromWidth < toWidth)
    return from.isInteger(1) ? Value(arith::ExtUIOp::create(b, loc, to, v))
                             : Value(arith::ExtSIOp::create(b, loc, to, v));
  return arith::TruncIOp::create(b, loc, to, v);
}

static LogicalResult convertCast(ImportContext &ctx) {
  const onnx::AttributeProto *to = ctx.attr("to");
  if (!to)
    return ctx.emitError() << "missing attribute 'to'";
  Type toType = ctx.elementType(to->i());
  if (!toType) {
    InFlightDiagnostic diag = ctx.emitUnsupported();
    diag << "cannot cast input '"
         << (ctx.hasInput(0) ? ctx.node().input(0) : "") << "' to "
         << onnxTypeName(to->i()) << " (output '"
         << (ctx.hasOutput(0) ? ctx.node().output(0) : "") << "'): ";
    if (to->i() == onnx::TensorProto::STRING)
      diag << "string tensors are not supported";
    else
      diag << onnxTypeName(to->i()) << " tensors are not supported";
    return diag;
  }
  bool toFloat = isa<FloatType>(toType);
  bool toBool = toType.isInteger(1);
  return convertNary(
      ctx, {0}, toType, false,
      [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
        return buildCast(b, loc, a[0], toType);
      },
      [&](ArrayRef<Num> a) -> std::optional<Num> {
        if (toBool) {
          bool r = a[0].f != 0 || a[0].i != 0;
          return Num{(double)r, r};
        }
        if (toFloat)
          return Num{a[0].f, a[0].i};
        // To an integer: truncate floats toward zero (readNums already did).
        return Num{(double)a[0].i, a[0].i};
      });
}

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

void registerElementwiseOps(ConverterTable &table) {
  constexpr int64_t kLatest = 21;
  table.add("Add", 13, kLatest, convertAdd, /*readsUnsigned=*/true);
  table.add("Sub", 13, kLatest, convertSub, /*readsUnsigned=*/true);
  table.add("Mul", 13, kLatest, convertMul, /*readsUnsigned=*/true);
  table.add("Div", 13, kLatest, convertDiv, /*readsUnsigned=*/true);
  table.add("Pow", 13, kLatest, convertPow);
  table.add("Sqrt", 13, kLatest, convertSqrt);
  table.add("Reciprocal", 13, kLatest, convertReciprocal);
  table.add("Neg", 13, kLatest, convertNeg);
  table.add("Abs", 13, kLatest, convertAbs);
  table.add("Exp", 13, kLatest, convertFloatUnary<math::ExpOp>);
  table.add("Log", 13, kLatest, convertFloatUnary<math::LogOp>);
  table.add("Erf", 13, kLatest, convertFloatUnary<math::ErfOp>);
  table.add("Tanh", 13, kLatest, convertFloatUnary<math::TanhOp>);
  table.add("Cos", 13, kLatest, convertFloatUnary<math::CosOp>);
  table.add("Sin", 13, kLatest, convertFloatUnary<math::SinOp>);
  table.add("Sigmoid", 13, kLatest, convertSigmoid);
  table.add("Relu", 13, kLatest, convertRelu);
  table.add("Gelu", 20, kLatest, convertGelu);
  table.add(
      "Equal", 13, kLatest,
      convertCompare<arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq>);
  table.add(
      "Less", 13, kLatest,
      convertCompare<arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt>);
  table.add(
      "Greater", 13, kLatest,
      convertCompare<arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt>);
  table.add(
      "LessOrEqual", 13, kLatest,
      convertCompare<arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle>);
  table.add(
      "GreaterOrEqual", 13, kLatest,
      convertCompare<arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge>);
  table.add("Not", 13, kLatest, convertNot);
  table.add("And", 13, kLatest, convertLogical<true>);
  table.add("Or", 13, kLatest, convertLogical<false>);
  table.add("Where", 13, kLatest, convertWhere);
  table.add("Max", 13, kLatest, convertExtremum<true>,
            /*readsUnsigned=*/true);
  table.add("Min", 13, kLatest, convertExtremum<false>,
            /*readsUnsigned=*/true);
  table.add("Clip", 13, kLatest, convertClip);
  table.add("Floor", 13, kLatest, convertFloatUnary<math::FloorOp>);
  table.add("Ceil", 13, kLatest, convertFloatUnary<math::CeilOp>);
  table.add("Round", 13, kLatest, convertFloatUnary<math::RoundEvenOp>);
  table.add("Sign", 13, kLatest, convertSign);
  table.add("Softplus", 13, kLatest, convertSoftplus);
  table.add("Sum", 13, kLatest, convertSum<false>);
  table.add("Mean", 13, kLatest, convertSum<true>);
  table.add("Mod", 13, kLatest, convertMod, /*readsUnsigned=*/true);
  table.add("Cast", 13, kLatest, convertCast);
}

} // namespace onnx_import
} // namespace nibble
