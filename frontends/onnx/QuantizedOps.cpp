//===- QuantizedOps.cpp - ONNX models that are already quantized ----------===//
//
// Weight-only quantization as other tools write it becomes nibble.qlinear
// over packed params in nibble's layout (docs/Formats.md):
//
// - DequantizeLinear of a constant 2-D int8/uint8/int4/uint4 weight feeding
//   MatMul (directly, or through Transpose perm [1, 0]) per tensor, per
//   output channel (the N axis) or blocked along K (opset 21 block_size):
//     int8  q, zero point z: code u = q + 128, zero = z + 128
//     uint8 q, zero point z: code u = q,       zero = z
//     int4  q, zero point z: code u = q + 8,   zero = z + 8
//     uint4 q, zero point z: code u = q,       zero = z
//   so that scale * (u - zero) = scale * (q - z), ONNX's value; a zero at
//   the midpoint 2^(b-1) everywhere (signed z = 0, unsigned z = 2^(b-1)) is
//   the symmetric scheme.
// - com.microsoft::MatMulNBits with bits = 4: B [N, n_blocks, blob] holds
//   element 2i of a row in the low nibble of byte i, nibble's packing, so
//   the codes are B's bytes; zero points packed two per byte (low nibble
//   first, per row), 8 when absent; group = block_size.
//
// Quantization ops on activations are linalg.generic implementing ONNX's
// definitions exactly (round half to even, saturation, zero points);
// MatMulInteger and QLinearMatMul accumulate in i32. uint8 tensors are held
// as i8 with the ImportContext remembering which are unsigned.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/NibbleOps.h"
#include "passes/numerics/Formats.h"
#include "passes/numerics/Packing.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>
#include <cstring>
#include <functional>

using namespace mlir;

namespace nibble {
namespace onnx_import {

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

namespace {
/// A constant input's type and bytes (one element per element, splats
/// expanded).
struct ConstantData {
  RankedTensorType type;
  std::vector<uint8_t> bytes;

