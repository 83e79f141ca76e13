//===- NibbleOps.cpp - Verifiers of the nibble operations -----------------===//
//
// Every shape, element-type and layout invariant of the nibble ops.
//
//===----------------------------------------------------------------------===//

#include "dialects/NibbleOps.h"
#include "dialects/ShapeChecks.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace nibble;

/// Checks that `result` is `input` with its last dimension replaced by `n`.
static LogicalResult verifyLinearResult(Operation *op, RankedTensorType input,
                                        RankedTensorType result, int64_t n) {
  if (result.getRank() != input.getRank())
    return op->emitOpError("result rank ")
           << result.getRank() << " differs from input rank "
           << input.getRank();
  for (int64_t i = 0, e = input.getRank() - 1; i < e; ++i)
    if (!dimsCompatible(input.getDimSize(i), result.getDimSize(i)))
      return op->emitOpError("result dimension ")
             << i << " is " << result.getDimSize(i) << " but input's is "
             << input.getDimSize(i);
  if (!dimsCompatible(result.getShape().back(), n))
    return op->emitOpError("result has ")
           << result.getShape().back() << " features, expected N = " << n;
  if (result.getElementType() != input.getElementType())
    return op->emitOpError("result element type ")
           << result.getElementType() << " differs from input element type "
           << input.getElementType();
  return success();
}

/// Checks the optional bias: shape [N] and the input's element type.
static LogicalResult verifyBias(Operation *op, Value bias, Type elementType,
                                int64_t n) {
  if (!bias)
    return success();
  auto type = cast<RankedTensorType>(bias.getType());
  if (type.getRank() != 1 || !dimsCompatible(type.getDimSize(0), n))
    return op->emitOpError("bias must have shape [")
           << n << "], found " << formatShape(type.getShape());
  if (type.getElementType() != elementType)
    return op->emitOpError("bias element type ")
           << type.getElementType() << " differs from input element type "
           << elementType;
  return success();
}

//===----------------------------------------------------------------------===//
// ParamOp
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty tensor name");
  return success();
}

//===----------------------------------------------------------------------===//
// GlobalOp / GlobalLoadOp
//===----------------------------------------------------------------------===//

LogicalResult GlobalOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty tensor name");
  return success();
}

LogicalResult
GlobalLoadOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto global =
      symbolTable.lookupNearestSymbolFrom<GlobalOp>(*this, getGlobalAttr());
  if (!global)
    return emitOpError("'")
           << getGlobal() << "' does not name a nibble.global of the module";
  if (global.getType() != getResult().getType())
    return emitOpError("result type ")
           << getResult().getType() << " differs from global '" << getGlobal()
           << "' of type " << global.getType();
  return success();
}

LogicalResult
GlobalBufferOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto global =
      symbolTable.lookupNearestSymbolFrom<GlobalOp>(*this, getGlobalAttr());
  if (!global)
    return emitOpError("'")
           << getGlobal() << "' does not name a nibble.global of the module";
  auto type = cast<MemRefType>(getResult().getType());
  RankedTensorType tensorType = global.getTensorType();
  if (type.getShape() != tensorType.getShape() ||
      type.getElementType() != tensorType.getElementType() ||
      !type.getLayout().isIdentity())
    return emitOpError("result type ")
           << type << " does not match global '" << getGlobal() << "' of type "
           << tensorType;
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType weight = getWeight().getType();
  if (input.getRank() < 1)
    return emitOpError("input must have rank >= 1");
  if (weight.getRank() != 2)
    return emitOpError("weight must have rank 2 ([N, K]), found rank ")
           << weight.getRank();
  int64_t k = input.getShape().back();
  if (!dimsCompatible(k, weight.getDimSize(1)))
    return emitOpError("weight has K = ")
           << weight.getDimSize(1) << " but input has K = " << k;
  if (weight.getElementType() != input.getElementType())
    return emitOpError("weight element type ")
           << weight.getElementType() << " differs from input element type "
           << input.getElementType();
  int64_t n = weight.getDimSize(0);
  if (failed(verifyBias(*this, getBias(), input.getElementType(), n)))
    return failure();
  return verifyLinearResult(*this, input, getResult().getType(), n);
}

//===----------------------------------------------------------------------===//
// QLinearOp
//===----------------------------------------------------------------------===//

