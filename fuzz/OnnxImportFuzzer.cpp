//===- OnnxImportFuzzer.cpp - Fuzzing the ONNX importer -------------------===//
//
// Feeds the input, as a serialized ModelProto, to
// nibble::importOnnxModelFromBytes: the protobuf parse, every supported
// operator (the quantized ones included: QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, QLinearMatMul, MatMulInteger, MatMulNBits) and
// initializers inline, typed or external. The model "lives" in a private
// scratch directory that holds one external data file, `external.data`
// (kExternalFloats float32 values, value i = (i % 251 - 125) / 64), which
// initializers may point at with data_location=EXTERNAL; the importer's
// weight archive is written there too. A model the importer accepts must
// produce a module that verifies.
//
//===----------------------------------------------------------------------===//

#include "fuzz/FuzzUtil.h"
#include "fuzz/MlirFuzzUtil.h"
#include "frontends/onnx/OnnxImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <fstream>
#include <vector>

namespace {

/// Size of external.data in float32 values (256 KiB).
constexpr size_t kExternalFloats = 65536;

nibble::fuzz::SharedContext *contexts;
std::string modelPath;
nibble::OnnxImportOptions *options;

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  mlir::DialectRegistry registry;
  nibble::registerOnnxImporterDialects(registry);
  contexts = new nibble::fuzz::SharedContext(std::move(registry));
  const std::string &dir = nibble::fuzz::scratchDir();
  std::vector<float> values(kExternalFloats);
  for (size_t i = 0; i < kExternalFloats; ++i)
    values[i] = (float)((int)(i % 251) - 125) / 64.0f;
  std::ofstream external(dir + "/external.data", std::ios::binary);
  external.write(reinterpret_cast<const char *>(values.data()),
                 values.size() * sizeof(float));
  if (!external.good())
    nibble::fuzz::fail("cannot write external.data");
  modelPath = dir + "/model.onnx";
  options = new nibble::OnnxImportOptions;
  options->weightsPath = dir + "/weights.safetensors";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext &context = contexts->next();
  mlir::ScopedDiagnosticHandler silence(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  nibble::OnnxImportFailure kind = nibble::OnnxImportFailure::None;
  mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>> module =
      nibble::importOnnxModelFromBytes(
          llvm::StringRef(reinterpret_cast<const char *>(data), size),
          modelPath, context, *options, &kind);
  if (mlir::failed(module)) {
    if (kind == nibble::OnnxImportFailure::None)
      nibble::fuzz::fail("the import failed without saying why");
    return 0;
  }
  if (mlir::failed(mlir::verify(module->get())))
    nibble::fuzz::fail("the importer produced a module that does not verify");
  return 0;
}