  int64_t size() const { return type.getNumElements(); }
  /// Element i, an integer read as signed or unsigned 8-bit.
  int64_t intAt(int64_t i, bool isUnsigned) const {
    return isUnsigned ? int64_t(bytes[i]) : int64_t(int8_t(bytes[i]));
  }
};
} // namespace

/// Input `i` as constant data (an initializer or a folded constant), or
/// nullopt.
static std::optional<ConstantData> constantData(ImportContext &ctx,
                                                unsigned i) {
  if (const Initializer *init = ctx.initializerInput(i);
      init && !init->transposeOf)
    return ConstantData{init->type, std::vector<uint8_t>(init->bytes.begin(),
                                                         init->bytes.end())};
  DenseElementsAttr attr = ctx.constantInput(i);
  if (!attr || attr.getElementType().isInteger(1))
    return std::nullopt;
  auto type = cast<RankedTensorType>(attr.getType());
  ArrayRef<char> raw = attr.getRawData();
  ConstantData data{type, {}};
  int64_t elemSize = type.getElementTypeBitWidth() / 8;
  if (attr.isSplat()) {
    for (int64_t e = 0; e < type.getNumElements(); ++e)
      data.bytes.insert(data.bytes.end(), raw.begin(), raw.begin() + elemSize);
  } else {
    data.bytes.assign(raw.begin(), raw.end());
  }
  return data;
}

static bool isScaleType(Type t) { return t.isF32() || t.isF16() || t.isBF16(); }

/// Errors (naming `name`, the element index and the value) if a scale of
/// `scales` (f32, f16 or bf16) is NaN or infinite: a quantized weight with
/// such a scale would silently dequantize to NaN rows.
static LogicalResult checkFiniteScales(ImportContext &ctx,
                                       const ConstantData &scales,
                                       StringRef name) {
  Type type = scales.type.getElementType();
  int64_t size = type.isF32() ? 4 : 2;
  for (int64_t i = 0, e = scales.bytes.size() / size; i < e; ++i) {
    const uint8_t *at = scales.bytes.data() + i * size;
    float value;
    if (type.isF32()) {
      std::memcpy(&value, at, 4);
    } else {
      uint16_t bits = uint16_t(at[0] | at[1] << 8);
      value = type.isF16() ? numerics::f16BitsToFloat(bits)
                           : numerics::bf16BitsToFloat(bits);
    }
    if (!std::isfinite(value))
      return ctx.emitError() << "scale '" << name << "' has a non-finite value "
                             << (std::isnan(value) ? "nan"
                                 : value > 0       ? "+inf"
                                                   : "-inf")
                             << " at element " << i;
  }
  return success();
}

/// The archive dtype of a scale type.
static DType scaleDType(Type t) {
  return t.isF32() ? DType::F32 : t.isF16() ? DType::F16 : DType::BF16;
}

//===----------------------------------------------------------------------===//
// nibble.qlinear from a QuantizedWeight
//===----------------------------------------------------------------------===//

/// nibble.qlinear of `input` [..., K] with `weight` and optional `bias`;
/// params are named after the weight.
static FailureOr<Value> buildQLinear(ImportContext &ctx,
                                     const QuantizedWeight &weight, Value input,
                                     Value bias) {
  MLIRContext *mctx = ctx.getContext();
  auto inputType = cast<RankedTensorType>(input.getType());
  Granularity granularity = weight.groupSize < 0    ? Granularity::Tensor
                            : weight.groupSize == 0 ? Granularity::Channel
                                                    : Granularity::Group;
  auto emitError = [&]() { return ctx.emitError(); };
  SchemeAttr scheme = SchemeAttr::getChecked(
      emitError, mctx, WeightFormat::Int, weight.bits, granularity,
      std::max<int64_t>(weight.groupSize, 0),
      weight.symmetric ? CodeOffset::Symmetric : CodeOffset::ZeroPoint,
      weight.scaleType, /*doubleQuantGroup=*/int64_t(0), ActivationScheme::None,
      /*activationGroup=*/int64_t(0));
  if (!scheme)
    return failure();
  unsigned container = scheme.getContainerBits();
  int64_t rows = granularity == Granularity::Tensor ? 1 : weight.n;
  int64_t groups = scheme.getGroupsPerRow(weight.k);
  if (weight.params.empty()) {
    std::vector<uint8_t> packed =
        numerics::packCodes(weight.codes.data(), weight.n, weight.k, container);
    Type i8 = IntegerType::get(mctx, 8);
    FailureOr<Value> qweight = ctx.paramFromBytes(
        weight.name + ".qweight",
        RankedTensorType::get({weight.n, weight.k * container / 8}, i8),
        DType::I8, packed);
    FailureOr<Value> scales = ctx.paramFromBytes(
        weight.name + ".scales",
        RankedTensorType::get({rows, groups}, weight.scaleType),
        scaleDType(weight.scaleType), weight.scales);
    if (failed(qweight) || failed(scales))
      return failure();
    weight.params = {*qweight, *scales};
    if (!weight.symmetric) {
      FailureOr<Value> z = ctx.paramFromBytes(
          weight.name + ".zeros", RankedTensorType::get({rows, groups}, i8),
          DType::I8, weight.zeros);
      if (failed(z))
        return failure();
      weight.params.push_back(*z);
    }
  }
  Value zeros = weight.symmetric ? Value() : weight.params[2];
  SmallVector<int64_t> shape(inputType.getShape().drop_back());
  shape.push_back(weight.n);
  auto resultType = RankedTensorType::get(shape, inputType.getElementType());
  return Value(QLinearOp::create(ctx.getBuilder(), ctx.loc(), resultType, input,
                                 weight.params[0], weight.params[1], zeros,
                                 /*mins=*/Value(), /*scale_scales=*/Value(),
                                 bias,
                                 /*input_scale=*/Value(), scheme,
                                 /*name=*/nullptr));
}

/// Checks that `input` of `type` can be the activation of a linear with
/// reduction size k.
static LogicalResult checkLinearInput(ImportContext &ctx, RankedTensorType type,
                                      int64_t k, StringRef weightName) {
  if (!isa<FloatType>(type.getElementType()) || type.getRank() < 1)
    return ctx.emitError() << "dtype mismatch: the input of a linear over "
                              "quantized weight '"
                           << weightName << "' must be a float tensor, found "
                           << type;
  if (type.getShape().back() != k)
    return ctx.emitError() << "shape mismatch: input " << type
                           << " times quantized weight '" << weightName
                           << "' with K = " << k << " (K differs)";
  return success();
}

LogicalResult convertQuantizedMatMul(ImportContext &ctx,
                                     const QuantizedWeight &weight) {
  FailureOr<RankedTensorType> aType = ctx.inputType(0);
  if (failed(aType) ||
      failed(checkLinearInput(ctx, *aType, weight.k, weight.name)))
    return failure();
  FailureOr<Value> a = ctx.input(0);
  if (failed(a))
    return failure();
  auto [add, biasInit] =
      findFoldableBiasAdd(ctx, weight.n, aType->getElementType());
  Value bias;
  if (biasInit) {
    FailureOr<Value> param = ctx.paramFor(*biasInit, /*transpose=*/false);
    if (failed(param))
      return failure();
    bias = *param;
  }
  FailureOr<Value> result = buildQLinear(ctx, weight, *a, bias);
  if (failed(result))
    return failure();
  if (add) {
    ctx.absorb(add, add->output(0), *result);
    return success();
  }
  return ctx.setOutput(0, *result);
}

//===----------------------------------------------------------------------===//
// DequantizeLinear
//===----------------------------------------------------------------------===//

static bool isDefaultDomain(const onnx::NodeProto *node) {
  return node->domain().empty() || node->domain() == "ai.onnx";
}

/// Whether every reader of tensor `name` is a MatMul taking it as its
/// weight (input 1 only), and there is at least one.
static bool onlyMatMulWeight(ImportContext &ctx, const std::string &name) {
  ArrayRef<const onnx::NodeProto *> users = ctx.consumers(name);
  if (users.empty() || ctx.isGraphOutput(name))
    return false;
  return llvm::all_of(users, [&](const onnx::NodeProto *user) {
    return user->op_type() == "MatMul" && isDefaultDomain(user) &&
           user->input_size() == 2 && user->input(1) == name &&
           user->input(0) != name;
  });
}

/// The Transpose (perm [1, 0]) that is the only reader of `name` and whose
/// output only MatMuls read as their weight, or null.
static const onnx::NodeProto *transposeToMatMul(ImportContext &ctx,
                                                const std::string &name) {
  ArrayRef<const onnx::NodeProto *> users = ctx.consumers(name);
  if (users.size() != 1 || ctx.isGraphOutput(name))
    return nullptr;
  const onnx::NodeProto *transpose = users[0];
  if (transpose->op_type() != "Transpose" || !isDefaultDomain(transpose) ||
      transpose->output_size() != 1)
    return nullptr;
  for (const onnx::AttributeProto &a : transpose->attribute())
    if (a.name() == "perm" &&
        !(a.ints_size() == 2 && a.ints(0) == 1 && a.ints(1) == 0))
      return nullptr;
  return onlyMatMulWeight(ctx, transpose->output(0)) ? transpose : nullptr;
}

/// The QuantizedWeight of DequantizeLinear(weight, scale, zero) where the
/// dequantized [R, C] tensor is MatMul's [K, N] weight (`transposed` false)
/// or its transpose [N, K]. Returns a reason in `why` when the variant has
/// no nibble.qlinear form.
static std::optional<QuantizedWeight>
matchDequantizedWeight(ImportContext &ctx, const Initializer &weight,
                       bool transposed, std::string &why) {
  bool isUnsigned = ctx.isUnsigned(ctx.node().input(0));
  bool fourBit = weight.onnxType == kOnnxInt4 || weight.onnxType == kOnnxUInt4;
  std::optional<ConstantData> scale = constantData(ctx, 1);
  if (!scale) {
    why = "the scale is not a constant";
    return std::nullopt;
  }
  std::optional<ConstantData> zero;
  if (ctx.hasInput(2)) {
    zero = constantData(ctx, 2);
    if (!zero) {
      why = "the zero point is not a constant";
      return std::nullopt;
    }
    if (zero->type.getShape() != scale->type.getShape() ||
        !zero->type.getElementType().isInteger(8)) {
      why = "the zero point's type differs from the scale's shape or the "
            "weight's element type";
      return std::nullopt;
    }
  }
  Type scaleTy = scale->type.getElementType();
  if (!isScaleType(scaleTy)) {
    why = "the scale is not f32, f16 or bf16";
    return std::nullopt;
  }
  ArrayRef<int64_t> shape = weight.type.getShape();
  int64_t rank = 2;
  int64_t kDim = transposed ? 1 : 0, nDim = 1 - kDim;
  int64_t axis = ctx.intAttr("axis", 1);
  if (axis < 0)
    axis += rank;
  int64_t blockSize = ctx.intAttr("block_size", 0);
  QuantizedWeight result;
  result.name = weight.name;
  result.k = shape[kDim];
  result.n = shape[nDim];
  result.bits = fourBit ? 4 : 8;
  result.scaleType = scaleTy;
  int64_t k = result.k, n = result.n;
  int64_t rows, groups;
  // Index of the scale of element (n, k) in the scale tensor.
  std::function<int64_t(int64_t, int64_t)> scaleIndex;
  if (scale->size() == 1 && scale->type.getRank() <= 1 && blockSize == 0) {
    result.groupSize = -1;
    rows = groups = 1;
    scaleIndex = [](int64_t, int64_t) { return int64_t(0); };
  } else if (blockSize == 0) {
    if (scale->type.getRank() != 1 || axis != nDim ||
        scale->size() != shape[axis]) {
      why = "per-axis scales must be along the weight's N axis (axis " +
            std::to_string(nDim) + ")";
      return std::nullopt;
    }
    result.groupSize = 0;
    rows = n;
    groups = 1;
    scaleIndex = [](int64_t row, int64_t) { return row; };
  } else {
    if (axis != kDim || scale->type.getRank() != 2 || k % blockSize != 0 ||
        scale->type.getDimSize(kDim) != k / blockSize ||
        scale->type.getDimSize(nDim) != n) {
      why = "blocked scales must be along K (axis " + std::to_string(kDim) +
            ") with K a multiple of block_size";
      return std::nullopt;
    }
    result.groupSize = blockSize;
    rows = n;
    groups = k / blockSize;
    if (transposed)
      scaleIndex = [=](int64_t row, int64_t col) {
        return row * groups + col / blockSize;
      };
    else
      scaleIndex = [=](int64_t row, int64_t col) {
        return (col / blockSize) * n + row;
      };
  }
  // Codes and zeros: int8 q -> q + 128 (zero z + 128), int4 q -> q + 8
  // (zero z + 8); unsigned ones unchanged.
  int64_t midpoint = fourBit ? 8 : 128;
  int64_t offset = isUnsigned ? 0 : midpoint;
  int64_t scaleBytes = scaleTy.getIntOrFloatBitWidth() / 8;
  result.codes.resize(n * k);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t col = 0; col < k; ++col) {
      int64_t src = transposed ? row * k + col : col * n + row;
      result.codes[row * k + col] = uint8_t(
          int64_t(isUnsigned ? weight.bytes[src] : int8_t(weight.bytes[src])) +
          offset);
    }
  result.scales.resize(rows * groups * scaleBytes);
  result.zeros.resize(rows * groups);
  bool symmetric = true;
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t g = 0; g < groups; ++g) {
      int64_t col = result.groupSize > 0 ? g * result.groupSize : 0;
      int64_t index = scaleIndex(row, col);
      std::memcpy(&result.scales[(row * groups + g) * scaleBytes],
                  &scale->bytes[index * scaleBytes], scaleBytes);
      int64_t z = (zero ? zero->intAt(index, isUnsigned) : 0) + offset;
      result.zeros[row * groups + g] = uint8_t(z);
      symmetric &= z == midpoint;
    }
  result.symmetric = symmetric;
  if (symmetric)
    result.zeros.clear();
  return result;
}

