//===- OnnxImporter.cpp - Importing ONNX models into MLIR -----------------===//
//
// The core of the importer: parses the ModelProto, checks its IR version and
// opset, loads initializers, builds the function from the graph's inputs and
// outputs, and converts the nodes in order through the converter table.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/OnnxImporter.h"
#include "frontends/onnx/BoundInputs.h"
#include "frontends/onnx/ImportContext.h"

#include "dialects/NibbleDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace mlir;

namespace nibble {

using onnx_import::ConverterTable;
using onnx_import::ImportContext;
using onnx_import::OpConverter;

/// Opsets of the default domain the converters' semantics cover.
static constexpr int64_t kMinOpset = 13;
static constexpr int64_t kMaxOpset = 21;
static constexpr int64_t kMinIRVersion = 7;

void registerOnnxImporterDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, func::FuncDialect, linalg::LinalgDialect,
                  math::MathDialect, tensor::TensorDialect, NibbleDialect>();
}

static const ConverterTable &getConverterTable() {
  static const ConverterTable table = [] {
    ConverterTable t;
    onnx_import::registerElementwiseOps(t);
    onnx_import::registerShapeOps(t);
    onnx_import::registerReductionOps(t);
    onnx_import::registerLinearOps(t);
    onnx_import::registerNormalizationOps(t);
    onnx_import::registerQuantizedOps(t);
    return t;
  }();
  return table;
}

/// The static type of a graph input; errors name the input.
static FailureOr<RankedTensorType>
graphInputType(ImportContext &ctx, const onnx::ValueInfoProto &info,
               const OnnxImportOptions &options, Location loc) {
  if (!info.type().has_tensor_type())
    return ctx.emitUnsupportedAt(loc)
           << "graph input '" << info.name() << "' is not a tensor";
  const onnx::TypeProto_Tensor &tensor = info.type().tensor_type();
  // UINT8 inputs are i8 bytes the quantization operators read as unsigned.
  Type elementTy = tensor.elem_type() == onnx::TensorProto::UINT8
                       ? IntegerType::get(ctx.getContext(), 8)
                       : ctx.elementType(tensor.elem_type());
  if (!elementTy)
    return ctx.emitUnsupportedAt(loc)
           << "graph input '" << info.name()
           << "' has unsupported element type "
           << onnx_import::onnxTypeName(tensor.elem_type());
  if (!tensor.has_shape())
    return emitError(loc) << "graph input '" << info.name()
                          << "' has no shape; nibble imports static shapes";
  llvm::SmallVector<int64_t> shape;
  for (const onnx::TensorShapeProto_Dimension &dim : tensor.shape().dim()) {
    if (dim.has_dim_param()) {
      auto it = options.dimParams.find(dim.dim_param());
      if (it != options.dimParams.end()) {
        if (it->second < 0)
          return emitError(loc) << "dimension '" << dim.dim_param()
                                << "' is bound to negative " << it->second;
        shape.push_back(it->second);
        continue;
      }
    }
    if (!dim.has_dim_value() || dim.dim_value() < 0) {
      InFlightDiagnostic diag = ctx.emitUnsupportedAt(loc)
                                << "graph input '" << info.name()
                                << "' has dynamic dimension " << shape.size();
      if (dim.has_dim_param())
        diag << " ('" << dim.dim_param()
             << "'); bind it, e.g. --onnx-dim=" << dim.dim_param()
             << "=1 (OnnxImportOptions::dimParams)";
      else
        diag << "; nibble imports static shapes";
      return diag;
    }
    shape.push_back(dim.dim_value());
  }
  if (!checkedNumElements(shape))
    return emitError(loc) << "graph input '" << info.name() << "' has shape "
                          << formatShape(shape)
                          << ", whose element count overflows int64";
  return RankedTensorType::get(shape, elementTy);
}

/// A function name from the graph's name: letters, digits and '_' only.
static std::string sanitizeName(llvm::StringRef name) {
  std::string result;
  for (char c : name)
    result += llvm::isAlnum(c) || c == '_' ? c : '_';
  if (result.empty() || llvm::isDigit(result[0]))
    result = "graph_" + result;
  return result;
}

