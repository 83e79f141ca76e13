//===- RTN.cpp - Round-to-nearest weight quantization ---------------------===//
//
// Rewrites nibble.linear into nibble.qlinear with round-to-nearest codes. The
// math lives in passes/numerics; this file moves tensors between the IR, the
// weight archives and the quantizer.
//
//===----------------------------------------------------------------------===//

#include "dialects/NibbleOps.h"
#include "passes/Passes.h"
#include "passes/QuantSpec.h"
#include "passes/WeightStore.h"
#include "passes/numerics/Packing.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cmath>

namespace nibble {
#define GEN_PASS_DEF_NIBBLERTN
#include "passes/Passes.h.inc"
} // namespace nibble

using namespace mlir;
using namespace nibble;

namespace {

/// One tensor the pass produced: the IR type and its raw little-endian bytes.
struct PackedTensor {
  std::string suffix;
  RankedTensorType type;
  DType dtype;
  std::vector<uint8_t> bytes;
};

/// Copies `values` into a byte vector.
template <typename T>
static std::vector<uint8_t> toBytes(const std::vector<T> &values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  if (!bytes.empty())
    std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

/// Encodes float scales in the scheme's scale type.
static PackedTensor encodeScales(const std::vector<float> &scales,
                                 RankedTensorType type) {
  Type elementType = type.getElementType();
  if (elementType.isF32())
    return {"scales", type, DType::F32, toBytes(scales)};
  std::vector<uint16_t> bits(scales.size());
  for (size_t i = 0; i < scales.size(); ++i)
    bits[i] = elementType.isF16() ? numerics::floatToF16Bits(scales[i])
                                  : numerics::floatToBF16Bits(scales[i]);
  return {"scales", type, elementType.isF16() ? DType::F16 : DType::BF16,
          toBytes(bits)};
}

/// Quantizes a rows x cols float matrix as `scheme` says and returns the
/// tensors of the matching nibble.qlinear operands, in operand order:
/// weight, scales, [zero_points], [scale_scales].
/// `what` names the weight in errors (emitted at `op`): non-finite weights
/// and scales that do not fit the scheme's scale type are rejected, since
/// either would silently turn into wrong codes or NaN rows.
static FailureOr<SmallVector<PackedTensor>>
quantizeWeight(const std::vector<float> &w, int64_t rows, int64_t cols,
               SchemeAttr scheme, numerics::ScaleSearch search, Operation *op,
               StringRef what) {
  MLIRContext *ctx = scheme.getContext();
  int64_t bad = numerics::findNonFinite(w.data(), rows * cols);
  if (bad >= 0)
    return op->emitOpError("weight ")
           << what << " has a non-finite value "
           << (std::isnan(w[bad]) ? "nan"
               : w[bad] > 0       ? "+inf"
                                  : "-inf")
           << " at element [" << bad / cols << ", " << bad % cols
           << "]; nibble does not quantize NaN or infinite weights";
  numerics::QuantSpec spec = toQuantSpec(scheme, search);
  numerics::QuantizedMatrix q =
      numerics::quantizeMatrix(w.data(), rows, cols, spec);
  int64_t badScale =
      numerics::findNonFinite(q.scales.data(), (int64_t)q.scales.size());
  if (badScale >= 0) {
    // The group's weights: one row (or all of them, per tensor), one slice
    // of K.
    int64_t groupRow = badScale / q.groupsPerRow;
    int64_t groupCol = badScale % q.groupsPerRow;
    int64_t length = cols / q.groupsPerRow;
    float absMax = 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      if (q.scaleRows != 1 && r != groupRow)
        continue;
      for (int64_t c = groupCol * length; c < (groupCol + 1) * length; ++c)
        absMax = std::max(absMax, std::fabs(w[r * cols + c]));
    }
    return op->emitOpError("weight ")
           << what << ": the scale of group [" << groupRow << ", " << groupCol
           << "] (largest magnitude " << absMax << ") does not fit "
           << scheme.getScaleType() << " scales; use scale = f32";
  }
  unsigned container = scheme.getContainerBits();
  Type i8 = IntegerType::get(ctx, 8);
  SmallVector<PackedTensor> tensors;
  tensors.push_back(
      {"qweight", RankedTensorType::get({rows, cols * container / 8}, i8),
       DType::I8, numerics::packCodes(q.codes.data(), rows, cols, container)});
  SmallVector<int64_t, 2> scaleShape = {q.scaleRows, q.groupsPerRow};
  if (scheme.hasDoubleQuant()) {
    tensors.push_back({"scales", RankedTensorType::get(scaleShape, i8),
                       DType::I8, q.doubleQuant.codes});
  } else {
    tensors.push_back(encodeScales(
        q.scales, RankedTensorType::get(scaleShape, scheme.getScaleType())));
  }
  if (scheme.hasZeroPoints())
    tensors.push_back({"zeros", RankedTensorType::get(scaleShape, i8),
                       DType::I8, q.zeroPoints});
  if (scheme.hasDoubleQuant()) {
    int64_t count = q.doubleQuant.superScales.size();
    tensors.push_back({"scale_scales",
                       RankedTensorType::get({count}, Float32Type::get(ctx)),
                       DType::F32, toBytes(q.doubleQuant.superScales)});
  }
  return tensors;
}

/// Float values of a constant weight.
static std::vector<float> readConstant(DenseElementsAttr attr) {
  std::vector<float> values;
  values.reserve(attr.getNumElements());
  for (APFloat value : attr.getValues<APFloat>()) {
    bool losesInfo = false;
    value.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven,
                  &losesInfo);
    values.push_back(value.convertToFloat());
  }
  return values;
}