/// Integer-to-i32 extension of an 8-bit value held as i8.
static Value extendToI32(OpBuilder &b, Location loc, Value v, bool isUnsigned) {
  Type i32 = b.getI32Type();
  if (v.getType() == i32)
    return v;
  return isUnsigned ? arith::ExtUIOp::create(b, loc, i32, v).getResult()
                    : arith::ExtSIOp::create(b, loc, i32, v).getResult();
}

/// A per-axis parameter ([C] along `axis` of a rank-`rank` tensor)
/// reshaped so that it broadcasts; per-tensor ones ([] or [1]) as is.
static FailureOr<Value> broadcastableParam(ImportContext &ctx, Value param,
                                           int64_t axis, int64_t rank,
                                           ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(param.getType());
  if (type.getNumElements() == 1 && type.getRank() <= 1)
    return buildReshape(ctx.getBuilder(), ctx.loc(), param, {});
  if (type.getRank() != 1 || type.getDimSize(0) != shape[axis])
    return ctx.emitUnsupported()
           << "shape mismatch: a scale or zero point " << type
           << " must be a scalar or a 1-D tensor of the size of axis " << axis
           << " (" << shape[axis]
           << "); blocked quantization of activations is not supported";
  SmallVector<int64_t> target(rank, 1);
  target[axis] = shape[axis];
  return buildReshape(ctx.getBuilder(), ctx.loc(), param, target);
}

