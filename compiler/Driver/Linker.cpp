//===- Linker.cpp - Linking compiled models with the system linker --------===//

#include "compiler/Driver/Linker.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Signals.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

namespace nibble {

llvm::Expected<std::string> findLinkerDriver(const TargetSpec &target) {
  llvm::Triple triple(target.triple);
  llvm::Triple host(llvm::sys::getProcessTriple());
  std::string name;
  if (triple.getArch() == host.getArch() && triple.isOSLinux())
    name = "g++";
  else if (triple.isAArch64() && triple.isOSLinux())
    name = "aarch64-linux-gnu-g++";
  else
    return llvm::createStringError("no linker known for " + target.triple);
  llvm::ErrorOr<std::string> path = llvm::sys::findProgramByName(name);
  if (!path)
    return llvm::createStringError(
        "cannot find '" + name + "' to link for " + target.triple +
        (triple.isAArch64() ? " (Debian package g++-aarch64-linux-gnu)"
                            : " (Debian package g++)"));
  return *path;
}

llvm::Error linkModel(const LinkJob &job) {
  llvm::Expected<std::string> driver = findLinkerDriver(job.target);
  if (!driver)
    return driver.takeError();
  std::vector<std::string> args = {*driver, "-O2", "-I", job.runtimeIncludeDir};
  if (job.sharedLibrary) {
    args.push_back("-shared");
    args.push_back("-fPIC");
  }
  // The driver is g++, so C sources must be named as such.
  for (const std::string &input : job.inputs) {
    bool isC = llvm::StringRef(input).ends_with(".c");
    if (isC) {
      args.push_back("-x");
      args.push_back("c");
    }
    args.push_back(input);
    if (isC) {
      args.push_back("-x");
      args.push_back("none");
    }
  }
  if (!job.sharedLibrary) {
    for (const char *library :
         {"libnibble_model_main.a", "libnibble_runtime.a"}) {
      llvm::SmallString<256> path(job.runtimeLibDir);
      llvm::sys::path::append(path, library);
      if (!llvm::sys::fs::exists(path))
        return llvm::createStringError("the runtime for " + job.target.triple +
                                       " is missing: " + path);
      args.push_back(std::string(path));
    }
    args.push_back("-ldl");
    args.push_back("-lpthread");
  }
  args.push_back("-lm");
  // Linked into a temporary next to the output and renamed into place, so
  // that the output appears complete or not at all.
  llvm::SmallString<256> temporary;
  llvm::sys::fs::createUniquePath(job.output + ".tmp-%%%%%%%%", temporary,
                                  /*MakeAbsolute=*/false);
  llvm::sys::RemoveFileOnSignal(temporary);
  llvm::scope_exit removeTemporary([&] {
    llvm::sys::fs::remove(temporary);
    llvm::sys::DontRemoveFileOnSignal(temporary);
  });
  args.push_back("-o");
  args.push_back(std::string(temporary));

  llvm::SmallVector<llvm::StringRef> argRefs(args.begin(), args.end());
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*driver, argRefs, std::nullopt, {}, 0,
                                         0, &message);
  if (status != 0)
    return llvm::createStringError(
        "linking failed (" +
        (message.empty() ? "exit " + std::to_string(status) : message) +
        "): " + llvm::join(args, " "));
  if (std::error_code ec = llvm::sys::fs::rename(temporary, job.output))
    return llvm::createStringError("cannot rename " + temporary + " to " +
                                   job.output + ": " + ec.message());
  return llvm::Error::success();
}

} // namespace nibble