/// The prefix of the names of the tensors made from param `name`:
/// "fc1.weight" -> "fc1".
static std::string paramBaseName(StringRef name) {
  StringRef base = name;
  base.consume_back(".weight");
  return base.str();
}

/// The default output archive: "dir/model.safetensors" ->
/// "dir/model.rtn.safetensors".
static std::string defaultOutputPath(StringRef input) {
  SmallString<256> path(input);
  if (llvm::sys::path::extension(path) == ".safetensors")
    llvm::sys::path::replace_extension(path, "");
  path += ".rtn.safetensors";
  return std::string(path);
}

struct NibbleRTNPass : public nibble::impl::NibbleRTNBase<NibbleRTNPass> {
  using Base::Base;

  void runOnOperation() override;

private:
  /// The scheme the pass options describe, or failure (error emitted).
  FailureOr<SchemeAttr> getOptionScheme();
};

/// What the pass has made of the float params so far.
struct QuantizedParams {
  /// Packed tensors by name, for the new archive.
  SmallVector<std::pair<std::string, PackedTensor>> tensors;
  /// Each float param quantized so far: its scheme and its packed tensors
  /// (without data). A param shared by several linears is quantized once.
  llvm::StringMap<std::pair<SchemeAttr, SmallVector<PackedTensor>>> params;
};

} // namespace

FailureOr<SchemeAttr> NibbleRTNPass::getOptionScheme() {
  MLIRContext *ctx = &getContext();
  if (!schemeText.empty()) {
    auto scheme = dyn_cast_or_null<SchemeAttr>(
        parseAttribute("#nibble.scheme<" + schemeText + ">", ctx));
    if (!scheme)
      return getOperation().emitError("nibble-rtn: scheme='")
             << schemeText << "' is not a scheme";
    return scheme;
  }
  Type scale;
  if (scaleType == "f32")
    scale = Float32Type::get(ctx);
  else if (scaleType == "f16")
    scale = Float16Type::get(ctx);
  else if (scaleType == "bf16")
    scale = BFloat16Type::get(ctx);
  else
    return getOperation().emitError("nibble-rtn: scale-type must be f32, f16 "
                                    "or bf16, found '")
           << scaleType << "'";
  unsigned schemeBits = bits;
  if (format == WeightFormat::NF4 || format == WeightFormat::FP4E2M1)
    schemeBits = 4;
  else if (format == WeightFormat::FP8E4M3)
    schemeBits = 8;
  Granularity granularity = group < 0    ? Granularity::Tensor
                            : group == 0 ? Granularity::Channel
                                         : Granularity::Group;
  auto emitError = [&]() {
    return getOperation().emitError("nibble-rtn: invalid options: ");
  };
  SchemeAttr scheme = SchemeAttr::getChecked(
      emitError, ctx, format.getValue(), schemeBits, granularity,
      group > 0 ? int64_t(group) : 0,
      symmetric ? CodeOffset::Symmetric : CodeOffset::ZeroPoint, scale,
      doubleQuant.getValue(), activation.getValue(),
      activationGroup.getValue());
  if (!scheme)
    return failure();
  return scheme;
}