/// The operands of an elementwise (De)QuantizeLinear: x, its scale and (if
/// given) zero point, the last two reshaped to broadcast along `axis`.
static FailureOr<SmallVector<Value>> quantOperands(ImportContext &ctx,
                                                   int64_t axis, int64_t rank,
                                                   ArrayRef<int64_t> shape) {
  FailureOr<Value> x = ctx.input(0), s = ctx.input(1);
  if (failed(x) || failed(s))
    return failure();
  FailureOr<Value> scale = broadcastableParam(ctx, *s, axis, rank, shape);
  if (failed(scale))
    return failure();
  SmallVector<Value> operands = {*x, *scale};
  if (ctx.hasInput(2)) {
    FailureOr<Value> z = ctx.input(2);
    if (failed(z))
      return failure();
    FailureOr<Value> zero = broadcastableParam(ctx, *z, axis, rank, shape);
    if (failed(zero))
      return failure();
    operands.push_back(*zero);
  }
  return operands;
}

/// The normalized `axis` of a per-axis (De)QuantizeLinear; 0 when the scale
/// is per tensor (the attribute is then ignored, as ONNX says).
static FailureOr<int64_t> quantAxis(ImportContext &ctx, RankedTensorType scale,
                                    int64_t rank) {
  if (scale.getNumElements() == 1 && scale.getRank() <= 1)
    return int64_t(0);
  return normalizeAxis(ctx, ctx.intAttr("axis", 1), rank);
}

/// DequantizeLinear of any tensor: y = (x - zero) * scale, elementwise.
static LogicalResult convertDequantizeElementwise(ImportContext &ctx) {
  FailureOr<RankedTensorType> xType = ctx.inputType(0);
  FailureOr<RankedTensorType> sType = ctx.inputType(1);
  if (failed(xType) || failed(sType))
    return failure();
  if (!xType->getElementType().isInteger(8) &&
      !xType->getElementType().isInteger(32))
    return ctx.emitUnsupported()
           << "dtype mismatch: DequantizeLinear of " << *xType
           << " is not supported (int8, uint8 and int32 are)";
  if (!isa<FloatType>(sType->getElementType()))
    return ctx.emitError() << "dtype mismatch: the scale must be float, found "
                           << *sType;
  if (ctx.intAttr("block_size", 0) != 0)
    return ctx.emitError()
           << "blocked DequantizeLinear is supported only for a constant "
              "weight that a MatMul reads along K";
  bool isUnsigned = ctx.isUnsigned(ctx.node().input(0));
  int64_t rank = xType->getRank();
  FailureOr<int64_t> axis = quantAxis(ctx, *sType, rank);
  if (failed(axis))
    return failure();
  FailureOr<SmallVector<Value>> operands =
      quantOperands(ctx, *axis, rank, xType->getShape());
  if (failed(operands))
    return failure();
  SmallVector<Value> &inputs = *operands;
  OpBuilder &b = ctx.getBuilder();
  Location loc = ctx.loc();
  Type floatTy = sType->getElementType();
  Value result = buildElementwise(
      b, loc, inputs, xType->getShape(), floatTy,
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value q = extendToI32(nb, nl, args[0], isUnsigned);
        if (args.size() > 2)
          q = arith::SubIOp::create(nb, nl, q,
                                    extendToI32(nb, nl, args[2], isUnsigned));
        Value f = arith::SIToFPOp::create(nb, nl, floatTy, q);
        return arith::MulFOp::create(nb, nl, f, args[1]);
      });
  return ctx.setOutput(0, result);
}

