//===- NibbleAttrs.cpp - #nibble.scheme and the dialect's enums -----------===//
//
// Custom syntax and verification of the quantization scheme attribute.
//
//===----------------------------------------------------------------------===//

#include "dialects/NibbleDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace nibble;

#include "dialects/NibbleEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/NibbleAttrs.cpp.inc"

void NibbleDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/NibbleAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// SchemeAttr
//===----------------------------------------------------------------------===//

unsigned SchemeAttr::getContainerBits() const {
  unsigned bits = getBits();
  if (bits <= 2)
    return 2;
  if (bits <= 4)
    return 4;
  return 8;
}

int64_t SchemeAttr::getGroupsPerRow(int64_t k) const {
  if (getGranularity() == Granularity::Group)
    return k / getGroupSize();
  return 1;
}

LogicalResult SchemeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 WeightFormat format, unsigned bits,
                                 Granularity granularity, int64_t groupSize,
                                 CodeOffset offset, Type scaleType,
                                 int64_t doubleQuantGroup,
                                 ActivationScheme activation,
                                 int64_t activationGroup) {
  switch (format) {
  case WeightFormat::Int:
    if (bits < 2 || bits > 8)
      return emitError() << "integer weights must have 2 to 8 bits, found "
                         << bits;
    break;
  case WeightFormat::NF4:
  case WeightFormat::FP4E2M1:
    if (bits != 4)
      return emitError() << stringifyWeightFormat(format)
                         << " weights have 4 bits, found " << bits;
    break;
  case WeightFormat::FP8E4M3:
    if (bits != 8)
      return emitError() << "fp8 weights have 8 bits, found " << bits;
    break;
  }
  if (offset != CodeOffset::Symmetric && format != WeightFormat::Int)
    return emitError() << (offset == CodeOffset::Min
                               ? "float minimums (min) need"
                               : "asymmetric quantization needs")
                       << " an integer format, found "
                       << stringifyWeightFormat(format);
  if (granularity == Granularity::Group && groupSize <= 0)
    return emitError() << "group size must be positive, found " << groupSize;
  if (granularity != Granularity::Group && groupSize != 0)
    return emitError() << "group size " << groupSize << " given for "
                       << stringifyGranularity(granularity) << " granularity";
  if (!scaleType ||
      !(scaleType.isF32() || scaleType.isF16() || scaleType.isBF16()))
    return emitError() << "scale type must be f32, f16 or bf16, found "
                       << scaleType;
  if (doubleQuantGroup < 0)
    return emitError() << "double quantization group must be positive, found "
                       << doubleQuantGroup;
  if (offset == CodeOffset::Min && doubleQuantGroup > 0)
    return emitError() << "float minimums are stored in the scale type; they "
                          "cannot be combined with double_quant";
  if (activationGroup < 0)
    return emitError() << "activation group must be positive, found "
                       << activationGroup;
  if (activationGroup > 0 && activation != ActivationScheme::Int8Dynamic &&
      activation != ActivationScheme::FP8Dynamic)
    return emitError() << "act_group needs a dynamic activation scheme "
                          "(int8_dynamic or fp8_dynamic), found "
                       << stringifyActivationScheme(activation);
  return success();
}

/// Parses `= <integer>` after a key.
static ParseResult parseIntValue(AsmParser &parser, int64_t &value) {
  return failure(parser.parseEqual() || parser.parseInteger(value));
}

/// Fills the fields of the preset `name` (the schemes of common recipes);
/// returns false if `name` is no preset.
static bool applyPreset(StringRef name, WeightFormat &format, unsigned &bits,
                        Granularity &granularity, int64_t &groupSize,
                        int64_t &doubleQuantGroup,
                        ActivationScheme &activation) {
  if (name == "w4a16") { // GPTQ/AWQ's usual: 4-bit, groups of 128.
    format = WeightFormat::Int;
    bits = 4;
    granularity = Granularity::Group;
    groupSize = 128;
  } else if (name == "w8a16") {
    format = WeightFormat::Int;
    bits = 8;
  } else if (name == "w8a8") { // SmoothQuant-style int8 x int8.
    format = WeightFormat::Int;
    bits = 8;
    activation = ActivationScheme::Int8Dynamic;
  } else if (name == "fp8_dynamic") {
    format = WeightFormat::FP8E4M3;
    bits = 8;
    activation = ActivationScheme::FP8Dynamic;
  } else if (name == "qlora") { // NF4, groups of 64, double quantization.
    format = WeightFormat::NF4;
    bits = 4;
    granularity = Granularity::Group;
    groupSize = 64;
    doubleQuantGroup = 256;
  } else {
    return false;
  }
  return true;
}