/// Quantizes one linear with `scheme`, reading param weights from `store`
/// and recording the packed tensors of params in `quantized`. Returns failure
/// after emitting an error.
static LogicalResult quantizeLinear(LinearOp linear, SchemeAttr scheme,
                                    numerics::ScaleSearch search,
                                    WeightStore &store,
                                    QuantizedParams &quantized) {
  RankedTensorType weightType = linear.getWeight().getType();
  int64_t rows = weightType.getDimSize(0), cols = weightType.getDimSize(1);
  if (!weightType.hasStaticShape())
    return linear.emitOpError("nibble-rtn needs a static weight shape");
  numerics::QuantSpec spec = toQuantSpec(scheme, search);
  std::string problem = numerics::validateQuantSpec(spec, rows, cols);
  if (problem.empty() && (cols * scheme.getContainerBits()) % 8 != 0)
    problem = "K = " + std::to_string(cols) + " codes of " +
              std::to_string(scheme.getContainerBits()) +
              " bits do not fill whole bytes";
  if (!problem.empty())
    return linear.emitOpError("cannot quantize with ")
           << scheme << ": " << problem;

  // Gather the float weight from its param, its module-level global or a
  // constant. `named` is the op naming the archive tensor (param or global).
  std::vector<float> weights;
  ParamOp param = linear.getWeight().getDefiningOp<ParamOp>();
  GlobalOp global;
  if (auto load = linear.getWeight().getDefiningOp<GlobalLoadOp>())
    global = SymbolTable::lookupNearestSymbolFrom<GlobalOp>(
        load, load.getGlobalAttr());
  Operation *named = param    ? param.getOperation()
                     : global ? global.getOperation()
                              : nullptr;
  StringRef archiveName = param    ? param.getName()
                          : global ? global.getName()
                                   : StringRef();
  bool alreadyQuantized = false;
  if (named) {
    auto it = quantized.params.find(archiveName);
    if (it != quantized.params.end() && it->second.first != scheme)
      return linear.emitOpError("shares weight '")
             << archiveName << "' with a linear quantized as "
             << it->second.first << " but asks for " << scheme;
    alreadyQuantized = it != quantized.params.end();
  }
  if (named && !alreadyQuantized) {
    FailureOr<const TensorView *> tensor =
        store.resolve(named, archiveName, weightType);
    if (failed(tensor))
      return failure();
    llvm::Expected<std::vector<float>> values = readAsFloat32(**tensor);
    if (!values)
      return named->emitOpError() << llvm::toString(values.takeError());
    weights = std::move(*values);
  } else if (!named) {
    DenseElementsAttr constant;
    if (!matchPattern(linear.getWeight(), m_Constant(&constant))) {
      linear.emitWarning("weight is neither a nibble.param, a nibble.global "
                         "nor a constant; left in float");
      return success();
    }
    weights = readConstant(constant);
  }

  // A shared weight quantized before needs only the types of its tensors.
  SmallVector<PackedTensor> tensors;
  if (!alreadyQuantized) {
    std::string what =
        named ? "'" + archiveName.str() + "'" : std::string("(constant)");
    FailureOr<SmallVector<PackedTensor>> packed =
        quantizeWeight(weights, rows, cols, scheme, search,
                       named ? named : linear.getOperation(), what);
    if (failed(packed))
      return failure();
    tensors = std::move(*packed);
  }
  if (alreadyQuantized) {
    tensors = quantized.params[archiveName].second;
  } else if (named) {
    SmallVector<PackedTensor> layout;
    for (const PackedTensor &tensor : tensors)
      layout.push_back({tensor.suffix, tensor.type, tensor.dtype, {}});
    quantized.params[archiveName] = {scheme, std::move(layout)};
  }

  // Materialize them as params or globals (into the new archive) or
  // constants. A global's packed tensors become globals named after it,
  // declared next to it once.
  OpBuilder builder(linear);
  SmallVector<Value> values;
  for (PackedTensor &tensor : tensors) {
    if (named) {
      std::string name = paramBaseName(archiveName) + "." + tensor.suffix;
      if (param) {
        values.push_back(ParamOp::create(builder, linear.getLoc(), tensor.type,
                                         builder.getStringAttr(name)));
      } else {
        if (!alreadyQuantized) {
          OpBuilder declare(global);
          GlobalOp::create(declare, global.getLoc(), name, name, tensor.type);
        }
        values.push_back(
            GlobalLoadOp::create(builder, linear.getLoc(), tensor.type, name));
      }
      if (!alreadyQuantized)
        quantized.tensors.emplace_back(name, std::move(tensor));
      continue;
    }
    ArrayRef<char> raw(reinterpret_cast<const char *>(tensor.bytes.data()),
                       tensor.bytes.size());
    values.push_back(arith::ConstantOp::create(
        builder, linear.getLoc(),
        DenseElementsAttr::getFromRawBuffer(tensor.type, raw)));
  }
  size_t next = 2;
  Value zeroPoints = scheme.hasZeroPoints() ? values[next++] : Value();
  Value scaleScales = scheme.hasDoubleQuant() ? values[next++] : Value();
  auto qlinear =
      QLinearOp::create(builder, linear.getLoc(), linear.getResult().getType(),
                        linear.getInput(), values[0], values[1], zeroPoints,
                        /*mins=*/Value(), scaleScales, linear.getBias(),
                        /*input_scale=*/Value(), scheme, linear.getNameAttr());
  Operation *weightOp = linear.getWeight().getDefiningOp();
  linear.getResult().replaceAllUsesWith(qlinear.getResult());
  linear.erase();
  // The float weight is dead unless another op shares it.
  if (weightOp->use_empty())
    weightOp->erase();
  return success();
}