static LogicalResult convertDequantizeLinear(ImportContext &ctx) {
  const Initializer *weight = ctx.initializerInput(0);
  if (weight && !weight->transposeOf && weight->type.getRank() == 2 &&
      weight->type.getElementType().isInteger(8)) {
    const std::string &output = ctx.node().output(0);
    const onnx::NodeProto *transpose = nullptr;
    bool matMul = onlyMatMulWeight(ctx, output);
    if (!matMul)
      transpose = transposeToMatMul(ctx, output);
    if (matMul || transpose) {
      // A weight's scales must be finite whichever form it takes.
      std::optional<ConstantData> scale = constantData(ctx, 1);
      if (scale && isScaleType(scale->type.getElementType()) &&
          failed(checkFiniteScales(ctx, *scale, ctx.node().input(1))))
        return failure();
      std::string why;
      std::optional<QuantizedWeight> quantized =
          matchDequantizedWeight(ctx, *weight, transpose != nullptr, why);
      if (quantized) {
        if (transpose) {
          ctx.markAbsorbed(transpose);
          ctx.defineQuantizedWeight(transpose->output(0),
                                    std::move(*quantized));
        } else {
          ctx.defineQuantizedWeight(output, std::move(*quantized));
        }
        return success();
      }
      // Not representable: dequantize elementwise (the MatMul stays float).
      mlir::emitRemark(ctx.loc()) << "weight '" << weight->name
                                  << "' stays a float MatMul operand: " << why;
    }
  }
  return convertDequantizeElementwise(ctx);
}

//===----------------------------------------------------------------------===//
// QuantizeLinear and DynamicQuantizeLinear
//===----------------------------------------------------------------------===//

/// saturate(round_half_even(x / scale) + zero) as an 8-bit integer (held as
/// i8), for float `x`, `scale` and integer `zero` (i8 or null).
static Value quantizeScalar(OpBuilder &b, Location loc, Value x, Value scale,
                            Value zero, bool isUnsigned) {
  Type f32 = b.getF32Type();
  if (x.getType() != f32)
    x = arith::ExtFOp::create(b, loc, f32, x);
  if (scale.getType() != f32)
    scale = arith::ExtFOp::create(b, loc, f32, scale);
  Value v = arith::DivFOp::create(b, loc, x, scale);
  v = math::RoundEvenOp::create(b, loc, v);
  if (zero) {
    Value z = arith::SIToFPOp::create(b, loc, f32,
                                      extendToI32(b, loc, zero, isUnsigned));
    v = arith::AddFOp::create(b, loc, v, z);
  }
  double lo = isUnsigned ? 0 : -128, hi = isUnsigned ? 255 : 127;
  v = arith::MaximumFOp::create(b, loc, v, buildScalar(b, loc, f32, lo));
  v = arith::MinimumFOp::create(b, loc, v, buildScalar(b, loc, f32, hi));
  Value i = arith::FPToSIOp::create(b, loc, b.getI32Type(), v);
  return arith::TruncIOp::create(b, loc, b.getI8Type(), i);
}

static LogicalResult convertQuantizeLinear(ImportContext &ctx) {
  FailureOr<RankedTensorType> xType = ctx.inputType(0);
  FailureOr<RankedTensorType> sType = ctx.inputType(1);
  if (failed(xType) || failed(sType))
    return failure();
  if (!isa<FloatType>(xType->getElementType()) ||
      !isa<FloatType>(sType->getElementType()))
    return ctx.emitError() << "dtype mismatch: QuantizeLinear needs float x "
                              "and scale, found "
                           << *xType << " and " << *sType;
  if (ctx.intAttr("block_size", 0) != 0)
    return ctx.emitUnsupported() << "blocked QuantizeLinear is not supported";
  // The output type: the zero point's, else output_dtype, else uint8.
  int64_t outputType = ctx.intAttr("output_dtype", 0);
  bool isUnsigned;
  if (ctx.hasInput(2)) {
    FailureOr<RankedTensorType> zType = ctx.inputType(2);
    if (failed(zType))
      return failure();
    if (!zType->getElementType().isInteger(8))
      return ctx.emitUnsupported()
             << "dtype mismatch: QuantizeLinear to " << *zType
             << " is not supported (int8 and uint8 are)";
    isUnsigned = ctx.isUnsigned(ctx.node().input(2));
  } else {
    if (outputType != 0 && outputType != onnx::TensorProto::UINT8 &&
        outputType != onnx::TensorProto::INT8)
      return ctx.emitUnsupported()
             << "QuantizeLinear to " << onnxTypeName(outputType)
             << " is not supported (int8 and uint8 are)";
    isUnsigned = outputType != onnx::TensorProto::INT8;
  }
  int64_t rank = xType->getRank();
  FailureOr<int64_t> axis = quantAxis(ctx, *sType, rank);
  if (failed(axis))
    return failure();
  FailureOr<SmallVector<Value>> operands =
      quantOperands(ctx, *axis, rank, xType->getShape());
  if (failed(operands))
    return failure();
  SmallVector<Value> &inputs = *operands;
  OpBuilder &b = ctx.getBuilder();
  Value result = buildElementwise(
      b, ctx.loc(), inputs, xType->getShape(), b.getI8Type(),
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        return quantizeScalar(nb, nl, args[0], args[1],
                              args.size() > 2 ? args[2] : Value(), isUnsigned);
      });
  if (isUnsigned && ctx.hasOutput(0))
    ctx.markUnsigned(ctx.node().output(0));
  return ctx.setOutput(0, result);
}

