//===- PackedWeights.cpp - Linear weights kept quantized in the archive ---===//

#include "frontends/llm/PackedWeights.h"

#include "frontends/llm/FloatArchive.h"
#include "support/SafeTensors.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"

using llvm::Expected;
using llvm::StringRef;

namespace nibble {
namespace llm {

unsigned PackedWeightLayout::containerBits() const {
  if (bits <= 2)
    return 2;
  if (bits <= 4)
    return 4;
  return 8;
}

std::string PackedWeightLayout::encode() const {
  std::string text = "bits=" + std::to_string(bits) +
                     " group=" + std::to_string(groupSize) +
                     " offset=" + (hasMins ? "min" : "sym") +
                     " scale=" + (f16Scales ? "f16" : "f32");
  if (!source.empty())
    text += " source=" + source;
  return text;
}

bool PackedWeightLayout::operator==(const PackedWeightLayout &other) const {
  return bits == other.bits && groupSize == other.groupSize &&
         hasMins == other.hasMins && f16Scales == other.f16Scales &&
         source == other.source;
}

std::string packedTensorName(StringRef weightName, StringRef suffix) {
  StringRef base = weightName;
  base.consume_back(".weight");
  return (base + "." + suffix).str();
}

Expected<PackedWeightLayout> decodePackedWeightLayout(StringRef weightName,
                                                      StringRef text) {
  auto error = [&](const llvm::Twine &message) {
    return makeError("packed weight '" + weightName + "': " + message +
                     " (in '" + text + "')");
  };
  PackedWeightLayout layout;
  bool sawBits = false, sawGroup = false, sawOffset = false, sawScale = false;
  llvm::SmallVector<StringRef> fields;
  text.split(fields, ' ', -1, /*KeepEmpty=*/false);
  for (StringRef field : fields) {
    auto [key, value] = field.split('=');
    if (key == "bits") {
      if (value.getAsInteger(10, layout.bits) || layout.bits < 2 ||
          layout.bits > 8)
        return error("bits must be 2..8, found '" + value + "'");
      sawBits = true;
    } else if (key == "group") {
      if (value.getAsInteger(10, layout.groupSize) || layout.groupSize <= 0)
        return error("group must be a positive integer, found '" + value + "'");
      sawGroup = true;
    } else if (key == "offset") {
      if (value != "sym" && value != "min")
        return error("offset must be sym or min, found '" + value + "'");
      layout.hasMins = value == "min";
      sawOffset = true;
    } else if (key == "scale") {
      if (value != "f16" && value != "f32")
        return error("scale must be f16 or f32, found '" + value + "'");
      layout.f16Scales = value == "f16";
      sawScale = true;
    } else if (key == "source") {
      layout.source = value.str();
    } else {
      return error("unknown key '" + key + "'");
    }
  }
  if (!sawBits || !sawGroup || !sawOffset || !sawScale)
    return error("expected bits, group, offset and scale");
  return layout;
}

Expected<PackedWeights> readPackedWeights(StringRef archivePath) {
  Expected<std::unique_ptr<SafeTensorsFile>> file =
      SafeTensorsFile::open(archivePath);
  if (!file)
    return file.takeError();
  PackedWeights packed;
  for (const auto &[key, value] : (*file)->metadata()) {
    StringRef name = key;
    if (!name.consume_front(kPackedMetadataPrefix))
      continue;
    Expected<PackedWeightLayout> layout = decodePackedWeightLayout(name, value);
    if (!layout)
      return makeError(archivePath + ": " + llvm::toString(layout.takeError()));
    packed.emplace(name.str(), std::move(*layout));
  }
  return packed;
}

} // namespace llm
} // namespace nibble