void NibbleRTNPass::runOnOperation() {
  ModuleOp module = getOperation();
  WeightStore store;
  QuantizedParams quantized;
  numerics::ScaleSearch search;
  if (scaleSearch == "absmax") {
    search = numerics::ScaleSearch::AbsMax;
  } else if (scaleSearch == "mse") {
    search = numerics::ScaleSearch::Mse;
  } else {
    module.emitError("nibble-rtn: search must be absmax or mse, found '")
        << scaleSearch << "'";
    return signalPassFailure();
  }
  FailureOr<SchemeAttr> optionScheme = getOptionScheme();
  if (failed(optionScheme))
    return signalPassFailure();
  // The new archive must never replace the one it is made from (the
  // module's other users, or the user's only copy, still need it). Checked
  // before any work is done.
  if (auto input = module->getAttrOfType<StringAttr>(kWeightsAttrName)) {
    std::string output = outputWeights.empty()
                             ? defaultOutputPath(input.getValue())
                             : std::string(outputWeights);
    if (output == input.getValue() ||
        llvm::sys::fs::equivalent(output, input.getValue())) {
      module.emitError() << "nibble-rtn: output-weights '" << output
                         << "' is the input archive; write the packed "
                            "weights to another file";
      return signalPassFailure();
    }
  }

  SmallVector<LinearOp> linears;
  module.walk([&](LinearOp linear) { linears.push_back(linear); });
  bool ok = true;
  for (LinearOp linear : linears) {
    SchemeAttr scheme = linear.getSchemeAttr();
    if (!scheme)
      scheme = *optionScheme;
    if (scheme.getActivation() == ActivationScheme::Int8Static) {
      linear.emitOpError("int8_static activations need calibration; "
                         "nibble-rtn quantizes weights only");
      ok = false;
      continue;
    }
    if (scheme.hasMins()) {
      linear.emitOpError("nibble-rtn does not produce float minimums (")
          << scheme
          << "); min schemes describe imported pre-quantized weights (GGUF "
             "Q4_1, K-quants): use asym for zero points";
      ok = false;
      continue;
    }
    ok &= succeeded(quantizeLinear(linear, scheme, search, store, quantized));
  }
  if (!ok)
    return signalPassFailure();
  if (quantized.tensors.empty())
    return;

  // Write the new archive: the packed tensors plus every tensor that
  // remaining params still read from the old one.
  FailureOr<std::string> inputPath = WeightStore::getArchivePath(module);
  if (failed(inputPath))
    return signalPassFailure();
  std::string outputPath =
      outputWeights.empty() ? defaultOutputPath(*inputPath) : outputWeights;
  SmallVector<WeightStore::NewTensor> added;
  for (auto &[name, tensor] : quantized.tensors)
    added.push_back({name, tensor.dtype,
                     SmallVector<int64_t>(tensor.type.getShape()),
                     tensor.bytes});
  // Float globals no linear reads any more (the quantized weights) are
  // dropped; the others (norms, embeddings) are copied like params.
  for (GlobalOp global : llvm::to_vector(module.getOps<GlobalOp>()))
    if (quantized.params.count(global.getName()) &&
        SymbolTable::symbolKnownUseEmpty(global, module))
      global.erase();
  if (failed(store.writeArchive(module, added, {{"producer", "nibble-rtn"}},
                                outputPath)))
    return signalPassFailure();
}