/// DynamicQuantizeLinear: uint8, per tensor. With x_min = min(0, min x) and
/// x_max = max(0, max x): scale = (x_max - x_min) / 255, zero =
/// saturate(round_half_even(0 - x_min / scale)), y = saturate(
/// round_half_even(x / scale) + zero).
static LogicalResult convertDynamicQuantizeLinear(ImportContext &ctx) {
  FailureOr<RankedTensorType> xType = ctx.inputType(0);
  if (failed(xType))
    return failure();
  if (!xType->getElementType().isF32())
    return ctx.emitError() << "dtype mismatch: DynamicQuantizeLinear needs "
                              "float32 x, found "
                           << *xType;
  FailureOr<Value> x = ctx.input(0);
  if (failed(x))
    return failure();
  OpBuilder &b = ctx.getBuilder();
  Location loc = ctx.loc();
  Type f32 = b.getF32Type();
  SmallVector<int64_t> allAxes;
  for (int64_t d = 0; d < xType->getRank(); ++d)
    allAxes.push_back(d);
  Value maxV = buildReduce(b, loc, *x, allAxes, ReduceKind::Max, false);
  Value minV = buildReduce(b, loc, *x, allAxes, ReduceKind::Min, false);
  Value scale = buildElementwise(
      b, loc, {maxV, minV}, {}, f32,
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value zero = buildScalar(nb, nl, f32, 0.0);
        Value hi = arith::MaximumFOp::create(nb, nl, args[0], zero);
        Value lo = arith::MinimumFOp::create(nb, nl, args[1], zero);
        Value range = arith::SubFOp::create(nb, nl, hi, lo);
        return arith::DivFOp::create(nb, nl, range,
                                     buildScalar(nb, nl, f32, 255.0));
      });
  Value zeroPoint = buildElementwise(
      b, loc, {minV, scale}, {}, b.getI8Type(),
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value zero = buildScalar(nb, nl, f32, 0.0);
        Value lo = arith::MinimumFOp::create(nb, nl, args[0], zero);
        Value ratio = arith::DivFOp::create(nb, nl, lo, args[1]);
        Value v = arith::SubFOp::create(nb, nl, zero, ratio);
        v = arith::MaximumFOp::create(nb, nl, v, zero);
        v = arith::MinimumFOp::create(nb, nl, v,
                                      buildScalar(nb, nl, f32, 255.0));
        v = math::RoundEvenOp::create(nb, nl, v);
        Value i = arith::FPToSIOp::create(nb, nl, nb.getI32Type(), v);
        return arith::TruncIOp::create(nb, nl, nb.getI8Type(), i);
      });
  Value y = buildElementwise(
      b, loc, {*x, scale, zeroPoint}, xType->getShape(), b.getI8Type(),
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        return quantizeScalar(nb, nl, args[0], args[1], args[2],
                              /*isUnsigned=*/true);
      });
  for (unsigned i : {0u, 2u})
    if (ctx.hasOutput(i))
      ctx.markUnsigned(ctx.node().output(i));
  if (failed(ctx.setOutput(0, y)) || failed(ctx.setOutput(1, scale)))
    return failure();
  return ctx.setOutput(2, zeroPoint);
}

//===----------------------------------------------------------------------===//
// MatMulInteger and QLinearMatMul
//===----------------------------------------------------------------------===//

/// Input `i` (8-bit) minus zero point input `zi` (absent: 0) as i32. The
/// zero point is a scalar, or per row of A ([M], `perRow`) / per column of
/// B ([N]).
static FailureOr<Value> centeredI32(ImportContext &ctx, unsigned i, unsigned zi,
                                    bool perRow) {
  FailureOr<RankedTensorType> type = ctx.inputType(i);
  if (failed(type))
    return failure();
  if (!type->getElementType().isInteger(8) || type->getRank() < 1)
    return ctx.emitError() << "dtype mismatch: input " << i
                           << " must be an int8 or uint8 tensor, found "
                           << *type;
  bool isUnsigned = ctx.isUnsigned(ctx.node().input(i));
  FailureOr<Value> v = ctx.input(i);
  if (failed(v))
    return failure();
  SmallVector<Value> inputs = {*v};
  ArrayRef<int64_t> shape = type->getShape();
  if (ctx.hasInput(zi)) {
    FailureOr<Value> z = ctx.input(zi);
    if (failed(z))
      return failure();
    auto zType = cast<RankedTensorType>(z->getType());
    int64_t rank = type->getRank();
    int64_t axis = perRow ? std::max<int64_t>(rank - 2, 0) : rank - 1;
    if (zType.getNumElements() == 1) {
      inputs.push_back(buildReshape(ctx.getBuilder(), ctx.loc(), *z, {}));
    } else if (zType.getRank() == 1 && zType.getDimSize(0) == shape[axis]) {
      SmallVector<int64_t> target(rank, 1);
      target[axis] = shape[axis];
      inputs.push_back(buildReshape(ctx.getBuilder(), ctx.loc(), *z, target));
    } else {
      return ctx.emitError()
             << "shape mismatch: zero point " << zType << " of input " << i
             << " must be a scalar or one per " << (perRow ? "row" : "column");
    }
  }
  return buildElementwise(
      ctx.getBuilder(), ctx.loc(), inputs, shape, ctx.getBuilder().getI32Type(),
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value q = extendToI32(nb, nl, args[0], isUnsigned);
        if (args.size() > 1)
          q = arith::SubIOp::create(nb, nl, q,
                                    extendToI32(nb, nl, args[1], isUnsigned));
        return q;
      });
}

static LogicalResult convertMatMulInteger(ImportContext &ctx) {
  FailureOr<Value> a = centeredI32(ctx, 0, 2, /*perRow=*/true);
  FailureOr<Value> bv = centeredI32(ctx, 1, 3, /*perRow=*/false);
  if (failed(a) || failed(bv))
    return failure();
  FailureOr<Value> result = buildMatMul(ctx, *a, *bv);
  if (failed(result))
    return failure();
  return ctx.setOutput(0, *result);
}

