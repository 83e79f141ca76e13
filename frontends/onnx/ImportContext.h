//===- ImportContext.h - State shared by the ONNX op converters -*- C++ -*-===//
//
// The importer walks the graph's nodes in order. For each node it looks up a
// converter by op type and opset and hands it an ImportContext, through which
// the converter reads the node's inputs (as SSA values or, where known at
// import time, as constant tensors), its attributes, and records its outputs.
//
// Values known at import time (initializers, Constant nodes, and shape
// computations folded by the converters) are kept as DenseElementsAttr and
// only materialized in the IR when an operation consumes them as a tensor,
// so that Reshape, Expand, Slice and friends see static shapes.
//
// This header is internal to the frontend; OnnxImporter.h is the public API.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FRONTENDS_ONNX_IMPORTCONTEXT_H
#define NIBBLE_FRONTENDS_ONNX_IMPORTCONTEXT_H

#include "frontends/onnx/OnnxImporter.h"
#include "support/SafeTensors.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"

#include <onnx/onnx_pb.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nibble {
namespace onnx_import {

/// TensorProto::DataType values newer than the protobuf classes nibble
/// builds against (onnx 1.16).
inline constexpr int32_t kOnnxUInt4 = 21;
inline constexpr int32_t kOnnxInt4 = 22;

/// An initializer of the graph: its type and its little-endian bytes in the
/// layout of the MLIR element type (one byte per bool).
struct Initializer {
  std::string name;
  mlir::RankedTensorType type;
  /// Points into the ModelProto, a mapped external data file, or `owned`.
  llvm::ArrayRef<uint8_t> bytes;
  std::vector<uint8_t> owned;
  /// For the transpose of a 2-D initializer (a Transpose node's output, kept
  /// as a view so that a MatMul over it is still a linear over the original
  /// param): the initializer it transposes; `bytes` is then empty.
  const Initializer *transposeOf = nullptr;
  /// The ONNX TensorProto::DataType. UINT8 initializers (quantized weights
  /// and zero points) are held as i8 bytes, INT4/UINT4 ones as one i8 per
  /// element; only the quantized-op converters read them.
  int32_t onnxType = 0;
};

/// A constant weight that a DequantizeLinear (or MatMulNBits) describes in a
/// form nibble.qlinear takes directly, in PyTorch's [N, K] layout: one
/// unsigned code per byte, value = scale * (code - zero).
struct QuantizedWeight {
  std::string name;
  int64_t n = 0, k = 0;
  unsigned bits = 8;
  /// Weights per scale along K; 0 = one per output row (channel), -1 = one
  /// for the whole tensor.
  int64_t groupSize = 0;
  bool symmetric = true;
  /// Element type of `scales` (f32, f16 or bf16).
  mlir::Type scaleType;
  /// [N, K] codes in [0, 2^bits).
  std::vector<uint8_t> codes;
  /// [rows, groups] scales as bytes of `scaleType` (rows = 1 for tensor).
  std::vector<uint8_t> scales;
  /// [rows, groups] unsigned zero points; empty when symmetric.
  std::vector<uint8_t> zeros;
  /// The params (qweight, scales, zeros) once created, shared by every
  /// MatMul reading the weight.
  mutable llvm::SmallVector<mlir::Value, 3> params;
};

/// Converter state for one model; see the file comment.
class ImportContext {
public:
  ImportContext(mlir::MLIRContext &ctx, const OnnxImportOptions &options,
                llvm::StringRef modelPath);

  mlir::MLIRContext *getContext() { return &context; }
  mlir::OpBuilder &getBuilder() { return builder; }

  //===--------------------------------------------------------------------===//
  // The node being converted
  //===--------------------------------------------------------------------===//

  const onnx::NodeProto &node() const { return *currentNode; }
  mlir::Location loc() const { return currentLoc; }
  /// The model's opset of the default domain.
  int64_t opset() const { return defaultOpset; }

  /// Emits an error at the node's location, prefixed with the op type and
  /// node name.
  mlir::InFlightDiagnostic emitError();

  /// Like emitError, for a valid model that uses something nibble does not
  /// support (yet): an operator, a data type, an attribute value. The import
  /// then reports its failure as unsupported (OnnxImportFailure), which
  /// tools turn into a distinct exit status.
  mlir::InFlightDiagnostic emitUnsupported();
  /// emitUnsupported at `loc`, without the node prefix.
  mlir::InFlightDiagnostic emitUnsupportedAt(mlir::Location loc);
  /// The type of a tensor of `shape` computed from the model (a broadcast, a
  /// requested shape, a concatenation), or an error at the node when a
  /// dimension is negative or the element count overflows int64_t (the
  /// one place importers check the size products they derive).
  mlir::FailureOr<mlir::RankedTensorType>
  checkedTensorType(llvm::ArrayRef<int64_t> shape, mlir::Type elementType);

