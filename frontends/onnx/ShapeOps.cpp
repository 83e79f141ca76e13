//===- ShapeOps.cpp - ONNX shape, layout and constant operators -----------===//
//
// Reshape, Transpose, (Un)Squeeze, Flatten, Concat, Slice, Split, Gather,
// Expand, Trilu, Identity and the constant producers (Constant, Shape,
// ConstantOfShape, Range). Every one of them folds when its data input is
// known at import time, so shape computations in exported graphs (Shape ->
// Gather -> Unsqueeze -> Concat -> Reshape) end as static shapes.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;

namespace nibble {
namespace onnx_import {

//===----------------------------------------------------------------------===//
// Folding helpers
//===----------------------------------------------------------------------===//

/// Returns the row-major strides of `shape`.
static SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t d = (int64_t)shape.size() - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

/// A constant of `resultType` whose element at each multi-index `out` is
/// element `source(out).second` of `sources[source(out).first]`.
static DenseElementsAttr remapElements(
    ArrayRef<DenseElementsAttr> sources, RankedTensorType resultType,
    llvm::function_ref<std::pair<unsigned, int64_t>(ArrayRef<int64_t>)>
        source) {
  SmallVector<SmallVector<Attribute>> values;
  for (DenseElementsAttr attr : sources)
    values.push_back(llvm::to_vector(attr.getValues<Attribute>()));
  ArrayRef<int64_t> shape = resultType.getShape();
  int64_t count = resultType.getNumElements();
  SmallVector<Attribute> result;
  result.reserve(count);
  SmallVector<int64_t> index(shape.size(), 0);
  for (int64_t flat = 0; flat < count; ++flat) {
    auto [which, offset] = source(index);
    result.push_back(values[which][offset]);
    for (int64_t d = (int64_t)shape.size() - 1; d >= 0; --d) {
      if (++index[d] < shape[d])
        break;
      index[d] = 0;
    }
  }
  return DenseElementsAttr::get(resultType, result);
}

/// Records output 0 as `input` reshaped to `shape`, folding known inputs.
static LogicalResult setReshaped(ImportContext &ctx, ArrayRef<int64_t> shape) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  if (failed(type))
    return failure();
  FailureOr<RankedTensorType> checkedType =
      ctx.checkedTensorType(shape, type->getElementType());
  if (failed(checkedType))
    return failure();
  RankedTensorType resultType = *checkedType;
  if (resultType.getNumElements() != type->getNumElements())
    return ctx.emitError() << "shape mismatch: cannot reshape " << *type
                           << " to " << formatShape(shape);
  if (DenseElementsAttr known = ctx.constantInput(0))
    return ctx.setConstantOutput(0, known.reshape(resultType));
  FailureOr<Value> input = ctx.input(0);
  if (failed(input))
    return failure();
  return ctx.setOutput(
      0, buildReshape(ctx.getBuilder(), ctx.loc(), *input, shape));
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

static LogicalResult convertConstant(ImportContext &ctx) {
  MLIRContext *mctx = ctx.getContext();
  if (const onnx::AttributeProto *a = ctx.attr("value")) {
    FailureOr<DenseElementsAttr> attr = ctx.tensorToAttr(
        a->t(), "the value of Constant '" + ctx.node().name() + "'");
    if (failed(attr))
      return failure();
    if (a->t().data_type() == onnx::TensorProto::UINT8 && ctx.hasOutput(0))
      ctx.markUnsigned(ctx.node().output(0));
    return ctx.setConstantOutput(0, *attr);
  }
  if (const onnx::AttributeProto *a = ctx.attr("value_float"))
    return ctx.setConstantOutput(
        0, DenseElementsAttr::get(
               RankedTensorType::get({}, Float32Type::get(mctx)), a->f()));
  if (const onnx::AttributeProto *a = ctx.attr("value_floats")) {
    SmallVector<float> values(a->floats().begin(), a->floats().end());
    return ctx.setConstantOutput(
        0,
        DenseElementsAttr::get(RankedTensorType::get({(int64_t)values.size()},
                                                     Float32Type::get(mctx)),
                               ArrayRef<float>(values)));
  }
  if (const onnx::AttributeProto *a = ctx.attr("value_int"))
    return ctx.setConstantOutput(0, intsToAttr(mctx, {}, {(int64_t)a->i()}));
  if (const onnx::AttributeProto *a = ctx.attr("value_ints")) {
    SmallVector<int64_t> values(a->ints().begin(), a->ints().end());
    return ctx.setConstantOutput(
        0, intsToAttr(mctx, {(int64_t)values.size()}, values));
  }
  return ctx.emitError() << "only tensor, float(s) and int(s) values are "
                            "supported (sparse and string constants are not)";
}

static LogicalResult convertShape(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  if (failed(type))
    return failure();
  int64_t rank = type->getRank();
  int64_t start = ctx.intAttr("start", 0), end = ctx.intAttr("end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  SmallVector<int64_t> dims(type->getShape().slice(start, end - start));
  return ctx.setConstantOutput(
      0, intsToAttr(ctx.getContext(), {(int64_t)dims.size()}, dims));
}

static LogicalResult convertConstantOfShape(ImportContext &ctx) {
  FailureOr<SmallVector<int64_t>> shape = ctx.constantInts(0);
  if (failed(shape))
    return failure();
  for (int64_t dim : *shape)
    if (dim < 0)
      return ctx.emitError()
             << "shape mismatch: negative dimension in " << formatShape(*shape);
  DenseElementsAttr value;
  if (const onnx::AttributeProto *a = ctx.attr("value")) {
    FailureOr<DenseElementsAttr> attr = ctx.tensorToAttr(
        a->t(), "the value of ConstantOfShape '" + ctx.node().name() + "'");
    if (failed(attr))
      return failure();
    if (attr->getNumElements() != 1)
      return ctx.emitError()
             << "'value' must have one element, found " << attr->getType();
    value = *attr;
  } else {
    value = DenseElementsAttr::get(
        RankedTensorType::get({1}, Float32Type::get(ctx.getContext())), 0.0f);
  }
  FailureOr<RankedTensorType> type =
      ctx.checkedTensorType(*shape, value.getElementType());
  if (failed(type))
    return failure();
  return ctx.setConstantOutput(
      0, DenseElementsAttr::get(*type, value.getValues<Attribute>()[0]));
}

static LogicalResult convertRange(ImportContext &ctx) {
  DenseElementsAttr start = ctx.constantInput(0), limit = ctx.constantInput(1),
                    delta = ctx.constantInput(2);
  if (!start || !limit || !delta) {
    unsigned unknown = !start ? 0 : !limit ? 1 : 2;
    return ctx.emitUnsupported()
           << "start, limit and delta must be known at import "
              "time; nibble imports static shapes only"
           << ctx.bindInputHint(unknown);
  }
  Type elementTy = start.getElementType();
  auto type = [&](int64_t n) { return RankedTensorType::get({n}, elementTy); };
  if (isa<FloatType>(elementTy)) {
    double s = start.getValues<APFloat>()[0].convertToDouble();
    double l = limit.getValues<APFloat>()[0].convertToDouble();
    double d = delta.getValues<APFloat>()[0].convertToDouble();
    if (d == 0)
      return ctx.emitError() << "delta is zero";
    // Compared as a double: a NaN or infinite count fails the test too.
    double count = std::ceil((l - s) / d);
    if (!(count <= double(kMaxFoldElements)))
      return ctx.emitError() << "range of " << count << " elements is too long";
    int64_t n = count < 0 ? 0 : int64_t(count);
    SmallVector<APFloat> values;
    for (int64_t i = 0; i < n; ++i) {
      APFloat v(s + i * d);
      bool lost;
      v.convert(cast<FloatType>(elementTy).getFloatSemantics(),
                APFloat::rmNearestTiesToEven, &lost);
      values.push_back(v);
    }
    return ctx.setConstantOutput(0, DenseElementsAttr::get(type(n), values));
  }
  int64_t s = attrToInts(start)[0], l = attrToInts(limit)[0],
          d = attrToInts(delta)[0];
  if (d == 0)
    return ctx.emitError() << "delta is zero";
  // In 128 bits: the differences of int64 bounds do not overflow there.
  __int128 span = d > 0 ? __int128(l) - s + d - 1 : __int128(s) - l - d - 1;
  __int128 count = span / (d > 0 ? __int128(d) : -__int128(d));
  if (count > kMaxFoldElements)
    return ctx.emitError() << "range of more than " << kMaxFoldElements
                           << " elements is too long";
  // A negative count (an empty range) may not fit int64: clamp it in 128
  // bits.
  int64_t n = count < 0 ? 0 : int64_t(count);
  SmallVector<APInt> values;
  // Every element lies between start and limit, but i * d alone may not
  // fit int64: compute in 128 bits.
  for (int64_t i = 0; i < n; ++i)
    values.push_back(APInt(elementTy.getIntOrFloatBitWidth(),
                           (uint64_t)(int64_t)(__int128(s) + __int128(i) * d),
                           /*isSigned=*/true));
  return ctx.setConstantOutput(0, DenseElementsAttr::get(type(n), values));
}

static LogicalResult convertIdentity(ImportContext &ctx) {
  if (DenseElementsAttr known = ctx.constantInput(0))
    return ctx.setConstantOutput(0, known);
  FailureOr<Value> input = ctx.input(0);
  if (failed(input))
    return failure();
  return ctx.setOutput(0, *input);
}

//===----------------------------------------------------------------------===//
// Reshapes
//===----------------------------------------------------------------------===//

static LogicalResult convertReshape(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  FailureOr<SmallVector<int64_t>> requested = ctx.constantInts(1);
  if (failed(type) || failed(requested))
    return failure();
  bool allowZero = ctx.intAttr("allowzero", 0);
  SmallVector<int64_t> shape;
  int64_t inferred = -1, known = 1;
  for (auto [i, dim] : llvm::enumerate(*requested)) {
    if (dim == 0 && !allowZero) {
      if ((int64_t)i >= type->getRank())
        return ctx.emitError()
               << "shape mismatch: 0 at position " << i
               << " copies a dimension " << *type << " does not have";
      dim = type->getDimSize(i);
    }
    if (dim == -1) {
      if (inferred >= 0)
        return ctx.emitError() << "shape " << formatShape(*requested)
                               << " has more than one -1";
      inferred = i;
    } else if (dim < 0) {
      return ctx.emitError() << "shape mismatch: invalid dimension " << dim
                             << " in " << formatShape(*requested);
    } else if (llvm::MulOverflow(known, dim, known)) {
      return ctx.emitError() << "shape " << formatShape(*requested)
                             << " has more elements than int64 can count";
    }
    shape.push_back(dim);
  }
  if (inferred >= 0) {
    if (known == 0 || type->getNumElements() % known)
      return ctx.emitError() << "shape mismatch: cannot reshape " << *type
                             << " to " << formatShape(*requested);
    shape[inferred] = type->getNumElements() / known;
  }
  return setReshaped(ctx, shape);
}

static LogicalResult convertFlatten(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  if (failed(type))
    return failure();
  int64_t rank = type->getRank();
  int64_t axis = ctx.intAttr("axis", 1);
  if (axis < -rank || axis > rank)
    return ctx.emitError() << "axis " << axis << " is out of range for rank "
                           << rank;
  if (axis < 0)
    axis += rank;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < axis ? outer : inner) *= type->getDimSize(d);
  return setReshaped(ctx, {outer, inner});
}

static LogicalResult convertUnsqueeze(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  FailureOr<SmallVector<int64_t>> axes = ctx.constantInts(1);
  if (failed(type) || failed(axes))
    return failure();
  int64_t rank = type->getRank() + axes->size();
  SmallVector<bool> inserted(rank, false);
  for (int64_t axis : *axes) {
    FailureOr<int64_t> a = normalizeAxis(ctx, axis, rank);
    if (failed(a))
      return failure();
    if (inserted[*a])
      return ctx.emitError() << "axis " << axis << " appears twice";
    inserted[*a] = true;
  }
  SmallVector<int64_t> shape;
  int64_t next = 0;
  for (int64_t d = 0; d < rank; ++d)
    shape.push_back(inserted[d] ? 1 : type->getDimSize(next++));
  return setReshaped(ctx, shape);
}

static LogicalResult convertSqueeze(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  if (failed(type))
    return failure();
  int64_t rank = type->getRank();
  SmallVector<bool> removed(rank, false);
  if (ctx.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> axes = ctx.constantInts(1);
    if (failed(axes))
      return failure();
    for (int64_t axis : *axes) {
      FailureOr<int64_t> a = normalizeAxis(ctx, axis, rank);
      if (failed(a))
        return failure();
      if (type->getDimSize(*a) != 1)
        return ctx.emitError() << "shape mismatch: cannot squeeze dimension "
                               << *a << " of " << *type;
      removed[*a] = true;
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      removed[d] = type->getDimSize(d) == 1;
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d)
    if (!removed[d])
      shape.push_back(type->getDimSize(d));
  return setReshaped(ctx, shape);
}

//===----------------------------------------------------------------------===//
// Transpose, Concat, Slice, Split
//===----------------------------------------------------------------------===//

static LogicalResult convertTranspose(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  if (failed(type))
    return failure();
  int64_t rank = type->getRank();
  SmallVector<int64_t> perm;
  if (std::optional<SmallVector<int64_t>> p = ctx.intsAttr("perm"))
    perm = *p;
  else
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  SmallVector<bool> seen(rank, false);
  if ((int64_t)perm.size() != rank)
    return ctx.emitError() << "perm has " << perm.size() << " entries for rank "
                           << rank;
  for (int64_t &p : perm) {
    if (p < 0)
      p += rank;
    if (p < 0 || p >= rank || seen[p])
      return ctx.emitError() << "perm is not a permutation of 0.." << rank - 1;
    seen[p] = true;
  }
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(type->getDimSize(p));
  auto resultType = RankedTensorType::get(shape, type->getElementType());
  // The transpose of a large 2-D initializer (e.g. a tied embedding used as
  // the output projection) stays a view of it, so that a MatMul over it is a
  // linear over the original param and its data is stored once.
  const Initializer *init = ctx.initializerInput(0);
  if (init && rank == 2 && perm[0] == 1 &&
      init->type.getNumElements() > kMaxFoldElements &&
      isa<FloatType>(type->getElementType()) &&
      !ctx.isGraphOutput(ctx.node().output(0))) {
    ctx.setTransposedInitializerOutput(0, *init);
    return success();
  }
  if (DenseElementsAttr known = ctx.constantInput(0)) {
    SmallVector<int64_t> strides = stridesOf(type->getShape());
    return ctx.setConstantOutput(
        0, remapElements(known, resultType, [&](ArrayRef<int64_t> out) {
          int64_t offset = 0;
          for (int64_t d = 0; d < rank; ++d)
            offset += out[d] * strides[perm[d]];
          return std::make_pair(0u, offset);
        }));
  }
  FailureOr<Value> input = ctx.input(0);
  if (failed(input))
    return failure();
  return ctx.setOutput(
      0, buildTranspose(ctx.getBuilder(), ctx.loc(), *input, perm));
}

static LogicalResult convertConcat(ImportContext &ctx) {
  SmallVector<RankedTensorType> types;
  for (unsigned i = 0; i < ctx.numInputs(); ++i) {
    FailureOr<RankedTensorType> type = ctx.inputType(i);
    if (failed(type))
      return failure();
    types.push_back(*type);
  }
  if (types.empty())
    return ctx.emitError() << "needs at least one input";
  int64_t rank = types[0].getRank();
  FailureOr<int64_t> axis = normalizeAxis(ctx, ctx.intAttr("axis", 0), rank);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(types[0].getShape());
  shape[*axis] = 0;
  for (auto [i, type] : llvm::enumerate(types)) {
    bool ok = type.getRank() == rank &&
              type.getElementType() == types[0].getElementType();
    for (int64_t d = 0; ok && d < rank; ++d)
      ok = d == *axis || type.getDimSize(d) == types[0].getDimSize(d);
    if (!ok)
      return ctx.emitError() << "shape mismatch: input " << i << " " << type
                             << " does not concatenate with input 0 "
                             << types[0] << " on axis " << *axis;
    if (llvm::AddOverflow(shape[*axis], type.getDimSize(*axis), shape[*axis]))
      return ctx.emitError()
             << "the concatenated axis " << *axis << " overflows int64";
  }
  FailureOr<RankedTensorType> checkedType =
      ctx.checkedTensorType(shape, types[0].getElementType());
  if (failed(checkedType))
    return failure();
  RankedTensorType resultType = *checkedType;

  SmallVector<DenseElementsAttr> known;
  for (unsigned i = 0; i < types.size(); ++i)
    if (DenseElementsAttr attr = ctx.constantInput(i))
      known.push_back(attr);
  if (known.size() == types.size() &&
      resultType.getNumElements() <= kMaxFoldElements) {
    return ctx.setConstantOutput(
        0, remapElements(known, resultType, [&](ArrayRef<int64_t> out) {
          int64_t along = out[*axis];
          unsigned which = 0;
          while (along >= types[which].getDimSize(*axis))
            along -= types[which++].getDimSize(*axis);
          SmallVector<int64_t> strides = stridesOf(types[which].getShape());
          int64_t offset = 0;
          for (int64_t d = 0; d < rank; ++d)
            offset += (d == *axis ? along : out[d]) * strides[d];
          return std::make_pair(which, offset);
        }));
  }

  OpBuilder &b = ctx.getBuilder();
  Location loc = ctx.loc();
  Value result =
      tensor::EmptyOp::create(b, loc, shape, resultType.getElementType());
  int64_t offset = 0;
  for (unsigned i = 0; i < types.size(); ++i) {
    FailureOr<Value> input = ctx.input(i);
    if (failed(input))
      return failure();
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
    offsets[*axis] = b.getIndexAttr(offset);
    SmallVector<OpFoldResult> sizes, strides(rank, b.getIndexAttr(1));
    for (int64_t d : types[i].getShape())
      sizes.push_back(b.getIndexAttr(d));
    // Copy into a slice of the result and insert it back: bufferizes in
    // place to a loop nest (a plain insert_slice becomes a strided
    // memref.copy, which needs a runtime library).
    Value slot = tensor::ExtractSliceOp::create(b, loc, types[i], result,
                                                offsets, sizes, strides);
    Value copied =
        linalg::CopyOp::create(b, loc, ValueRange{*input}, ValueRange{slot})
            .getResult(0);
    result = tensor::InsertSliceOp::create(b, loc, copied, result, offsets,
                                           sizes, strides);
    offset += types[i].getDimSize(*axis);
  }
  return ctx.setOutput(0, result);
}

/// Extracts [offsets, offsets + sizes * strides) of input 0 (positive
/// strides) as output `output`, folding a known input.
static LogicalResult setSlice(ImportContext &ctx, unsigned output,
                              ArrayRef<int64_t> offsets,
                              ArrayRef<int64_t> sizes,
                              ArrayRef<int64_t> strides) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  if (failed(type))
    return failure();
  auto resultType = RankedTensorType::get(sizes, type->getElementType());
  // An empty slice (e.g. a start past the end) holds no data: a constant,
  // whose offsets need not be in bounds.
  if (resultType.getNumElements() == 0)
    return ctx.setConstantOutput(
        output, DenseElementsAttr::get(resultType, ArrayRef<Attribute>{}));
  if (DenseElementsAttr known = ctx.constantInput(0)) {
    SmallVector<int64_t> inStrides = stridesOf(type->getShape());
    return ctx.setConstantOutput(
        output, remapElements(known, resultType, [&](ArrayRef<int64_t> out) {
          int64_t offset = 0;
          for (size_t d = 0; d < out.size(); ++d)
            offset += (offsets[d] + out[d] * strides[d]) * inStrides[d];
          return std::make_pair(0u, offset);
        }));
  }
  FailureOr<Value> input = ctx.input(0);
  if (failed(input))
    return failure();
  OpBuilder &b = ctx.getBuilder();
  if (llvm::any_of(strides, [](int64_t s) { return s < 0; })) {
    // Reversing slices: a generic reading input[offset + i * stride].
    Value init =
        tensor::EmptyOp::create(b, ctx.loc(), sizes, type->getElementType());
    MLIRContext *mctx = ctx.getContext();
    Value source = *input;
    SmallVector<AffineMap> maps = {
        AffineMap::getMultiDimIdentityMap(sizes.size(), mctx)};
    SmallVector<utils::IteratorType> iterators(sizes.size(),
                                               utils::IteratorType::parallel);
    Value result =
        linalg::GenericOp::create(
            b, ctx.loc(), TypeRange{resultType}, ValueRange{}, ValueRange{init},
            maps, iterators,
            [&](OpBuilder &nb, Location nl, ValueRange) {
              SmallVector<Value> coords;
              for (size_t d = 0; d < sizes.size(); ++d) {
                Value i = linalg::IndexOp::create(nb, nl, d);
                Value stride =
                    arith::ConstantIndexOp::create(nb, nl, strides[d]);
                Value offset =
                    arith::ConstantIndexOp::create(nb, nl, offsets[d]);
                coords.push_back(arith::AddIOp::create(
                    nb, nl, offset, arith::MulIOp::create(nb, nl, i, stride)));
              }
              Value element = tensor::ExtractOp::create(nb, nl, source, coords);
              linalg::YieldOp::create(nb, nl, element);
            })
            .getResult(0);
    return ctx.setOutput(output, result);
  }
  Value slice = tensor::ExtractSliceOp::create(
      b, ctx.loc(), resultType, *input, ValueRange{}, ValueRange{},
      ValueRange{}, b.getDenseI64ArrayAttr(offsets),
      b.getDenseI64ArrayAttr(sizes), b.getDenseI64ArrayAttr(strides));
  // A copy into a fresh tensor: the slice may be strided, and a strided
  // memref.copy would need a runtime library.
  Value init =
      tensor::EmptyOp::create(b, ctx.loc(), sizes, type->getElementType());
  Value copied =
      linalg::CopyOp::create(b, ctx.loc(), ValueRange{slice}, ValueRange{init})
          .getResult(0);
  return ctx.setOutput(output, copied);
}

static LogicalResult convertSlice(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  FailureOr<SmallVector<int64_t>> starts = ctx.constantInts(1);
  FailureOr<SmallVector<int64_t>> ends = ctx.constantInts(2);
  if (failed(type) || failed(starts) || failed(ends))
    return failure();
  int64_t rank = type->getRank();
  SmallVector<int64_t> axes, steps;
  if (ctx.hasInput(3)) {
    FailureOr<SmallVector<int64_t>> a = ctx.constantInts(3);
    if (failed(a))
      return failure();
    axes = *a;
  } else {
    for (size_t i = 0; i < starts->size(); ++i)
      axes.push_back(i);
  }
  if (ctx.hasInput(4)) {
    FailureOr<SmallVector<int64_t>> s = ctx.constantInts(4);
    if (failed(s))
      return failure();
    steps = *s;
  } else {
    steps.assign(starts->size(), 1);
  }
  if (ends->size() != starts->size() || axes.size() != starts->size() ||
      steps.size() != starts->size())
    return ctx.emitError() << "starts, ends, axes and steps differ in length";
  SmallVector<int64_t> offsets(rank, 0), sizes(type->getShape()),
      strides(rank, 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    FailureOr<int64_t> axis = normalizeAxis(ctx, axes[i], rank);
    if (failed(axis))
      return failure();
    int64_t dim = type->getDimSize(*axis);
    int64_t start = (*starts)[i], end = (*ends)[i], step = steps[i];
    if (step == 0)
      return ctx.emitError() << "step 0 on axis " << *axis;
    if (start < 0)
      start += dim;
    if (end < 0)
      end += dim;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      sizes[*axis] = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      sizes[*axis] = start > end ? (start - end - step - 1) / -step : 0;
    }
    offsets[*axis] = start;
    strides[*axis] = step;
  }
  return setSlice(ctx, 0, offsets, sizes, strides);
}

static LogicalResult convertSplit(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  if (failed(type))
    return failure();
  int64_t rank = type->getRank();
  FailureOr<int64_t> axis = normalizeAxis(ctx, ctx.intAttr("axis", 0), rank);
  if (failed(axis))
    return failure();
  int64_t dim = type->getDimSize(*axis);
  int64_t outputs = ctx.numOutputs();
  SmallVector<int64_t> split;
  if (ctx.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> s = ctx.constantInts(1);
    if (failed(s))
      return failure();
    split = *s;
  } else {
    int64_t parts = ctx.intAttr("num_outputs", outputs);
    if (parts <= 0)
      return ctx.emitError() << "num_outputs must be positive";
    int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t i = 0; i < parts; ++i)
      split.push_back(
          std::max<int64_t>(0, std::min<int64_t>(chunk, dim - i * chunk)));
  }
  int64_t total = 0;
  for (int64_t s : split)
    total += s;
  if ((int64_t)split.size() != outputs || total != dim)
    return ctx.emitError() << "shape mismatch: split " << formatShape(split)
                           << " into " << outputs
                           << " outputs does not cover dimension " << *axis
                           << " of " << *type;
  int64_t offset = 0;
  for (int64_t i = 0; i < outputs; ++i) {
    SmallVector<int64_t> offsets(rank, 0), sizes(type->getShape()),
        strides(rank, 1);
    offsets[*axis] = offset;
    sizes[*axis] = split[i];
    if (failed(setSlice(ctx, i, offsets, sizes, strides)))
      return failure();
    offset += split[i];
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Gather, Expand, Trilu
//===----------------------------------------------------------------------===//

static LogicalResult convertGather(ImportContext &ctx) {
  FailureOr<RankedTensorType> dataType = ctx.inputType(0);
  FailureOr<RankedTensorType> indexType = ctx.inputType(1);
  if (failed(dataType) || failed(indexType))
    return failure();
  if (!isa<IntegerType>(indexType->getElementType()) ||
      indexType->getElementType().isInteger(1))
    return ctx.emitError() << "dtype mismatch: indices must be int32 or "
                              "int64, found "
                           << *indexType;
  int64_t rank = dataType->getRank();
  FailureOr<int64_t> axis = normalizeAxis(ctx, ctx.intAttr("axis", 0), rank);
  if (failed(axis))
    return failure();
  int64_t dim = dataType->getDimSize(*axis);
  int64_t indexRank = indexType->getRank();
  SmallVector<int64_t> shape(dataType->getShape().take_front(*axis));
  llvm::append_range(shape, indexType->getShape());
  llvm::append_range(shape, dataType->getShape().drop_front(*axis + 1));
  FailureOr<RankedTensorType> checkedType =
      ctx.checkedTensorType(shape, dataType->getElementType());
  if (failed(checkedType))
    return failure();
  RankedTensorType resultType = *checkedType;

  DenseElementsAttr knownData = ctx.constantInput(0);
  DenseElementsAttr knownIndices = ctx.constantInput(1);
  if (knownIndices) {
    for (int64_t index : attrToInts(knownIndices))
      if (index < -dim || index >= dim)
        return ctx.emitError()
               << "index " << index << " is out of range for dimension "
               << *axis << " of size " << dim;
  }
  if (knownData && knownIndices &&
      resultType.getNumElements() <= kMaxFoldElements) {
    SmallVector<int64_t> indices = attrToInts(knownIndices);
    SmallVector<int64_t> dataStrides = stridesOf(dataType->getShape());
    SmallVector<int64_t> indexStrides = stridesOf(indexType->getShape());
    return ctx.setConstantOutput(
        0, remapElements(knownData, resultType, [&](ArrayRef<int64_t> out) {
          int64_t flatIndex = 0;
          for (int64_t d = 0; d < indexRank; ++d)
            flatIndex += out[*axis + d] * indexStrides[d];
          int64_t index = indices[flatIndex];
          if (index < 0)
            index += dim;
          int64_t offset = index * dataStrides[*axis];
          for (int64_t d = 0; d < *axis; ++d)
            offset += out[d] * dataStrides[d];
          for (int64_t d = *axis + 1; d < rank; ++d)
            offset += out[d - 1 + indexRank] * dataStrides[d];
          return std::make_pair(0u, offset);
        }));
  }

  FailureOr<Value> data = ctx.input(0), indices = ctx.input(1);
  if (failed(data) || failed(indices))
    return failure();
  OpBuilder &b = ctx.getBuilder();
  Location loc = ctx.loc();
  MLIRContext *mctx = ctx.getContext();
  int64_t outRank = shape.size();
  SmallVector<AffineExpr> indexExprs;
  for (int64_t d = 0; d < indexRank; ++d)
    indexExprs.push_back(getAffineDimExpr(*axis + d, mctx));
  SmallVector<AffineMap> maps = {
      AffineMap::get(outRank, 0, indexExprs, mctx),
      AffineMap::getMultiDimIdentityMap(outRank, mctx)};
  Value init =
      tensor::EmptyOp::create(b, loc, shape, dataType->getElementType());
  SmallVector<utils::IteratorType> iterators(outRank,
                                             utils::IteratorType::parallel);
  Value dataValue = *data;
  Value result =
      linalg::GenericOp::create(
          b, loc, TypeRange{resultType}, ValueRange{*indices}, ValueRange{init},
          maps, iterators,
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            Value index = args[0];
            Type indexTy = index.getType();
            // Negative indices count from the end.
            Value zero = buildScalar(nb, nl, indexTy, 0);
            Value size = buildScalar(nb, nl, indexTy, (double)dim);
            Value negative = arith::CmpIOp::create(
                nb, nl, arith::CmpIPredicate::slt, index, zero);
            Value wrapped = arith::AddIOp::create(nb, nl, index, size);
            index = arith::SelectOp::create(nb, nl, negative, wrapped, index);
            Value position =
                arith::IndexCastOp::create(nb, nl, nb.getIndexType(), index);
            SmallVector<Value> coords;
            for (int64_t d = 0; d < *axis; ++d)
              coords.push_back(linalg::IndexOp::create(nb, nl, d));
            coords.push_back(position);
            for (int64_t d = *axis + 1; d < rank; ++d)
              coords.push_back(
                  linalg::IndexOp::create(nb, nl, d - 1 + indexRank));
            Value element =
                tensor::ExtractOp::create(nb, nl, dataValue, coords);
            linalg::YieldOp::create(nb, nl, element);
          })
          .getResult(0);
  return ctx.setOutput(0, result);
}

static LogicalResult convertExpand(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  FailureOr<SmallVector<int64_t>> requested = ctx.constantInts(1);
  if (failed(type) || failed(requested))
    return failure();
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes(ctx, {type->getShape(), ArrayRef<int64_t>(*requested)});
  if (failed(shape))
    return failure();
  FailureOr<RankedTensorType> checkedType =
      ctx.checkedTensorType(*shape, type->getElementType());
  if (failed(checkedType))
    return failure();
  RankedTensorType resultType = *checkedType;
  if (DenseElementsAttr known = ctx.constantInput(0)) {
    if (known.isSplat())
      return ctx.setConstantOutput(0, known.resizeSplat(resultType));
    if (resultType.getNumElements() <= kMaxFoldElements) {
      SmallVector<int64_t> strides = stridesOf(type->getShape());
      int64_t offsetRank = shape->size() - type->getRank();
      return ctx.setConstantOutput(
          0, remapElements(known, resultType, [&](ArrayRef<int64_t> out) {
            int64_t offset = 0;
            for (int64_t d = 0; d < type->getRank(); ++d)
              if (type->getDimSize(d) != 1)
                offset += out[offsetRank + d] * strides[d];
            return std::make_pair(0u, offset);
          }));
    }
  }
  FailureOr<Value> input = ctx.input(0);
  if (failed(input))
    return failure();
  Value result = buildElementwise(
      ctx.getBuilder(), ctx.loc(), ValueRange{*input}, *shape,
      type->getElementType(),
      [](OpBuilder &, Location, ValueRange args) { return args[0]; });
  return ctx.setOutput(0, result);
}

static LogicalResult convertTrilu(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  if (failed(type))
    return failure();
  int64_t rank = type->getRank();
  if (rank < 2)
    return ctx.emitError() << "shape mismatch: input must have rank >= 2, "
                              "found "
                           << *type;
  int64_t k = 0;
  if (ctx.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> kValue = ctx.constantInts(1);
    if (failed(kValue))
      return failure();
    if (kValue->size() != 1)
      return ctx.emitError() << "k must be a scalar";
    k = (*kValue)[0];
  }
  bool upper = ctx.intAttr("upper", 1);
  FailureOr<Value> input = ctx.input(0);
  if (failed(input))
    return failure();
  Type elementTy = type->getElementType();
  Value result = buildElementwise(
      ctx.getBuilder(), ctx.loc(), ValueRange{*input}, type->getShape(),
      elementTy, [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
        // Keep element (i, j) when j - i >= k (upper) or j - i <= k (lower).
        Value i = linalg::IndexOp::create(b, loc, rank - 2);
        Value j = linalg::IndexOp::create(b, loc, rank - 1);
        Value diff = arith::SubIOp::create(b, loc, j, i);
        Value kIndex = arith::ConstantIndexOp::create(b, loc, k);
        Value keep = arith::CmpIOp::create(b, loc,
                                           upper ? arith::CmpIPredicate::sge
                                                 : arith::CmpIPredicate::sle,
                                           diff, kIndex);
        Value zero =
            elementTy.isInteger(1)
                ? Value(arith::ConstantOp::create(b, loc, b.getBoolAttr(false)))
                : buildScalar(b, loc, elementTy, 0.0);
        return arith::SelectOp::create(b, loc, keep, args[0], zero);
      });
  return ctx.setOutput(0, result);
}

void registerShapeOps(ConverterTable &table) {
  constexpr int64_t kLatest = 21;
  table.add("Constant", 13, kLatest, convertConstant);
  table.add("Shape", 13, kLatest, convertShape);
  table.add("ConstantOfShape", 13, kLatest, convertConstantOfShape);
  table.add("Range", 13, kLatest, convertRange);
  table.add("Identity", 13, kLatest, convertIdentity);
  table.add("Reshape", 13, kLatest, convertReshape);
  table.add("Flatten", 13, kLatest, convertFlatten);
  table.add("Unsqueeze", 13, kLatest, convertUnsqueeze);
  table.add("Squeeze", 13, kLatest, convertSqueeze);
  table.add("Transpose", 13, kLatest, convertTranspose);
  table.add("Concat", 13, kLatest, convertConcat);
  table.add("Slice", 13, kLatest, convertSlice);
  table.add("Split", 13, kLatest, convertSplit);
  table.add("Gather", 13, kLatest, convertGather);
  table.add("Expand", 13, kLatest, convertExpand);
  table.add("Trilu", 14, kLatest, convertTrilu);
}

} // namespace onnx_import
} // namespace nibble
