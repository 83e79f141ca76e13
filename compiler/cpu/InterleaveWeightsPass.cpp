//===- InterleaveWeightsPass.cpp - Weights laid out at compile time -------===//
//
// nibble-cpu-interleave-weights: the quantized weights of the linears whose
// kernels read blocks of R rows, rewritten once, at compile time, into the
// layout the kernels read (InterleavedWeights.h), written to a new archive.
//
//===----------------------------------------------------------------------===//

#include "compiler/cpu/CpuTarget.h"
#include "compiler/cpu/InterleavedWeights.h"
#include "compiler/cpu/LinearKernel.h"
#include "compiler/cpu/Passes.h"
#include "dialects/NibbleOps.h"
#include "dialects/ParamDType.h"
#include "passes/WeightStore.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <deque>
#include <tuple>

namespace nibble {
#define GEN_PASS_DEF_NIBBLECPUINTERLEAVEWEIGHTS
#include "compiler/cpu/Passes.h.inc"
} // namespace nibble

using namespace mlir;
using namespace nibble;

namespace {

/// `<archive>.interleaved.safetensors` next to `input`.
std::string defaultOutputPath(StringRef input) {
  SmallString<256> path(input);
  if (llvm::sys::path::extension(path) == ".safetensors")
    llvm::sys::path::replace_extension(path, "");
  path += ".interleaved.safetensors";
  return std::string(path);
}

/// The layout in words, for the archive's metadata.
std::string describeLayout(int64_t rows, bool codes) {
  std::string text = "rows interleaved by " + std::to_string(rows) + " " +
                     (codes ? "four bytes at a time" : "one element at a time");
  text += codes ? " (linalg.unpack inner_dims_pos = [0, 1] inner_tiles = [" +
                      std::to_string(rows) + ", 4])"
                : " (linalg.unpack inner_dims_pos = [0] inner_tiles = [" +
                      std::to_string(rows) + "])";
  return text;
}

/// One run's rewriting: the weights interleaved so far and the new
/// archive's tensors.
class Interleaver {
public:
  /// Interleaves the weights of `module`'s qlinears for `target`, writing
  /// archive weights to `outputWeights` (empty: the default path).
  /// Returns how many qlinears now read interleaved weights.
  FailureOr<int64_t> run(ModuleOp module, const CpuTarget &target,
                         StringRef outputWeights) {
    SmallVector<std::pair<QLinearOp, int64_t>> work;
    module.walk([&](QLinearOp op) {
      if (int64_t rows = rowsFor(op, target))
        work.push_back({op, rows});
    });
    if (work.empty())
      return 0;
    // The new archive must never replace the one it is made from; checked
    // before anything is rewritten.
    std::string output = std::string(outputWeights);
    if (auto input = module->getAttrOfType<StringAttr>(kWeightsAttrName)) {
      if (output.empty())
        output = defaultOutputPath(input.getValue());
      if (output == input.getValue() ||
          llvm::sys::fs::equivalent(output, input.getValue()))
        return module.emitError()
               << "nibble-cpu-interleave-weights: output-weights '" << output
               << "' is the input archive; write the interleaved weights to "
                  "another file";
    }
    for (auto [op, rows] : work) {
      OpBuilder b(op);
      for (OpOperand *operand : interleavableOperands(op)) {
        bool codes = operand == &op.getWeightMutable();
        Value old = operand->get();
        FailureOr<Value> interleaved =
            interleavedValue(b, op, old, rows, codes);
        if (failed(interleaved))
          return failure();
        operand->set(unpackInterleaved(b, op.getLoc(), *interleaved,
                                       cast<RankedTensorType>(old.getType()),
                                       rows, codes));
        if (Operation *source = old.getDefiningOp(); source->use_empty())
          source->erase();
      }
    }
    // Globals no op reads any more (their interleaved copies replace them)
    // leave the module and the archive.
    for (GlobalOp global : llvm::to_vector(module.getOps<GlobalOp>()))
      if (sourceNames.contains(global.getName()) &&
          SymbolTable::symbolKnownUseEmpty(global, module))
        global.erase();
    if (added.empty())
      return int64_t(work.size());
    // Archive tensors were read, so the module names its archive.
    if (failed(WeightStore::getArchivePath(module)))
      return failure();
    metadata.push_back({"producer", "nibble-cpu-interleave-weights"});
    if (failed(store.writeArchive(module, added, metadata, output)))
      return failure();
    return int64_t(work.size());
  }

private:
  /// The rows R by which the kernel of `op` can read interleaved weights,
  /// or 0 when it cannot or the weights are not constants, params or
  /// globals.
  int64_t rowsFor(QLinearOp op, const CpuTarget &target) {
    std::string whyNot;
    FailureOr<LinearKernelConfig> config =
        chooseLinearKernel(op, target, whyNot);
    if (failed(config) || config->interleavableRows == 0 ||
        interleavedRowsOf(op) != 0)
      return 0;
    int64_t rows = config->interleavableRows;
    for (OpOperand *operand : interleavableOperands(op)) {
      Operation *source = operand->get().getDefiningOp();
      auto constant = dyn_cast_or_null<arith::ConstantOp>(source);
      if (!isa_and_nonnull<GlobalLoadOp, ParamOp>(source) &&
          !(constant && isa<DenseElementsAttr>(constant.getValue())))
        return 0;
    }
    return rows;
  }