  /// Whether an emitUnsupported error was emitted.
  bool sawUnsupported() const { return unsupported; }

  /// Number of inputs (including empty optional ones) and whether input `i`
  /// is present (not empty).
  unsigned numInputs() const { return currentNode->input_size(); }
  bool hasInput(unsigned i) const;
  unsigned numOutputs() const { return currentNode->output_size(); }
  bool hasOutput(unsigned i) const;

  /// The type of input `i` (value, constant or initializer).
  mlir::FailureOr<mlir::RankedTensorType> inputType(unsigned i);
  /// Input `i` as an SSA value, materializing a known constant (inline or as
  /// nibble.param) if needed.
  mlir::FailureOr<mlir::Value> input(unsigned i);
  /// Input `i` as a constant known at import time, or null.
  mlir::DenseElementsAttr constantInput(unsigned i);
  /// Input `i` as a list of integers; emits an error saying the input must
  /// be a compile-time constant integer tensor when it is not.
  mlir::FailureOr<llvm::SmallVector<int64_t>> constantInts(unsigned i);
  /// Input `i` if it is an initializer, else null.
  const Initializer *initializerInput(unsigned i) const;
  /// When input `i` is a graph input (a function argument) or is computed
  /// from graph inputs' values, a hint for errors that need its value at
  /// import time: how to bind them with --bind-input; else "".
  std::string bindInputHint(unsigned i) const;

  /// A nibble.param for `init`, transposed ([a, b] -> [b, a]) if asked;
  /// the data goes into the archive. Always a param, whatever its size.
  mlir::FailureOr<mlir::Value> paramFor(const Initializer &init,
                                        bool transpose);

  /// Records output `i`; checks it against the model's value_info.
  mlir::LogicalResult setOutput(unsigned i, mlir::Value value);
  /// Records output `i` as a constant known at import time.
  mlir::LogicalResult setConstantOutput(unsigned i,
                                        mlir::DenseElementsAttr value);

  /// Nodes reading the tensor `name`, and whether it is a graph output.
  llvm::ArrayRef<const onnx::NodeProto *> consumers(llvm::StringRef name);
  bool isGraphOutput(llvm::StringRef name) const;
  /// Whether tensor `name` is a graph output or read by a node that is not
  /// absorbed.
  bool isNeeded(llvm::StringRef name);
  /// Marks `node` as converted by the current node (e.g. an Add folded into
  /// a linear as its bias) and defines its output `outputName` as `value`.
  void absorb(const onnx::NodeProto *node, llvm::StringRef outputName,
              mlir::Value value);

  //===--------------------------------------------------------------------===//
  // Attributes of the current node
  //===--------------------------------------------------------------------===//

  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t intAttr(llvm::StringRef name, int64_t defaultValue) const;
  float floatAttr(llvm::StringRef name, float defaultValue) const;
  std::optional<llvm::SmallVector<int64_t>>
  intsAttr(llvm::StringRef name) const;
  std::string stringAttr(llvm::StringRef name,
                         llvm::StringRef defaultValue) const;

  //===--------------------------------------------------------------------===//
  // Conversions between ONNX and MLIR
  //===--------------------------------------------------------------------===//

  /// The MLIR element type of an ONNX TensorProto::DataType, or null.
  mlir::Type elementType(int32_t onnxType);
  /// A constant tensor from a TensorProto (e.g. a Constant node's value);
  /// errors name `what`.
  mlir::FailureOr<mlir::DenseElementsAttr>
  tensorToAttr(const onnx::TensorProto &tensor, llvm::StringRef what);

  //===--------------------------------------------------------------------===//
  // Used by the core importer
  //===--------------------------------------------------------------------===//