/// QLinearMatMul: acc = (a - a_zero) · (b - b_zero) in i32, then
/// y = saturate(round_half_even(acc * (a_scale * b_scale / y_scale)) +
/// y_zero), the product of scales formed in f32; per-tensor scales only
/// for a and y, per-tensor or per-column for b.
static LogicalResult convertQLinearMatMul(ImportContext &ctx) {
  FailureOr<Value> a = centeredI32(ctx, 0, 2, /*perRow=*/true);
  FailureOr<Value> bv = centeredI32(ctx, 3, 5, /*perRow=*/false);
  if (failed(a) || failed(bv))
    return failure();
  FailureOr<Value> acc = buildMatMul(ctx, *a, *bv);
  if (failed(acc))
    return failure();
  FailureOr<RankedTensorType> yzType = ctx.inputType(7);
  if (failed(yzType))
    return failure();
  bool isUnsigned = ctx.isUnsigned(ctx.node().input(7));
  FailureOr<Value> as = ctx.input(1), bs = ctx.input(4), ys = ctx.input(6),
                   yz = ctx.input(7);
  if (failed(as) || failed(bs) || failed(ys) || failed(yz))
    return failure();
  OpBuilder &b = ctx.getBuilder();
  Location loc = ctx.loc();
  auto accType = cast<RankedTensorType>(acc->getType());
  for (Value scalar : {*as, *ys, *yz})
    if (cast<RankedTensorType>(scalar.getType()).getNumElements() != 1)
      return ctx.emitError() << "only per-tensor a_scale, y_scale and "
                                "y_zero_point are supported, found "
                             << scalar.getType();
  Value bScale = *bs;
  auto bsType = cast<RankedTensorType>(bScale.getType());
  if (bsType.getNumElements() == 1)
    bScale = buildReshape(b, loc, bScale, {});
  else if (bsType.getRank() == 1 &&
           bsType.getDimSize(0) == accType.getShape().back())
    ; // per column: broadcasts along the last axis
  else
    return ctx.emitError() << "shape mismatch: b_scale " << bsType
                           << " must be a scalar or one per column";
  Value result = buildElementwise(
      b, loc,
      {*acc, buildReshape(b, loc, *as, {}), bScale,
       buildReshape(b, loc, *ys, {}), buildReshape(b, loc, *yz, {})},
      accType.getShape(), b.getI8Type(),
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Type f32 = nb.getF32Type();
        auto toF32 = [&](Value v) -> Value {
          return v.getType() == f32 ? v : arith::ExtFOp::create(nb, nl, f32, v);
        };
        Value mult =
            arith::MulFOp::create(nb, nl, toF32(args[1]), toF32(args[2]));
        mult = arith::DivFOp::create(nb, nl, mult, toF32(args[3]));
        Value accF = arith::SIToFPOp::create(nb, nl, f32, args[0]);
        Value v = arith::MulFOp::create(nb, nl, accF, mult);
        // quantizeScalar divides by its scale: pass scale 1.
        return quantizeScalar(nb, nl, v, buildScalar(nb, nl, f32, 1.0), args[4],
                              isUnsigned);
      });
  if (isUnsigned && ctx.hasOutput(0))
    ctx.markUnsigned(ctx.node().output(0));
  return ctx.setOutput(0, result);
}

//===----------------------------------------------------------------------===//
// com.microsoft::MatMulNBits
//===----------------------------------------------------------------------===//