/// Checks `value`'s shape equals `expected` (dynamic dimensions match any).
static LogicalResult verifyShape(Operation *op, StringRef what,
                                 RankedTensorType type,
                                 ArrayRef<int64_t> expected, StringRef why) {
  bool ok = type.getRank() == static_cast<int64_t>(expected.size());
  for (size_t i = 0; ok && i < expected.size(); ++i)
    ok = dimsCompatible(type.getDimSize(i), expected[i]);
  if (!ok)
    return op->emitOpError()
           << what << " must have shape " << formatShape(expected) << " ("
           << why << "), found " << formatShape(type.getShape());
  return success();
}

LogicalResult QLinearOp::verify() {
  SchemeAttr scheme = getScheme();
  RankedTensorType input = getInput().getType();
  RankedTensorType weight = getWeight().getType();
  RankedTensorType scales = getScales().getType();
  if (input.getRank() < 1)
    return emitOpError("input must have rank >= 1");
  if (weight.getRank() != 2)
    return emitOpError("packed weight must have rank 2, found rank ")
           << weight.getRank();
  int64_t k = input.getShape().back();
  int64_t n = weight.getDimSize(0);
  if (ShapedType::isDynamic(k))
    return emitOpError("needs a static reduction size K");
  unsigned container = scheme.getContainerBits();
  if ((k * container) % 8 != 0)
    return emitOpError("K = ")
           << k << " codes of " << container << " bits do not fill whole bytes";
  if (scheme.getGranularity() == Granularity::Group &&
      k % scheme.getGroupSize() != 0)
    return emitOpError("K = ") << k << " is not a multiple of the group size "
                               << scheme.getGroupSize();
  if (k % scheme.getActivationGroupSize(k) != 0)
    return emitOpError("K = ")
           << k << " is not a multiple of the activation group size "
           << scheme.getActivationGroup();
  int64_t packedK = k * container / 8;
  std::string why = std::to_string(scheme.getBits()) + "-bit codes in " +
                    std::to_string(container) + "-bit containers";
  if (failed(verifyShape(*this, "packed weight", weight, {n, packedK}, why)))
    return failure();

  int64_t scaleRows = scheme.getGranularity() == Granularity::Tensor ? 1 : n;
  int64_t groups = scheme.getGroupsPerRow(k);
  std::string granularity =
      scheme.getGranularity() == Granularity::Group
          ? "group size " + std::to_string(scheme.getGroupSize())
          : stringifyGranularity(scheme.getGranularity()).str() +
                " granularity";
  if (failed(verifyShape(*this, "scales", scales, {scaleRows, groups},
                         granularity)))
    return failure();

  Value scaleScales = getScaleScales();
  if (scheme.hasDoubleQuant()) {
    if (!scales.getElementType().isInteger(8))
      return emitOpError("double-quantized scales must be i8 codes, found ")
             << scales.getElementType();
    if (!scaleScales)
      return emitOpError("double-quantized scales need scale_scales");
    int64_t numScales = scaleRows * groups;
    if (ShapedType::isDynamic(n))
      numScales = ShapedType::kDynamic;
    int64_t expected =
        ShapedType::isDynamic(numScales)
            ? ShapedType::kDynamic
            : llvm::divideCeil(numScales, scheme.getDoubleQuantGroup());
    if (failed(verifyShape(
            *this, "scale_scales",
            cast<RankedTensorType>(scaleScales.getType()), {expected},
            "one per " + std::to_string(scheme.getDoubleQuantGroup()) +
                " scales")))
      return failure();
  } else {
    if (scales.getElementType() != scheme.getScaleType())
      return emitOpError("scales element type ")
             << scales.getElementType() << " differs from the scheme's "
             << scheme.getScaleType();
    if (scaleScales)
      return emitOpError("scale_scales given but the scheme has no double "
                         "quantization");
  }

  Value zeroPoints = getZeroPoints();
  if (!scheme.hasZeroPoints() && zeroPoints)
    return emitOpError("zero_points given for a ")
           << (scheme.getSymmetric() ? "symmetric" : "min")
           << " scheme (only asym schemes have them)";
  if (scheme.hasZeroPoints()) {
    if (!zeroPoints)
      return emitOpError("asymmetric scheme needs zero_points");
    if (failed(verifyShape(*this, "zero_points",
                           cast<RankedTensorType>(zeroPoints.getType()),
                           {scaleRows, groups}, "one per scale")))
      return failure();
  }

  Value mins = getMins();
  if (!scheme.hasMins() && mins)
    return emitOpError("mins given for a ")
           << (scheme.getSymmetric() ? "symmetric" : "asym")
           << " scheme (only min schemes have them)";
  if (scheme.hasMins()) {
    if (!mins)
      return emitOpError("min scheme needs mins");
    auto minsType = cast<RankedTensorType>(mins.getType());
    if (failed(verifyShape(*this, "mins", minsType, {scaleRows, groups},
                           "one per scale")))
      return failure();
    if (minsType.getElementType() != scheme.getScaleType())
      return emitOpError("mins element type ")
             << minsType.getElementType() << " differs from the scheme's "
             << scheme.getScaleType();
  }

  Value inputScale = getInputScale();
  bool isStatic = scheme.getActivation() == ActivationScheme::Int8Static;
  if (isStatic && !inputScale)
    return emitOpError("int8_static activations need an input_scale");
  if (!isStatic && inputScale)
    return emitOpError("input_scale given but activations are ")
           << stringifyActivationScheme(scheme.getActivation());
  if (inputScale &&
      failed(verifyShape(*this, "input_scale",
                         cast<RankedTensorType>(inputScale.getType()), {1},
                         "per-tensor scale")))
    return failure();

  if (failed(verifyBias(*this, getBias(), input.getElementType(), n)))
    return failure();
  return verifyLinearResult(*this, input, getResult().getType(), n);
}