  mlir::LogicalResult loadInitializer(const onnx::TensorProto &tensor);
  /// Defines `init` (e.g. a graph input bound at compile time) as an
  /// initializer, replacing one of the same name.
  void addInitializer(Initializer init);
  /// Defines output `i` of the current node as the transpose of the 2-D
  /// initializer `source` (a view; see Initializer::transposeOf).
  void setTransposedInitializerOutput(unsigned i, const Initializer &source);
  void defineValue(llvm::StringRef name, mlir::Value value) {
    values[name] = value;
  }
  /// Defines graph input `name` as the function argument `value`.
  void defineArgument(llvm::StringRef name, mlir::Value value) {
    values[name] = value;
    argumentInputs.insert(name);
  }
  bool isInitializer(llvm::StringRef name) const {
    return initializers.count(name);
  }
  void setCurrentNode(const onnx::NodeProto *node, mlir::Location loc) {
    currentNode = node;
    currentLoc = loc;
  }
  void setOpset(int64_t opset) { defaultOpset = opset; }
  void indexGraph(const onnx::GraphProto &graph);
  bool isAbsorbed(const onnx::NodeProto *node) const {
    return absorbed.contains(node);
  }
  /// The value of tensor `name` (materializing constants), or failure with
  /// an error at `loc`.
  mlir::FailureOr<mlir::Value> valueOf(llvm::StringRef name,
                                       mlir::Location loc);
  mlir::FailureOr<mlir::RankedTensorType> typeOf(llvm::StringRef name,
                                                 mlir::Location loc);
  /// Defines tensor `name` as a quantized weight that only MatMul reads (no
  /// IR is created until then).
  void defineQuantizedWeight(llvm::StringRef name, QuantizedWeight weight) {
    quantizedWeights[name] = std::move(weight);
  }
  /// Input `i` if it is a quantized weight, else null.
  const QuantizedWeight *quantizedWeightInput(unsigned i) const;
  /// Marks `node` as converted by the current node without defining its
  /// outputs (e.g. a Transpose folded into a quantized weight).
  void markAbsorbed(const onnx::NodeProto *node) { absorbed.insert(node); }
  /// Whether tensor `name` holds unsigned 8-bit integers (an ONNX UINT8
  /// initializer or the output of a quantizing op), held as i8.
  bool isUnsigned(llvm::StringRef name) const {
    return unsignedTensors.contains(name);
  }
  void markUnsigned(llvm::StringRef name) { unsignedTensors.insert(name); }
  /// A nibble.param named `name` (made unique) holding `bytes` in the
  /// archive as `dtype` with the shape of `type`.
  mlir::FailureOr<mlir::Value> paramFromBytes(llvm::StringRef name,
                                              mlir::RankedTensorType type,
                                              DType dtype,
                                              llvm::ArrayRef<uint8_t> bytes);
  /// Writes the archive of every param created. Untransposed initializers
  /// are borrowed, not copied: call it while the model and the context's
  /// initializers are alive.
  llvm::Error writeArchive(llvm::StringRef path) const;

private:
  /// Bytes of `tensor`'s data with its shape and type (external data read
  /// from files beside the model); errors name `what`.
  mlir::FailureOr<Initializer> readTensor(const onnx::TensorProto &tensor,
                                          llvm::StringRef what);
  mlir::DenseElementsAttr attrFromBytes(mlir::RankedTensorType type,
                                        llvm::ArrayRef<uint8_t> bytes);
  mlir::InFlightDiagnostic emitErrorAt(mlir::Location loc);
  mlir::LogicalResult checkAgainstValueInfo(llvm::StringRef name,
                                            mlir::RankedTensorType type);

  mlir::MLIRContext &context;
  mlir::OpBuilder builder;
  bool unsupported = false;
  const OnnxImportOptions &options;
  std::string modelDir;
  int64_t defaultOpset = 0;

  const onnx::NodeProto *currentNode = nullptr;
  mlir::Location currentLoc;

  llvm::StringMap<mlir::Value> values;
  llvm::StringMap<mlir::DenseElementsAttr> constants;
  llvm::StringMap<Initializer> initializers;
  llvm::StringMap<std::unique_ptr<llvm::MemoryBuffer>> externalFiles;
  llvm::StringMap<const onnx::TypeProto *> declaredTypes;
  llvm::StringMap<llvm::SmallVector<const onnx::NodeProto *, 2>> consumerMap;
  llvm::StringSet<> graphOutputs;
  /// Graph inputs that are function arguments (not initializers, not bound).
  llvm::StringSet<> argumentInputs;
  /// The node producing each tensor.
  llvm::StringMap<const onnx::NodeProto *> producerMap;
  llvm::DenseSet<const onnx::NodeProto *> absorbed;
  llvm::StringMap<QuantizedWeight> quantizedWeights;
  llvm::StringSet<> unsignedTensors;

