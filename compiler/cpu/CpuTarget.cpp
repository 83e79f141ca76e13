//===- CpuTarget.cpp - What a CPU offers the kernel providers -------------===//

#include "compiler/cpu/CpuTarget.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace nibble;

CpuTarget CpuTarget::fromFeatures(llvm::StringRef triple,
                                  llvm::StringRef features) {
  llvm::StringMap<bool> enabled;
  llvm::SmallVector<llvm::StringRef> list;
  features.split(list, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef feature : list) {
    feature = feature.trim();
    if (feature.consume_front("-"))
      enabled[feature] = false;
    else
      enabled[feature.ltrim('+')] = true;
  }
  auto has = [&](llvm::StringRef name) { return enabled.lookup(name); };

  CpuTarget target;
  llvm::Triple parsed(triple);
  target.isAArch64 = parsed.isAArch64();
  if (target.isAArch64) {
    // NEON and FMA are part of the AArch64 base architecture.
    target.vectorBits = 128;
    target.hasFma = true;
    target.hasInt8Dot = has("dotprod");
    target.hasInt8Matmul = has("i8mm");
    return target;
  }
  if (has("avx512f"))
    target.vectorBits = 512;
  else if (has("avx") || has("avx2"))
    target.vectorBits = 256;
  target.hasFma = has("fma");
  target.hasInt8Dot = (has("avx512vnni") && has("avx512bw")) || has("avxvnni");
  return target;
}

CpuTarget CpuTarget::host() {
  std::string features;
  for (const auto &feature : llvm::sys::getHostCPUFeatures()) {
    features += feature.second ? "+" : "-";
    features += feature.first().str();
    features += ",";
  }
  return fromFeatures(llvm::sys::getProcessTriple(), features);
}

std::string CpuTarget::describe() const {
  std::string text = isAArch64 ? "aarch64" : "x86-64";
  text += " " + std::to_string(vectorBits) + "-bit";
  if (hasFma)
    text += " fma";
  if (hasInt8Dot)
    text += " int8dot";
  if (hasInt8Matmul)
    text += " i8mm";
  return text;
}
