//===- Model.cpp - Opening, binding and running compiled models -----------===//
//
// The nibble_model_* functions of nibble_runtime.h: finds a model's ABI
// description (dlopen + dlsym, or given), validates it, maps its weight
// archive and checks every param against it, then builds the MLIR memref
// descriptors (identity strides) that invoke() takes.
//
//===----------------------------------------------------------------------===//

#include "runtime/SafeTensors.h"
#include "runtime/Status.h"
#include "runtime/ThreadPool.h"

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <new>

using namespace nibble::runtime;

namespace {

/// Largest rank a tensor of the ABI may have (a sanity bound on what a
/// corrupt description could make the runtime allocate).
constexpr int32_t kMaxRank = 64;

/// A memref descriptor's words: allocated and aligned pointers, offset,
/// sizes, strides.
struct Descriptor {
  std::vector<int64_t> words;

  /// Describes `data` with `sizes` and identity (row-major) strides.
  void set(const void *data, const std::vector<int64_t> &sizes) {
    size_t rank = sizes.size();
    words.assign(3 + 2 * rank, 0);
    int64_t address = static_cast<int64_t>(reinterpret_cast<intptr_t>(data));
    words[0] = address;
    words[1] = address;
    int64_t stride = 1;
    for (size_t i = rank; i-- > 0;) {
      words[3 + i] = sizes[i];
      words[3 + rank + i] = stride;
      stride *= sizes[i];
    }
  }
};

/// What a model knows about one of its inputs or outputs.
struct Binding {
  bool bound = false;
  /// The bound shape (dynamic dimensions resolved).
  std::vector<int64_t> shape;
  Descriptor descriptor;
};

/// Frees a buffer from std::aligned_alloc.
struct FreeDeleter {
  void operator()(void *pointer) const { std::free(pointer); }
};

/// Returns the directory part of `path` ("." if it has none).
std::string directoryOf(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// Checks one tensor description of `abi`; `kind` is "input", "output" or
/// "param", dynamic dimensions are allowed for inputs only.
nibble_status checkTensorDesc(const nibble_tensor_desc &desc, const char *kind,
                              int32_t index, bool allowDynamic) {
  if (!desc.name)
    return fail(NIBBLE_ERROR_ABI, "model ABI: %s %d has no name", kind, index);
  const char *name = desc.name;
  // The description comes from the model's library: its dtype may be any
  // int, so it is read as one (rawEnumValue). NIBBLE_DTYPE_BOOL is the last
  // nibble_dtype.
  int dtype = rawEnumValue(desc.dtype);
  if (dtype < 0 || dtype > NIBBLE_DTYPE_BOOL ||
      nibble_dtype_size(static_cast<nibble_dtype>(dtype)) == 0)
    return fail(NIBBLE_ERROR_ABI, "model ABI: %s '%s' has unknown dtype %d",
                kind, name, dtype);
  if (desc.rank < 0 || desc.rank > kMaxRank || (desc.rank > 0 && !desc.shape))
    return fail(NIBBLE_ERROR_ABI, "model ABI: %s '%s' has invalid rank %d",
                kind, name, desc.rank);
  for (int32_t i = 0; i < desc.rank; ++i) {
    int64_t dim = desc.shape[i];
    if (dim < -1 || (dim == -1 && !allowDynamic))
      return fail(NIBBLE_ERROR_ABI,
                  "model ABI: %s '%s' has invalid dimension %lld at %d%s", kind,
                  name, static_cast<long long>(dim), i,
                  dim == -1 ? " (only inputs may be dynamic)" : "");
  }
  if (!allowDynamic) {
    uint64_t count, bytes;
    if (!checkedElementCount(desc.shape, desc.rank,
                             nibble_dtype_size(desc.dtype), count, bytes))
      return fail(NIBBLE_ERROR_ABI, "model ABI: %s '%s' is too large (%s)",
                  kind, name, formatShape(desc.shape, desc.rank).c_str());
  }
  return NIBBLE_OK;
}

/// Checks the whole description `abi` for consistency.
nibble_status checkAbi(const nibble_model_abi *abi) {
  if (!abi)
    return fail(NIBBLE_ERROR_ABI, "model ABI: nibble_model_get_abi() "
                                  "returned NULL");
  if (abi->abi_version != NIBBLE_MODEL_ABI_VERSION)
    return fail(NIBBLE_ERROR_ABI,
                "model ABI version %u, but this runtime supports version %d; "
                "recompile the model with a matching nibblec",
                abi->abi_version, NIBBLE_MODEL_ABI_VERSION);
  if (abi->num_inputs < 0 || abi->num_outputs < 0 || abi->num_params < 0 ||
      (abi->num_inputs > 0 && !abi->inputs) ||
      (abi->num_outputs > 0 && !abi->outputs) ||
      (abi->num_params > 0 && !abi->params))
    return fail(NIBBLE_ERROR_ABI, "model ABI: invalid tensor lists");
  if (!abi->invoke || !abi->set_parallel_runner)
    return fail(NIBBLE_ERROR_ABI,
                "model ABI: no invoke or set_parallel_runner function");
  if (abi->num_params > 0 && !abi->weights_file)
    return fail(NIBBLE_ERROR_ABI, "model ABI: %d params but no weights_file",
                abi->num_params);
  for (int32_t i = 0; i < abi->num_inputs; ++i)
    if (nibble_status status = checkTensorDesc(abi->inputs[i], "input", i,
                                               /*allowDynamic=*/true))
      return status;
  for (int32_t i = 0; i < abi->num_outputs; ++i)
    if (nibble_status status = checkTensorDesc(abi->outputs[i], "output", i,
                                               /*allowDynamic=*/false))
      return status;
  for (int32_t i = 0; i < abi->num_params; ++i)
    if (nibble_status status = checkTensorDesc(abi->params[i], "param", i,
                                               /*allowDynamic=*/false))
      return status;
  return NIBBLE_OK;
}

/// Bytes of a static tensor description (checked by checkAbi).
size_t staticBytes(const nibble_tensor_desc &desc) {
  uint64_t count = 0, bytes = 0;
  checkedElementCount(desc.shape, desc.rank, nibble_dtype_size(desc.dtype),
                      count, bytes);
  return static_cast<size_t>(bytes);
}

std::vector<int64_t> shapeOf(const nibble_tensor_desc &desc) {
  return std::vector<int64_t>(desc.shape, desc.shape + desc.rank);
}

} // namespace

/// An opened model (the opaque type of the C API).
struct nibble_model {
  const nibble_model_abi *abi = nullptr;
  /// The dlopen handle, or nullptr for a model opened by its ABI.
  void *library = nullptr;
  SafeTensorsArchive weights;
  /// Copies of params whose data in the archive is not aligned to their
  /// element size.
  std::vector<std::unique_ptr<void, FreeDeleter>> alignedCopies;
  std::vector<Descriptor> params;
  std::vector<Binding> inputs;
  std::vector<Binding> outputs;
  /// invoke()'s argument array: inputs, params, outputs.
  std::vector<void *> args;