  /// Params created so far: (initializer name, transposed) -> value.
  std::map<std::pair<std::string, bool>, mlir::Value> params;
  mlir::Operation *lastParam = nullptr;
  SafeTensorsWriter archive;
  llvm::StringSet<> archiveNames;
};

//===----------------------------------------------------------------------===//
// Converter registry
//===----------------------------------------------------------------------===//

/// Converts the context's current node; returns failure after emitting an
/// error.
using ConvertFn = mlir::LogicalResult (*)(ImportContext &ctx);

/// One converter: an op type of the default domain and the opset range its
/// semantics cover.
struct OpConverter {
  llvm::StringRef opType;
  int64_t minOpset;
  int64_t maxOpset;
  ConvertFn convert;
  /// Whether the converter reads uint8 inputs (held as i8) as unsigned;
  /// other converters reject them.
  bool readsUnsigned = false;
};

/// Every converter, by op type.
class ConverterTable {
public:
  void add(llvm::StringRef opType, int64_t minOpset, int64_t maxOpset,
           ConvertFn convert, bool readsUnsigned = false) {
    table[opType].push_back(
        {opType, minOpset, maxOpset, convert, readsUnsigned});
  }
  /// The converter of `opType` at `opset`, or null.
  const OpConverter *lookup(llvm::StringRef opType, int64_t opset) const;

private:
  llvm::StringMap<llvm::SmallVector<OpConverter, 1>> table;
};

void registerElementwiseOps(ConverterTable &table);
void registerShapeOps(ConverterTable &table);
void registerReductionOps(ConverterTable &table);
void registerLinearOps(ConverterTable &table);
void registerNormalizationOps(ConverterTable &table);
/// Quantized operators; the com.microsoft ones are registered as
/// "com.microsoft.<op>" with that domain's opset range.
void registerQuantizedOps(ConverterTable &table);

/// MatMul whose weight (input 1) is a quantized weight: nibble.qlinear
/// (QuantizedOps.cpp).
mlir::LogicalResult convertQuantizedMatMul(ImportContext &ctx,
                                           const QuantizedWeight &weight);

/// A batched, broadcasting matrix product of `a` [..., M, K] and
/// `b` [..., K, N] (numpy matmul semantics, 1-D operands included), in
/// their common element type (LinearOps.cpp).
mlir::FailureOr<mlir::Value> buildMatMul(ImportContext &ctx, mlir::Value a,
                                         mlir::Value b);

/// The Add node that is the only consumer of the current node's output and
/// adds an initializer of shape [n] of `elementTy`, with that initializer;
/// {null, null} when there is none (LinearOps.cpp).
std::pair<const onnx::NodeProto *, const Initializer *>
findFoldableBiasAdd(ImportContext &ctx, int64_t n, mlir::Type elementTy);

//===----------------------------------------------------------------------===//
// IR building helpers shared by the converters (TensorBuilders.cpp)
//===----------------------------------------------------------------------===//

/// Computes a scalar result from the scalar operands inside a linalg body.
using ScalarBodyFn = llvm::function_ref<mlir::Value(
    mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// numpy-style broadcast of `shapes`, or failure with an error at the node.
mlir::FailureOr<llvm::SmallVector<int64_t>>
broadcastShapes(ImportContext &ctx,
                llvm::ArrayRef<llvm::ArrayRef<int64_t>> shapes);

/// A linalg.generic applying `body` elementwise to `inputs` broadcast to
/// `shape`, producing `resultElementType`.
mlir::Value buildElementwise(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::ValueRange inputs,
                             llvm::ArrayRef<int64_t> shape,
                             mlir::Type resultElementType, ScalarBodyFn body);

/// `value` reshaped to `shape` (same number of elements) with
/// tensor.collapse_shape / tensor.expand_shape.
mlir::Value buildReshape(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value value, llvm::ArrayRef<int64_t> shape);

/// `value` with its dimensions permuted: result dim i = input dim perm[i].
mlir::Value buildTranspose(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value value, llvm::ArrayRef<int64_t> perm);

/// Reduction kinds.
enum class ReduceKind { Sum, Mean, Max, Min };

/// Reduces `value` over `axes` (normalized, any order); keeps reduced dims
/// as 1 when `keepDims`.
mlir::Value buildReduce(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::Value value, llvm::ArrayRef<int64_t> axes,
                        ReduceKind kind, bool keepDims);

/// A scalar arith.constant of `type` (float or integer) with `value`.
mlir::Value buildScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type,
                        double value);

/// Normalizes an axis in [-rank, rank) to [0, rank); failure with an error
/// at the node when it is out of range.
mlir::FailureOr<int64_t> normalizeAxis(ImportContext &ctx, int64_t axis,
                                       int64_t rank);

/// The integer values of an integer constant.
llvm::SmallVector<int64_t> attrToInts(mlir::DenseElementsAttr attr);
/// An i64 tensor constant of `shape` holding `values`.
mlir::DenseElementsAttr intsToAttr(mlir::MLIRContext *ctx,
                                   llvm::ArrayRef<int64_t> shape,
                                   llvm::ArrayRef<int64_t> values);
/// The ONNX name of a TensorProto::DataType ("FLOAT", ...), for messages.
std::string onnxTypeName(int32_t type);

/// Maximum number of elements a folded computation may produce.
inline constexpr int64_t kMaxFoldElements = 1 << 16;

} // namespace onnx_import
} // namespace nibble

#endif // NIBBLE_FRONTENDS_ONNX_IMPORTCONTEXT_H