/// MatMulNBits(A, B, scales, zero_points?, g_idx?, bias?) with bits = 4:
/// nibble.qlinear with group = block_size, asymmetric when zero points are
/// given (packed uint8, two per byte, low nibble first), else symmetric
/// (ONNX Runtime's default zero point 8 = 2^(bits-1)).
static LogicalResult convertMatMulNBits(ImportContext &ctx) {
  int64_t k = ctx.intAttr("K", -1), n = ctx.intAttr("N", -1);
  int64_t bits = ctx.intAttr("bits", 4);
  int64_t blockSize = ctx.intAttr("block_size", -1);
  if (k <= 0 || n <= 0 || blockSize <= 0)
    return ctx.emitError() << "attributes K, N and block_size must be given "
                              "and positive";
  if (blockSize < 16 || (blockSize & (blockSize - 1)) != 0)
    return ctx.emitError() << "block_size = " << blockSize
                           << " must be a power of 2 and at least 16";
  if (bits != 4)
    return ctx.emitUnsupported()
           << "bits = " << bits
           << " is not supported (nibble imports bits = 4)";
  if (k % blockSize != 0)
    return ctx.emitUnsupported()
           << "K = " << k << " is not a multiple of block_size = " << blockSize
           << " (padded blocks)";
  if (ctx.hasInput(4))
    return ctx.emitUnsupported() << "g_idx (act-order) is not supported";
  const Initializer *bInit = ctx.initializerInput(1);
  int64_t nBlocks = k / blockSize, blob = blockSize * bits / 8;
  // Every size below is a product of attributes: check that the products
  // fit before anything is sized by them.
  if (!checkedNumElements({n, nBlocks, blob}) || !checkedNumElements({n, k}))
    return ctx.emitError() << "N = " << n << " and K = " << k
                           << " give a weight too large to address";
  SmallVector<int64_t, 3> bShape = {n, nBlocks, blob};
  if (!bInit || bInit->transposeOf || !ctx.isUnsigned(ctx.node().input(1)) ||
      bInit->type.getShape() != ArrayRef<int64_t>(bShape))
    return ctx.emitError() << "B must be a uint8 initializer of shape "
                           << formatShape(bShape) << ", found "
                           << (bInit ? formatShape(bInit->type.getShape())
                                     : std::string("no initializer"));
  // Scales (and zero points) are [N * n_blocks] (older exporters) or
  // [N, n_blocks].
  auto hasRowsShape = [&](RankedTensorType type, int64_t perRow) {
    ArrayRef<int64_t> shape = type.getShape();
    return (shape.size() == 1 && shape[0] == n * perRow) ||
           (shape.size() == 2 && shape[0] == n && shape[1] == perRow);
  };
  std::optional<ConstantData> scales = constantData(ctx, 2);
  if (!scales || !isScaleType(scales->type.getElementType()) ||
      !hasRowsShape(scales->type, nBlocks))
    return ctx.emitError() << "scales must be a constant float tensor of "
                              "shape [N * n_blocks] = ["
                           << n * nBlocks << "] or [N, n_blocks] = [" << n
                           << ", " << nBlocks << "], found "
                           << (scales ? formatShape(scales->type.getShape())
                                      : std::string("no constant"));
  if (failed(checkFiniteScales(ctx, *scales, ctx.node().input(2))))
    return failure();
  QuantizedWeight weight;
  weight.name = ctx.node().input(1);
  weight.n = n;
  weight.k = k;
  weight.bits = 4;
  weight.groupSize = blockSize;
  weight.scaleType = scales->type.getElementType();
  weight.scales = scales->bytes;
  weight.codes.resize(n * k);
  for (int64_t i = 0; i < n * k / 2; ++i) {
    weight.codes[2 * i] = bInit->bytes[i] & 0xF;
    weight.codes[2 * i + 1] = bInit->bytes[i] >> 4;
  }
  weight.symmetric = true;
  if (ctx.hasInput(3)) {
    std::optional<ConstantData> zeros = constantData(ctx, 3);
    int64_t perRow = (nBlocks + 1) / 2;
    if (!zeros || !zeros->type.getElementType().isInteger(8) ||
        !ctx.isUnsigned(ctx.node().input(3)))
      return ctx.emitUnsupported()
             << "zero_points must be a constant uint8 tensor (4-bit, packed "
                "two per byte); float zero points are not supported";
    if (!hasRowsShape(zeros->type, perRow))
      return ctx.emitError()
             << "zero_points must have shape [N * ceil(n_blocks / 2)] = ["
             << n * perRow << "] or [N, ceil(n_blocks / 2)] = [" << n << ", "
             << perRow << "], found " << formatShape(zeros->type.getShape());
    weight.zeros.resize(n * nBlocks);
    bool symmetric = true;
    for (int64_t row = 0; row < n; ++row)
      for (int64_t g = 0; g < nBlocks; ++g) {
        uint8_t byte = zeros->bytes[row * perRow + g / 2];
        uint8_t z = g % 2 ? byte >> 4 : byte & 0xF;
        weight.zeros[row * nBlocks + g] = z;
        symmetric &= z == 8;
      }
    weight.symmetric = symmetric;
    if (symmetric)
      weight.zeros.clear();
  }
  FailureOr<RankedTensorType> aType = ctx.inputType(0);
  if (failed(aType) || failed(checkLinearInput(ctx, *aType, k, weight.name)))
    return failure();
  FailureOr<Value> a = ctx.input(0);
  if (failed(a))
    return failure();
  Value bias;
  const onnx::NodeProto *add = nullptr;
  if (ctx.hasInput(5)) {
    const Initializer *biasInit = ctx.initializerInput(5);
    if (!biasInit || biasInit->type.getRank() != 1 ||
        biasInit->type.getDimSize(0) != n ||
        biasInit->type.getElementType() != aType->getElementType())
      return ctx.emitError() << "bias must be an initializer of shape [" << n
                             << "] and the input's element type";
    FailureOr<Value> param = ctx.paramFor(*biasInit, /*transpose=*/false);
    if (failed(param))
      return failure();
    bias = *param;
  } else {
    auto [foundAdd, biasInit] =
        findFoldableBiasAdd(ctx, n, aType->getElementType());
    if (biasInit) {
      FailureOr<Value> param = ctx.paramFor(*biasInit, /*transpose=*/false);
      if (failed(param))
        return failure();
      bias = *param;
      add = foundAdd;
    }
  }
  FailureOr<Value> result = buildQLinear(ctx, weight, *a, bias);
  if (failed(result))
    return failure();
  if (add) {
    ctx.absorb(add, add->output(0), *result);
    return success();
  }
  return ctx.setOutput(0, *result);
}

void registerQuantizedOps(ConverterTable &table) {
  table.add("DequantizeLinear", 13, 21, convertDequantizeLinear,
            /*readsUnsigned=*/true);
  table.add("QuantizeLinear", 13, 21, convertQuantizeLinear,
            /*readsUnsigned=*/true);
  table.add("DynamicQuantizeLinear", 13, 21, convertDynamicQuantizeLinear);
  table.add("MatMulInteger", 13, 21, convertMatMulInteger,
            /*readsUnsigned=*/true);
  table.add("QLinearMatMul", 13, 21, convertQLinearMatMul,
            /*readsUnsigned=*/true);
  table.add("com.microsoft.MatMulNBits", 1, 1, convertMatMulNBits,
            /*readsUnsigned=*/true);
}

} // namespace onnx_import
} // namespace nibble
