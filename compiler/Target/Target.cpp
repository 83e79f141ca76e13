//===- Target.cpp - The machine nibblec generates code for ----------------===//

#include "compiler/Target/Target.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

namespace nibble {

bool TargetSpec::isAArch64() const { return llvm::Triple(triple).isAArch64(); }

/// Initializes the LLVM targets nibble supports (once).
static void initializeTargets() {
  static bool initialized = [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    llvm::InitializeAllAsmParsers();
    return true;
  }();
  (void)initialized;
}

llvm::Expected<TargetSpec> resolveTarget(llvm::StringRef target,
                                         llvm::StringRef cpu,
                                         llvm::StringRef features) {
  TargetSpec spec;
  spec.cpu = cpu.str();
  spec.features = features.str();
  if (target == "host" || target.empty()) {
    spec.isHost = true;
    spec.triple = llvm::sys::getProcessTriple();
    if (cpu.empty() || cpu == "host")
      spec.cpu = llvm::sys::getHostCPUName().str();
    if (features.empty()) {
      llvm::SmallVector<std::string> hostFeatures;
      for (const auto &feature : llvm::sys::getHostCPUFeatures())
        hostFeatures.push_back((feature.second ? "+" : "-") +
                               feature.first().str());
      llvm::sort(hostFeatures);
      spec.features = llvm::join(hostFeatures, ",");
    }
  } else if (target == "x86_64") {
    spec.triple = "x86_64-unknown-linux-gnu";
  } else if (target == "aarch64") {
    spec.triple = "aarch64-unknown-linux-gnu";
  } else {
    llvm::Triple triple(llvm::Triple::normalize(target));
    if (triple.getArch() == llvm::Triple::UnknownArch)
      return llvm::createStringError(
          "unknown target '" + target +
          "' (expected host, x86_64, aarch64 or a target triple)");
    spec.triple = triple.str();
  }
  if (!spec.isHost && spec.cpu == "host")
    return llvm::createStringError(
        "--mcpu=host is only valid with --target=host");
  return spec;
}

/// Checks every entry of a feature list against the target's features.
static llvm::Error checkFeatures(const llvm::MCSubtargetInfo &info,
                                 const TargetSpec &spec) {
  llvm::SmallVector<llvm::StringRef> features;
  llvm::StringRef(spec.features).split(features, ',', -1, false);
  for (llvm::StringRef feature : features) {
    llvm::StringRef name = feature.trim();
    if (!name.consume_front("+") && !name.consume_front("-"))
      return llvm::createStringError("feature '" + feature +
                                     "' must start with '+' or '-'");
    bool known = llvm::any_of(
        info.getAllProcessorFeatures(),
        [&](const llvm::SubtargetFeatureKV &kv) { return name == kv.Key; });
    if (!known)
      return llvm::createStringError(
          "unknown feature '" + name + "' for " + spec.triple + " (e.g. " +
          (spec.isAArch64() ? "+neon,+dotprod,+i8mm" : "+avx2,+fma") + ")");
  }
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const TargetSpec &spec) {
  initializeTargets();
  llvm::Triple triple(spec.triple);
  std::string message;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, message);
  if (!target)
    return llvm::createStringError("no code generator for " + spec.triple +
                                   ": " + message);
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!spec.cpu.empty() && !info->isCPUStringValid(spec.cpu))
    return llvm::createStringError("unknown CPU '" + spec.cpu + "' for " +
                                   spec.triple);
  if (llvm::Error error = checkFeatures(*info, spec))
    return std::move(error);
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, spec.cpu, spec.features, options, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return llvm::createStringError("cannot create a target machine for " +
                                   spec.triple);
  return machine;
}

} // namespace nibble