  ~nibble_model() {
    if (library)
      ::dlclose(library);
  }

  /// Validates the ABI, maps the weights from `weightsDir` and checks the
  /// params against them.
  nibble_status load(const std::string &weightsDir);
};

nibble_status nibble_model::load(const std::string &weightsDir) {
  if (nibble_status status = checkAbi(abi))
    return status;
  inputs.resize(abi->num_inputs);
  outputs.resize(abi->num_outputs);
  params.resize(abi->num_params);
  if (abi->num_params > 0) {
    std::string path = abi->weights_file;
    if (path.empty() || path[0] != '/')
      path = weightsDir + "/" + path;
    if (nibble_status status = weights.open(path))
      return status;
  }
  for (int32_t i = 0; i < abi->num_params; ++i) {
    const nibble_tensor_desc &desc = abi->params[i];
    const SafeTensorsEntry *entry = weights.find(desc.name);
    std::string expected = std::string(nibble_dtype_name(desc.dtype)) + " " +
                           formatShape(desc.shape, desc.rank);
    if (!entry)
      return fail(NIBBLE_ERROR_MISMATCH,
                  "%s: param '%s' (%s) of model '%s' is missing from the "
                  "archive",
                  weights.path().c_str(), desc.name, expected.c_str(),
                  abi->entry_name ? abi->entry_name : "?");
    if (entry->dtype != desc.dtype || entry->shape != shapeOf(desc))
      return fail(NIBBLE_ERROR_MISMATCH,
                  "%s: param '%s' is %s %s in the archive, but the model "
                  "expects %s",
                  weights.path().c_str(), desc.name, entry->dtypeName.c_str(),
                  formatShape(entry->shape.data(), entry->shape.size()).c_str(),
                  expected.c_str());
    const void *data = weights.data(*entry);
    size_t size = nibble_dtype_size(desc.dtype);
    if (reinterpret_cast<uintptr_t>(data) % size != 0 &&
        entry->end != entry->begin) {
      size_t bytes = entry->end - entry->begin;
      void *copy = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      if (!copy)
        return fail(NIBBLE_ERROR_OUT_OF_MEMORY,
                    "cannot allocate %zu bytes for param '%s'", bytes,
                    desc.name);
      std::memcpy(copy, data, bytes);
      alignedCopies.emplace_back(copy);
      data = copy;
    }
    params[i].set(data, shapeOf(desc));
  }
  args.assign(inputs.size() + params.size() + outputs.size(), nullptr);
  for (size_t i = 0; i < params.size(); ++i)
    args[inputs.size() + i] = params[i].words.data();
  return NIBBLE_OK;
}

namespace {

/// Runs `model->load` and hands the model to `*out` on success.
nibble_status finishOpen(std::unique_ptr<nibble_model> model,
                         const std::string &weightsDir, nibble_model **out) {
  if (nibble_status status = model->load(weightsDir))
    return status;
  model->abi->set_parallel_runner(nibble_parallel_for);
  *out = model.release();
  return NIBBLE_OK;
}

/// Checks `model` and `index` against the `count` tensors of `kind`.
nibble_status checkIndex(const nibble_model *model, int32_t index,
                         int32_t count, const char *kind) {
  if (!model)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "model is NULL");
  if (index < 0 || index >= count)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "%s index %d out of range: the model has %d %ss", kind, index,
                count, kind);
  return NIBBLE_OK;
}

} // namespace