  /// The bytes of `bytes` ([N, X] of `type`) interleaved by `rows`, kept
  /// alive for the archive.
  ArrayRef<uint8_t> interleave(ArrayRef<uint8_t> bytes, RankedTensorType type,
                               int64_t rows, bool codes) {
    int64_t elementBytes = type.getElementTypeBitWidth() / 8;
    int64_t rowBytes = type.getDimSize(1) * elementBytes;
    buffers.push_back(
        interleaveRows(bytes, type.getDimSize(0), rowBytes, rows,
                       codes ? kInterleavedWordBytes : elementBytes));
    return buffers.back();
  }

  /// The name of the interleaved copy of archive tensor `name`, added to the
  /// new archive the first time.
  FailureOr<std::string> interleavedTensor(StringRef name,
                                           FailureOr<const TensorView *> view,
                                           RankedTensorType type, int64_t rows,
                                           bool codes) {
    std::string newName = (name + ".interleaved" + std::to_string(rows)).str();
    if (interleavedNames.contains(newName))
      return newName;
    if (failed(view))
      return failure();
    RankedTensorType newType = interleavedType(type, rows, codes);
    added.push_back({newName, (*view)->dtype,
                     SmallVector<int64_t>(newType.getShape()),
                     interleave((*view)->bytes, type, rows, codes)});
    metadata.push_back({"nibble.layout." + newName,
                        describeLayout(rows, codes) + " of " + name.str()});
    interleavedNames.insert(newName);
    sourceNames.insert(name);
    return newName;
  }

  /// The interleaved value of `value` (a global load, param or constant) by
  /// `rows`, created before `op`.
  FailureOr<Value> interleavedValue(OpBuilder &b, Operation *op, Value value,
                                    int64_t rows, bool codes) {
    auto type = cast<RankedTensorType>(value.getType());
    RankedTensorType newType = interleavedType(type, rows, codes);
    Location loc = op->getLoc();
    if (auto load = value.getDefiningOp<GlobalLoadOp>()) {
      auto module = op->getParentOfType<ModuleOp>();
      auto global = SymbolTable::lookupSymbolIn(module, load.getGlobalAttr());
      auto globalOp = cast<GlobalOp>(global);
      FailureOr<std::string> name = interleavedTensor(
          globalOp.getName(), store.resolve(globalOp), type, rows, codes);
      if (failed(name))
        return failure();
      std::string symbol =
          (globalOp.getSymName() + ".interleaved" + std::to_string(rows)).str();
      if (!SymbolTable::lookupSymbolIn(module, b.getStringAttr(symbol))) {
        OpBuilder atGlobal(globalOp);
        GlobalOp::create(atGlobal, globalOp.getLoc(), StringRef(symbol),
                         StringRef(*name), newType);
      }
      return GlobalLoadOp::create(
                 b, loc, newType,
                 FlatSymbolRefAttr::get(b.getContext(), symbol))
          .getResult();
    }
    if (auto param = value.getDefiningOp<ParamOp>()) {
      FailureOr<std::string> name = interleavedTensor(
          param.getName(), store.resolve(param), type, rows, codes);
      if (failed(name))
        return failure();
      return ParamOp::create(b, loc, newType, *name).getResult();
    }
    auto constant = value.getDefiningOp<arith::ConstantOp>();
    auto attr = cast<DenseElementsAttr>(constant.getValue());
    DenseElementsAttr &interleaved = interleavedConstants[{attr, rows, codes}];
    if (!interleaved) {
      if (attr.isSplat()) {
        interleaved = attr.reshape(newType);
      } else {
        ArrayRef<char> raw = attr.getRawData();
        ArrayRef<uint8_t> bytes(reinterpret_cast<const uint8_t *>(raw.data()),
                                raw.size());
        ArrayRef<uint8_t> result = interleave(bytes, type, rows, codes);
        interleaved = DenseElementsAttr::getFromRawBuffer(
            newType,
            ArrayRef<char>(reinterpret_cast<const char *>(result.data()),
                           result.size()));
      }
    }
    return arith::ConstantOp::create(b, loc, interleaved).getResult();
  }

  /// Archive tensors already interleaved (by their new names) and the
  /// tensors they come from.
  llvm::StringSet<> interleavedNames, sourceNames;
  /// Constants already interleaved, by (attribute, rows, codes).
  llvm::DenseMap<std::tuple<Attribute, int64_t, int64_t>, DenseElementsAttr>
      interleavedConstants;
  /// The new archive's tensors (their bytes stay here until it is written).
  std::deque<std::vector<uint8_t>> buffers;
  SmallVector<WeightStore::NewTensor> added;
  SmallVector<std::pair<std::string, std::string>> metadata;
  WeightStore store;
};

struct InterleaveWeightsPass
    : public nibble::impl::NibbleCpuInterleaveWeightsBase<
          InterleaveWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    CpuTarget target = triple.empty()
                           ? CpuTarget::host()
                           : CpuTarget::fromFeatures(triple, features);
    if (failed(interleaveModuleWeights(getOperation(), target, outputWeights)))
      signalPassFailure();
  }
};

} // namespace

FailureOr<int64_t> nibble::interleaveModuleWeights(ModuleOp module,
                                                   const CpuTarget &target,
                                                   StringRef outputWeights) {
  return Interleaver().run(module, target, outputWeights);
}