//===----------------------------------------------------------------------===//
// QuantizeOp / DequantizeOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizeOp::verify() {
  ActivationScheme mode = getMode();
  RankedTensorType input = getInput().getType();
  RankedTensorType result = getResult().getType();
  if (mode == ActivationScheme::None)
    return emitOpError("mode must quantize (int8_dynamic, int8_static or "
                       "fp8_dynamic), found none");
  bool isFp8 = mode == ActivationScheme::FP8Dynamic;
  Type elementType = result.getElementType();
  if (isFp8 ? !isa<Float8E4M3FNType>(elementType) : !elementType.isInteger(8))
    return emitOpError("result element type must be ")
           << (isFp8 ? "f8E4M3FN" : "i8") << " for "
           << stringifyActivationScheme(mode) << ", found " << elementType;
  if (failed(verifyShape(*this, "result", result, input.getShape(),
                         "the input's shape")))
    return failure();
  RankedTensorType resultScale = getResultScale().getType();
  if (mode == ActivationScheme::Int8Static) {
    if (!getScale())
      return emitOpError("int8_static needs a scale operand");
    if (failed(verifyShape(*this, "scale",
                           cast<RankedTensorType>(getScale().getType()), {1},
                           "per-tensor scale")))
      return failure();
    if (resultScale != getScale().getType())
      return emitOpError("result scale type ")
             << resultScale << " differs from the scale operand's "
             << getScale().getType();
    return success();
  }
  if (getScale())
    return emitOpError("dynamic quantization takes no scale operand");
  SmallVector<int64_t> perToken(input.getShape());
  if (perToken.empty())
    return emitOpError("dynamic quantization needs an input of rank >= 1");
  perToken.back() = 1;
  return verifyShape(*this, "result scale", resultScale, perToken,
                     "one per token");
}

LogicalResult DequantizeOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType scale = getScale().getType();
  if (failed(verifyShape(*this, "result", getResult().getType(),
                         input.getShape(), "the input's shape")))
    return failure();
  if (scale.getRank() == 1 && scale.getDimSize(0) == 1)
    return success();
  bool ok = scale.getRank() == input.getRank();
  for (int64_t i = 0; ok && i < scale.getRank(); ++i)
    ok = scale.getDimSize(i) == 1 ||
         dimsCompatible(scale.getDimSize(i), input.getDimSize(i));
  if (!ok)
    return emitOpError("scale shape ")
           << formatShape(scale.getShape())
           << " does not broadcast to the input shape "
           << formatShape(input.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// KernelCallOp
//===----------------------------------------------------------------------===//

LogicalResult KernelCallOp::verify() {
  if (getResults().size() != getOutputs().size())
    return emitOpError("has ") << getResults().size() << " results for "
                               << getOutputs().size() << " outputs";
  for (auto [index, output, result] :
       llvm::enumerate(getOutputs(), getResults()))
    if (output.getType() != result.getType())
      return emitOpError("result #")
             << index << " has type " << result.getType()
             << " but its output has type " << output.getType();
  return success();
}

LogicalResult
KernelCallOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto kernel = symbolTable.lookupNearestSymbolFrom<FunctionOpInterface>(
      *this, getKernelAttr());
  if (!kernel)
    return emitOpError("'") << getKernel() << "' does not name a function";
  size_t operands = getInputs().size() + getOutputs().size();
  if (kernel.getNumArguments() != operands)
    return emitOpError("kernel '")
           << getKernel() << "' takes " << kernel.getNumArguments()
           << " arguments, but the call passes " << operands;
  return success();
}

#define GET_OP_CLASSES
#include "dialects/NibbleOps.cpp.inc"