extern "C" {

nibble_status nibble_model_open(const char *library_path, nibble_model **out) {
  if (!out)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "out is NULL");
  *out = nullptr;
  if (!library_path)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "library path is NULL");
  std::string path = library_path;
  // dlopen searches the library path for names without '/'; a model file is
  // meant relative to the current directory.
  if (path.find('/') == std::string::npos)
    path = "./" + path;
  std::unique_ptr<nibble_model> model(new (std::nothrow) nibble_model);
  if (!model)
    return fail(NIBBLE_ERROR_OUT_OF_MEMORY, "cannot allocate a model");
  ::dlerror();
  model->library = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!model->library) {
    const char *reason = ::dlerror();
    return fail(NIBBLE_ERROR_IO, "cannot load model library: %s",
                reason ? reason : path.c_str());
  }
  ::dlerror();
  void *symbol = ::dlsym(model->library, "nibble_model_get_abi");
  if (!symbol)
    return fail(NIBBLE_ERROR_ABI,
                "%s: no symbol nibble_model_get_abi (not a model compiled by "
                "nibblec?)",
                library_path);
  auto getAbi = reinterpret_cast<const nibble_model_abi *(*)(void)>(symbol);
  model->abi = getAbi();
  std::string directory = directoryOf(path);
  if (nibble_status status = finishOpen(std::move(model), directory, out))
    return addErrorContext(status, std::string(library_path) + ": ");
  return NIBBLE_OK;
}

nibble_status nibble_model_open_abi(const nibble_model_abi *abi,
                                    const char *weights_dir,
                                    nibble_model **out) {
  if (!out)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "out is NULL");
  *out = nullptr;
  std::unique_ptr<nibble_model> model(new (std::nothrow) nibble_model);
  if (!model)
    return fail(NIBBLE_ERROR_OUT_OF_MEMORY, "cannot allocate a model");
  model->abi = abi;
  return finishOpen(std::move(model), weights_dir ? weights_dir : ".", out);
}

void nibble_model_close(nibble_model *model) { delete model; }

const nibble_model_abi *nibble_model_get_model_abi(const nibble_model *model) {
  return model ? model->abi : nullptr;
}

int32_t nibble_model_num_inputs(const nibble_model *model) {
  return model ? model->abi->num_inputs : 0;
}

int32_t nibble_model_num_outputs(const nibble_model *model) {
  return model ? model->abi->num_outputs : 0;
}

nibble_status nibble_model_input_info(const nibble_model *model, int32_t index,
                                      nibble_tensor_desc *info) {
  if (nibble_status status =
          checkIndex(model, index, nibble_model_num_inputs(model), "input"))
    return status;
  if (!info)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "info is NULL");
  *info = model->abi->inputs[index];
  return NIBBLE_OK;
}

