//===- QuantSpec.cpp - #nibble.scheme <-> numerics::QuantSpec -------------===//

#include "passes/QuantSpec.h"

using namespace mlir;

namespace nibble {

numerics::ElementFormat toElementFormat(WeightFormat format) {
  switch (format) {
  case WeightFormat::Int:
    return numerics::ElementFormat::Int;
  case WeightFormat::NF4:
    return numerics::ElementFormat::NF4;
  case WeightFormat::FP4E2M1:
    return numerics::ElementFormat::FP4E2M1;
  case WeightFormat::FP8E4M3:
    return numerics::ElementFormat::FP8E4M3;
  }
  llvm_unreachable("unknown weight format");
}

numerics::ScaleType toScaleType(Type type) {
  if (type.isF16())
    return numerics::ScaleType::F16;
  if (type.isBF16())
    return numerics::ScaleType::BF16;
  return numerics::ScaleType::F32;
}

numerics::QuantSpec toQuantSpec(SchemeAttr scheme,
                                numerics::ScaleSearch search) {
  numerics::QuantSpec spec;
  spec.format = toElementFormat(scheme.getFormat());
  spec.bits = scheme.getBits();
  // Callers refuse `min` schemes, which the quantizer does not produce.
  spec.symmetric = scheme.getSymmetric();
  switch (scheme.getGranularity()) {
  case Granularity::Tensor:
    spec.groupSize = -1;
    break;
  case Granularity::Channel:
    spec.groupSize = 0;
    break;
  case Granularity::Group:
    spec.groupSize = scheme.getGroupSize();
    break;
  }
  spec.scaleType = toScaleType(scheme.getScaleType());
  spec.doubleQuantGroup = scheme.getDoubleQuantGroup();
  spec.search = search;
  return spec;
}

} // namespace nibble