/// Imports the model whose ModelProto is `bytes` with `ctx`, which has not
/// converted anything yet.
static FailureOr<OwningOpRef<ModuleOp>>
importModel(ImportContext &ctx, llvm::StringRef bytes,
            llvm::StringRef modelPath, const OnnxImportOptions &options) {
  MLIRContext &mlirCtx = *ctx.getContext();
  Location fileLoc = FileLineColLoc::get(&mlirCtx, modelPath, 0, 0);

  onnx::ModelProto model;
  if (bytes.size() > (size_t)INT32_MAX ||
      !model.ParseFromArray(bytes.data(), (int)bytes.size()))
    return emitError(fileLoc)
           << "not a valid ONNX model (the protobuf does not parse)";
  if (!model.has_graph())
    return emitError(fileLoc) << "not a valid ONNX model (no graph)";
  if (model.ir_version() < kMinIRVersion)
    return ctx.emitUnsupportedAt(fileLoc)
           << "ONNX IR version " << model.ir_version()
           << " is not supported (nibble needs " << kMinIRVersion
           << " or later)";
  if (options.weightsPath.empty())
    return emitError(fileLoc)
           << "no weight archive path given for the ONNX import";

  int64_t opset = -1;
  for (const onnx::OperatorSetIdProto &id : model.opset_import())
    if (id.domain().empty() || id.domain() == "ai.onnx")
      opset = id.version();
  if (opset < kMinOpset || opset > kMaxOpset)
    return ctx.emitUnsupportedAt(fileLoc)
           << "the model imports opset " << opset
           << " of the default ONNX domain; nibble supports opsets "
           << kMinOpset << " to " << kMaxOpset;

  const onnx::GraphProto &graph = model.graph();
  ctx.setOpset(opset);
  for (const onnx::TensorProto &init : graph.initializer())
    if (failed(ctx.loadInitializer(init)))
      return failure();
  if (graph.sparse_initializer_size())
    return ctx.emitUnsupportedAt(fileLoc)
           << "sparse initializers are not supported";
  // Converters and the patterns they match across nodes read a node's
  // first output; every ONNX operator has at least one.
  for (const auto &[index, node] : llvm::enumerate(graph.node()))
    if (node.output_size() == 0)
      return emitError(fileLoc)
             << node.op_type() << " node '"
             << (node.name().empty()
                     ? node.op_type() + "_" + std::to_string(index)
                     : node.name())
             << "' has no outputs";
  ctx.indexGraph(graph);
  if (failed(onnx_import::bindGraphInputs(ctx, graph, options, fileLoc)))
    return failure();

  // The function: one argument per graph input that is not an initializer.
  OpBuilder &b = ctx.getBuilder();
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  llvm::SmallVector<Type> argTypes;
  llvm::SmallVector<Location> argLocs;
  llvm::SmallVector<const onnx::ValueInfoProto *> args;
  for (const onnx::ValueInfoProto &info : graph.input()) {
    if (ctx.isInitializer(info.name()))
      continue;
    FailureOr<RankedTensorType> type =
        graphInputType(ctx, info, options, fileLoc);
    if (failed(type))
      return failure();
    argTypes.push_back(*type);
    argLocs.push_back(NameLoc::get(b.getStringAttr(info.name())));
    args.push_back(&info);
  }
  std::string funcName = options.functionName;
  if (funcName.empty())
    funcName = graph.name().empty() ? "main" : sanitizeName(graph.name());
  b.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(b, fileLoc, funcName,
                                   b.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  for (auto [arg, loc, info] :
       llvm::zip(entry->getArguments(), argLocs, args)) {
    arg.setLoc(loc);
    ctx.defineArgument(info->name(), arg);
    if (info->type().tensor_type().elem_type() == onnx::TensorProto::UINT8) {
      ctx.markUnsigned(info->name());
      func.setArgAttr(arg.getArgNumber(), "nibble.unsigned", b.getUnitAttr());
    }
  }
  b.setInsertionPointToEnd(entry);

  // The nodes, in order (ONNX requires a topological order).
  const ConverterTable &table = getConverterTable();
  int nodeIndex = 0;
  for (const onnx::NodeProto &node : graph.node()) {
    std::string nodeName =
        node.name().empty() ? node.op_type() + "_" + std::to_string(nodeIndex)
                            : node.name();
    ++nodeIndex;
    // Named after the node; diagnostics print the model file as position.
    Location loc = NameLoc::get(b.getStringAttr(nodeName), fileLoc);
    ctx.setCurrentNode(&node, loc);
    if (ctx.isAbsorbed(&node))
      continue;
    bool defaultDomain = node.domain().empty() || node.domain() == "ai.onnx";
    int64_t domainOpset = opset;
    if (!defaultDomain) {
      domainOpset = -1;
      for (const onnx::OperatorSetIdProto &id : model.opset_import())
        if (id.domain() == node.domain())
          domainOpset = id.version();
    }
    // Other domains' converters are registered as "<domain>.<op>".
    const OpConverter *converter =
        defaultDomain
            ? table.lookup(node.op_type(), opset)
            : table.lookup(node.domain() + "." + node.op_type(), domainOpset);
    if (!converter) {
      return ctx.emitUnsupportedAt(loc)
             << "unsupported ONNX operator '" << node.op_type() << "' (node '"
             << nodeName << "', domain '"
             << (defaultDomain ? "ai.onnx" : node.domain()) << "', opset "
             << domainOpset << ")";
    }
    if (!converter->readsUnsigned)
      for (const std::string &input : node.input())
        if (ctx.isUnsigned(input))
          return ctx.emitUnsupportedAt(loc)
                 << node.op_type() << " node '" << nodeName << "': input '"
                 << input
                 << "' is uint8, which nibble imports only as an input of "
                    "quantization operators";
    if (failed(converter->convert(ctx)))
      return failure();
    for (int i = 0; i < node.output_size(); ++i)
      if (!node.output(i).empty() && ctx.isNeeded(node.output(i)) &&
          failed(ctx.typeOf(node.output(i), loc)))
        return ctx.emitUnsupportedAt(loc)
               << node.op_type() << " node '" << nodeName << "': output " << i
               << " ('" << node.output(i)
               << "') is not produced (not supported yet)";
  }

  // The results.
  llvm::SmallVector<Value> results;
  for (const onnx::ValueInfoProto &info : graph.output()) {
    FailureOr<Value> value = ctx.valueOf(info.name(), fileLoc);
    if (failed(value))
      return failure();
    results.push_back(*value);
  }
  func::ReturnOp::create(b, fileLoc, results);
  func.setFunctionType(
      b.getFunctionType(argTypes, ValueRange(results).getTypes()));
  // uint8 outputs (held as i8) are marked for the model interface.
  for (auto [i, info] : llvm::enumerate(graph.output()))
    if (ctx.isUnsigned(info.name()))
      func.setResultAttr(i, "nibble.unsigned", b.getUnitAttr());

  llvm::SmallString<256> archivePath(options.weightsPath);
  llvm::sys::fs::make_absolute(archivePath);
  if (llvm::Error error = ctx.writeArchive(archivePath))
    return emitError(fileLoc) << "cannot write the weight archive: "
                              << llvm::toString(std::move(error));
  (*module)->setAttr("nibble.weights", b.getStringAttr(archivePath));
  if (failed(verify(*module)))
    return failure();
  return module;
}

FailureOr<OwningOpRef<ModuleOp>>
importOnnxModelFromBytes(llvm::StringRef bytes, llvm::StringRef modelPath,
                         MLIRContext &mlirCtx, const OnnxImportOptions &options,
                         OnnxImportFailure *failureKind) {
  DialectRegistry registry;
  registerOnnxImporterDialects(registry);
  mlirCtx.appendDialectRegistry(registry);
  mlirCtx.loadAllAvailableDialects();
  ImportContext ctx(mlirCtx, options, modelPath);
  FailureOr<OwningOpRef<ModuleOp>> module =
      importModel(ctx, bytes, modelPath, options);
  if (failureKind)
    *failureKind = succeeded(module)      ? OnnxImportFailure::None
                   : ctx.sawUnsupported() ? OnnxImportFailure::Unsupported
                                          : OnnxImportFailure::Invalid;
  return module;
}

FailureOr<OwningOpRef<ModuleOp>>
importOnnxModel(llvm::StringRef modelPath, MLIRContext &ctx,
                const OnnxImportOptions &options,
                OnnxImportFailure *failureKind) {
  if (failureKind)
    *failureKind = OnnxImportFailure::Invalid;
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
      llvm::MemoryBuffer::getFile(modelPath, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!file)
    return emitError(UnknownLoc::get(&ctx))
           << "cannot open ONNX model '" << modelPath
           << "': " << file.getError().message();
  return importOnnxModelFromBytes((*file)->getBuffer(), modelPath, ctx, options,
                                  failureKind);
}

} // namespace nibble