nibble_status nibble_model_output_info(const nibble_model *model, int32_t index,
                                       nibble_tensor_desc *info) {
  if (nibble_status status =
          checkIndex(model, index, nibble_model_num_outputs(model), "output"))
    return status;
  if (!info)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "info is NULL");
  *info = model->abi->outputs[index];
  return NIBBLE_OK;
}

nibble_status nibble_model_output_bytes(const nibble_model *model,
                                        int32_t index, size_t *bytes) {
  if (nibble_status status =
          checkIndex(model, index, nibble_model_num_outputs(model), "output"))
    return status;
  if (!bytes)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "bytes is NULL");
  *bytes = staticBytes(model->abi->outputs[index]);
  return NIBBLE_OK;
}

nibble_status nibble_model_bind_input(nibble_model *model, int32_t index,
                                      const void *data, const int64_t *shape,
                                      int32_t rank) {
  if (nibble_status status =
          checkIndex(model, index, nibble_model_num_inputs(model), "input"))
    return status;
  const nibble_tensor_desc &desc = model->abi->inputs[index];
  Binding &binding = model->inputs[index];
  binding.bound = false;
  if (rank != desc.rank)
    return fail(NIBBLE_ERROR_MISMATCH,
                "input '%s': expected rank %d %s, got rank %d", desc.name,
                desc.rank, formatShape(desc.shape, desc.rank).c_str(), rank);
  if (rank > 0 && !shape)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "input '%s': shape is NULL",
                desc.name);
  for (int32_t i = 0; i < rank; ++i) {
    bool matches =
        desc.shape[i] == -1 ? shape[i] >= 0 : shape[i] == desc.shape[i];
    if (!matches)
      return fail(NIBBLE_ERROR_MISMATCH,
                  "input '%s': expected shape %s, got %s (dimension %d)",
                  desc.name, formatShape(desc.shape, desc.rank).c_str(),
                  formatShape(shape, rank, false).c_str(), i);
  }
  uint64_t count, bytes;
  if (!checkedElementCount(shape, rank, nibble_dtype_size(desc.dtype), count,
                           bytes))
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "input '%s': shape %s is too "
                "large",
                desc.name, formatShape(shape, rank, false).c_str());
  if (!data && count != 0)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "input '%s': data is NULL",
                desc.name);
  binding.shape.assign(shape, shape + rank);
  binding.descriptor.set(data, binding.shape);
  binding.bound = true;
  model->args[index] = binding.descriptor.words.data();
  return NIBBLE_OK;
}

nibble_status nibble_model_bind_output(nibble_model *model, int32_t index,
                                       void *data, size_t bytes) {
  if (nibble_status status =
          checkIndex(model, index, nibble_model_num_outputs(model), "output"))
    return status;
  const nibble_tensor_desc &desc = model->abi->outputs[index];
  Binding &binding = model->outputs[index];
  binding.bound = false;
  size_t needed = staticBytes(desc);
  if (bytes < needed)
    return fail(NIBBLE_ERROR_MISMATCH,
                "output '%s': buffer of %zu bytes is too small, %s %s needs "
                "%zu",
                desc.name, bytes, nibble_dtype_name(desc.dtype),
                formatShape(desc.shape, desc.rank).c_str(), needed);
  if (!data && needed != 0)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "output '%s': data is NULL",
                desc.name);
  binding.shape = shapeOf(desc);
  binding.descriptor.set(data, binding.shape);
  binding.bound = true;
  model->args[model->inputs.size() + model->params.size() + index] =
      binding.descriptor.words.data();
  return NIBBLE_OK;
}

nibble_status nibble_model_run(nibble_model *model) {
  if (!model)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "model is NULL");
  const nibble_model_abi *abi = model->abi;
  for (int32_t i = 0; i < abi->num_inputs; ++i)
    if (!model->inputs[i].bound)
      return fail(NIBBLE_ERROR_NOT_BOUND, "input '%s' is not bound",
                  abi->inputs[i].name);
  for (int32_t i = 0; i < abi->num_outputs; ++i)
    if (!model->outputs[i].bound)
      return fail(NIBBLE_ERROR_NOT_BOUND, "output '%s' is not bound",
                  abi->outputs[i].name);
  abi->invoke(model->args.data());
  return NIBBLE_OK;
}

} // extern "C"