Attribute SchemeAttr::parse(AsmParser &parser, Type) {
  MLIRContext *ctx = parser.getContext();
  WeightFormat format = WeightFormat::Int;
  unsigned bits = 8;
  Granularity granularity = Granularity::Channel;
  int64_t groupSize = 0;
  CodeOffset offset = CodeOffset::Symmetric;
  Type scaleType = Float32Type::get(ctx);
  int64_t doubleQuantGroup = 0;
  ActivationScheme activation = ActivationScheme::None;
  int64_t activationGroup = 0;

  if (parser.parseLess())
    return {};
  SMLoc formatLoc = parser.getCurrentLocation();
  StringRef formatName;
  if (parser.parseKeyword(&formatName))
    return {};
  if (applyPreset(formatName, format, bits, granularity, groupSize,
                  doubleQuantGroup, activation)) {
    // A preset fills every field; later parameters may still override.
  } else if (formatName == "nf4") {
    format = WeightFormat::NF4;
    bits = 4;
  } else if (formatName == "fp4") {
    format = WeightFormat::FP4E2M1;
    bits = 4;
  } else if (formatName == "fp8") {
    format = WeightFormat::FP8E4M3;
    bits = 8;
  } else if (formatName.consume_front("w") &&
             !formatName.getAsInteger(10, bits)) {
    format = WeightFormat::Int;
  } else {
    parser.emitError(formatLoc,
                     "expected a weight format (w2..w8, nf4, fp4, fp8) or "
                     "a preset (w4a16, w8a16, w8a8, fp8_dynamic, qlora), "
                     "found '")
        << formatName << "'";
    return {};
  }

  while (succeeded(parser.parseOptionalComma())) {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key))
      return {};
    // Every key overrides what the format keyword or preset set, so a
    // granularity key also resets the group size.
    if (key == "tensor") {
      granularity = Granularity::Tensor;
      groupSize = 0;
    } else if (key == "channel") {
      granularity = Granularity::Channel;
      groupSize = 0;
    } else if (key == "format") {
      SMLoc valueLoc = parser.getCurrentLocation();
      StringRef value;
      if (parser.parseEqual() || parser.parseKeyword(&value))
        return {};
      std::optional<WeightFormat> parsed = symbolizeWeightFormat(value);
      if (!parsed) {
        parser.emitError(valueLoc, "unknown weight format '")
            << value << "' (expected int, nf4, fp4 or fp8)";
        return {};
      }
      // The code-book formats have one width; int keeps the bits so far.
      format = *parsed;
      if (format == WeightFormat::NF4 || format == WeightFormat::FP4E2M1)
        bits = 4;
      else if (format == WeightFormat::FP8E4M3)
        bits = 8;
    } else if (key == "bits") {
      int64_t value;
      if (parseIntValue(parser, value))
        return {};
      if (value < 1 || value > 64) {
        parser.emitError(keyLoc, "bits must be between 1 and 64, found ")
            << value;
        return {};
      }
      bits = unsigned(value);
    } else if (key == "group") {
      granularity = Granularity::Group;
      if (parseIntValue(parser, groupSize))
        return {};
    } else if (key == "sym") {
      offset = CodeOffset::Symmetric;
    } else if (key == "asym") {
      offset = CodeOffset::ZeroPoint;
    } else if (key == "min") {
      offset = CodeOffset::Min;
    } else if (key == "scale") {
      if (parser.parseEqual() || parser.parseType(scaleType))
        return {};
    } else if (key == "double_quant") {
      if (parseIntValue(parser, doubleQuantGroup))
        return {};
    } else if (key == "act") {
      SMLoc actLoc = parser.getCurrentLocation();
      StringRef actName;
      if (parser.parseEqual() || parser.parseKeyword(&actName))
        return {};
      std::optional<ActivationScheme> parsed =
          symbolizeActivationScheme(actName);
      if (!parsed) {
        parser.emitError(actLoc, "unknown activation scheme '")
            << actName
            << "' (expected none, int8_dynamic, int8_static or fp8_dynamic)";
        return {};
      }
      activation = *parsed;
    } else if (key == "act_group") {
      if (parseIntValue(parser, activationGroup))
        return {};
    } else {
      parser.emitError(keyLoc, "unknown scheme parameter '") << key << "'";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<SchemeAttr>(
      ctx, format, bits, granularity, groupSize, offset, scaleType,
      doubleQuantGroup, activation, activationGroup);
}

void SchemeAttr::print(AsmPrinter &printer) const {
  printer << "<";
  if (getFormat() == WeightFormat::Int)
    printer << "w" << getBits();
  else
    printer << stringifyWeightFormat(getFormat());
  switch (getGranularity()) {
  case Granularity::Tensor:
    printer << ", tensor";
    break;
  case Granularity::Channel:
    printer << ", channel";
    break;
  case Granularity::Group:
    printer << ", group = " << getGroupSize();
    break;
  }
  printer << ", " << stringifyCodeOffset(getOffset());
  if (!getScaleType().isF32())
    printer << ", scale = " << getScaleType();
  if (hasDoubleQuant())
    printer << ", double_quant = " << getDoubleQuantGroup();
  if (getActivation() != ActivationScheme::None)
    printer << ", act = " << stringifyActivationScheme(getActivation());
  if (getActivationGroup() > 0)
    printer << ", act_group = " << getActivationGroup();
  printer << ">";
}
