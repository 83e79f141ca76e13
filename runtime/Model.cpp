//===- Model.cpp - Opening, binding and running compiled models -----------===//
//
// The nibble_model_* functions of nibble_runtime.h: finds a model's ABI
// description (dlopen + dlsym, or given), validates it (ModelAbiCheck.h),
// maps its weight archive once per library and checks every weight against
// it, allocates the states, then builds the MLIR memref descriptors
// (identity strides) that the entry points' invoke() takes.
//
//===----------------------------------------------------------------------===//

#include "runtime/MallocSettings.h"
#include "runtime/ModelAbiCheck.h"
#include "runtime/SafeTensors.h"
#include "runtime/Status.h"
#include "runtime/ThreadPool.h"

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <memory>
#include <mutex>
#include <new>

using namespace nibble::runtime;

namespace {

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

/// What a model knows about one input or output of an entry.
struct Binding {
  bool bound = false;
  Descriptor descriptor;
};

/// Frees a buffer from std::aligned_alloc.
struct FreeDeleter {
  void operator()(void *pointer) const { std::free(pointer); }
};
using AlignedBuffer = std::unique_ptr<void, FreeDeleter>;

/// `bytes` zeroed bytes aligned to 64, or null (also for 0 bytes: then a
/// 64-byte block, so that the pointer is never null).
AlignedBuffer allocateZeroed(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  AlignedBuffer buffer(std::aligned_alloc(64, rounded ? rounded : 64));
  if (buffer)
    std::memset(buffer.get(), 0, rounded ? rounded : 64);
  return buffer;
}

/// Returns the directory part of `path` ("." if it has none).
std::string directoryOf(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::vector<int64_t> shapeOf(const nibble_tensor_desc &desc) {
  return std::vector<int64_t>(desc.shape, desc.shape + desc.rank);
}

/// The weights of one loaded model code (one nibble_model_abi): mapped and
/// bound once, shared by every nibble_model opened on that code, since the
/// code holds the bound pointers in its own globals.
struct SharedWeights {
  std::string path;
  SafeTensorsArchive archive;
  /// Copies of weights whose data in the archive is not aligned to their
  /// element size.
  std::vector<AlignedBuffer> alignedCopies;
  /// Each weight's data and descriptor, in table order.
  std::vector<void *> pointers;
  std::vector<Descriptor> descriptors;

  /// Maps `path` and checks and binds every weight of `abi`.
  nibble_status load(const nibble_model_abi &abi, const std::string &path);
};

nibble_status SharedWeights::load(const nibble_model_abi &abi,
                                  const std::string &weightsPath) {
  path = weightsPath;
  pointers.assign(abi.num_weights, nullptr);
  descriptors.resize(abi.num_weights);
  if (abi.num_weights == 0)
    return NIBBLE_OK;
  if (nibble_status status = archive.open(path))
    return status;
  for (int32_t i = 0; i < abi.num_weights; ++i) {
    const nibble_tensor_desc &desc = abi.weights[i];
    const SafeTensorsEntry *entry = archive.find(desc.name);
    std::string expected = std::string(nibble_dtype_name(desc.dtype)) + " " +
                           formatShape(desc.shape, desc.rank);
    if (!entry)
      return fail(NIBBLE_ERROR_MISMATCH,
                  "%s: weight '%s' (%s) of model '%s' is missing from the "
                  "archive",
                  path.c_str(), desc.name, expected.c_str(),
                  abi.name ? abi.name : "?");
    if (entry->dtype != desc.dtype || entry->shape != shapeOf(desc))
      return fail(NIBBLE_ERROR_MISMATCH,
                  "%s: weight '%s' is %s %s in the archive, but the model "
                  "expects %s",
                  path.c_str(), desc.name, entry->dtypeName.c_str(),
                  formatShape(entry->shape.data(), entry->shape.size()).c_str(),
                  expected.c_str());
    const void *data = archive.data(*entry);
    size_t size = nibble_dtype_size(desc.dtype);
    if (reinterpret_cast<uintptr_t>(data) % size != 0 &&
        entry->end != entry->begin) {
      size_t bytes = entry->end - entry->begin;
      AlignedBuffer copy = allocateZeroed(bytes);
      if (!copy)
        return fail(NIBBLE_ERROR_OUT_OF_MEMORY,
                    "cannot allocate %zu bytes for weight '%s'", bytes,
                    desc.name);
      std::memcpy(copy.get(), data, bytes);
      data = copy.get();
      alignedCopies.push_back(std::move(copy));
    }
    pointers[i] = const_cast<void *>(data);
    descriptors[i].set(data, shapeOf(desc));
  }
  if (abi.bind_weights)
    abi.bind_weights(pointers.data());
  return NIBBLE_OK;
}

/// The live SharedWeights of each model code, so that a second model opened
/// on the same code reuses the mapping instead of rebinding the code's
/// pointers (which would leave the first model's weights dangling).
std::mutex sharedWeightsMutex;
std::map<const nibble_model_abi *, std::weak_ptr<SharedWeights>>
    sharedWeightsByAbi;

/// The weights of `abi` from `path`: the live ones if any, else newly loaded.
nibble_status acquireWeights(const nibble_model_abi &abi,
                             const std::string &path,
                             std::shared_ptr<SharedWeights> &out) {
  std::lock_guard<std::mutex> lock(sharedWeightsMutex);
  std::weak_ptr<SharedWeights> &slot = sharedWeightsByAbi[&abi];
  if (std::shared_ptr<SharedWeights> live = slot.lock()) {
    if (live->path != path)
      return fail(NIBBLE_ERROR_MISMATCH,
                  "model '%s' is already open with the weights %s; it cannot "
                  "also run with %s",
                  abi.name ? abi.name : "?", live->path.c_str(), path.c_str());
    out = std::move(live);
    return NIBBLE_OK;
  }
  auto weights = std::make_shared<SharedWeights>();
  if (nibble_status status = weights->load(abi, path))
    return status;
  slot = weights;
  out = std::move(weights);
  return NIBBLE_OK;
}

/// The bindings and invoke() arguments of one entry point of an open model.
struct EntryState {
  std::vector<Binding> inputs;
  std::vector<Binding> outputs;
  std::vector<void *> args;
};

} // namespace

/// An opened model (the opaque type of the C API).
struct nibble_model {
  const nibble_model_abi *abi = nullptr;
  /// The dlopen handle, or nullptr for a model opened by its ABI.
  void *library = nullptr;
  std::shared_ptr<SharedWeights> weights;
  std::vector<AlignedBuffer> states;
  std::vector<Descriptor> stateDescriptors;
  std::vector<EntryState> entries;
  int32_t selected = 0;

  ~nibble_model() {
    // The code goes last: the weights' bound pointers live in it.
    weights.reset();
    if (library)
      ::dlclose(library);
  }

  const nibble_entry_desc &entry() const { return abi->entries[selected]; }
  EntryState &state() { return entries[selected]; }

  /// Validates the ABI, maps the weights from `weightsDir`, allocates the
  /// states and prepares every entry's argument array.
  nibble_status load(const std::string &weightsDir);
};

nibble_status nibble_model::load(const std::string &weightsDir) {
  if (nibble_status status = checkModelAbi(abi))
    return status;
  std::string path;
  if (abi->num_weights > 0) {
    path = abi->weights_file;
    if (path.empty() || path[0] != '/')
      path = weightsDir + "/" + path;
  }
  if (nibble_status status = acquireWeights(*abi, path, weights))
    return status;
  for (int32_t i = 0; i < abi->num_states; ++i) {
    const nibble_tensor_desc &desc = abi->states[i];
    size_t bytes = staticTensorBytes(desc);
    AlignedBuffer buffer = allocateZeroed(bytes);
    if (!buffer)
      return fail(NIBBLE_ERROR_OUT_OF_MEMORY,
                  "cannot allocate %zu bytes for state '%s'", bytes, desc.name);
    stateDescriptors.emplace_back();
    stateDescriptors.back().set(buffer.get(), shapeOf(desc));
    states.push_back(std::move(buffer));
  }
  entries.resize(abi->num_entries);
  for (int32_t e = 0; e < abi->num_entries; ++e) {
    const nibble_entry_desc &desc = abi->entries[e];
    EntryState &entryState = entries[e];
    entryState.inputs.resize(desc.num_inputs);
    entryState.outputs.resize(desc.num_outputs);
    entryState.args.assign(desc.num_args, nullptr);
    for (int32_t i = 0; i < desc.num_args; ++i) {
      const nibble_arg_desc &arg = desc.args[i];
      if (arg.role == NIBBLE_ARG_WEIGHT)
        entryState.args[i] = weights->descriptors[arg.index].words.data();
      else if (arg.role == NIBBLE_ARG_STATE)
        entryState.args[i] = stateDescriptors[arg.index].words.data();
    }
  }
  return NIBBLE_OK;
}

namespace {

/// Runs `model->load` and hands the model to `*out` on success.
nibble_status finishOpen(std::unique_ptr<nibble_model> model,
                         const std::string &weightsDir, nibble_model **out) {
  if (nibble_status status = model->load(weightsDir))
    return status;
  model->abi->set_parallel_runner(nibble_parallel_for);
  nibble::runtime::keepFreedBuffersForReuse();
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
                "%s index %d out of range: entry '%s' has %d %ss", kind, index,
                model->entry().name, count, kind);
  return NIBBLE_OK;
}

/// Points the argument of the selected entry that passes its `role` tensor
/// `index` at `binding`.
void setArgument(nibble_model *model, nibble_arg_role role, int32_t index,
                 Binding &binding) {
  const nibble_entry_desc &entry = model->entry();
  for (int32_t i = 0; i < entry.num_args; ++i)
    if (entry.args[i].role == role && entry.args[i].index == index)
      model->state().args[i] = binding.descriptor.words.data();
}

/// Checks `shape` (`rank` dimensions) against `desc`, the `kind` tensor of
/// the selected entry.
nibble_status checkShape(const nibble_model *model,
                         const nibble_tensor_desc &desc, const char *kind,
                         const int64_t *shape, int32_t rank) {
  if (rank != desc.rank)
    return fail(NIBBLE_ERROR_MISMATCH,
                "%s '%s' of entry '%s': expected rank %d %s, got rank %d", kind,
                desc.name, model->entry().name, desc.rank,
                formatShape(desc.shape, desc.rank).c_str(), rank);
  if (rank > 0 && !shape)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "%s '%s': shape is NULL", kind,
                desc.name);
  for (int32_t i = 0; i < rank; ++i) {
    bool matches =
        desc.shape[i] == -1 ? shape[i] >= 0 : shape[i] == desc.shape[i];
    if (!matches)
      return fail(NIBBLE_ERROR_MISMATCH,
                  "%s '%s' of entry '%s': expected shape %s, got %s "
                  "(dimension %d)",
                  kind, desc.name, model->entry().name,
                  formatShape(desc.shape, desc.rank).c_str(),
                  formatShape(shape, rank, false).c_str(), i);
  }
  return NIBBLE_OK;
}

/// Checks a buffer bound to `desc`, the `kind` tensor of the selected entry:
/// its shape, that its size fits in memory (stored in `bytes`), and that
/// only an empty one lacks data.
nibble_status checkBuffer(const nibble_model *model,
                          const nibble_tensor_desc &desc, const char *kind,
                          const void *data, const int64_t *shape, int32_t rank,
                          uint64_t &bytes) {
  if (nibble_status status = checkShape(model, desc, kind, shape, rank))
    return status;
  uint64_t count;
  if (!checkedElementCount(shape, rank, nibble_dtype_size(desc.dtype), count,
                           bytes))
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "%s '%s': shape %s is too large",
                kind, desc.name, formatShape(shape, rank, false).c_str());
  if (!data && count != 0)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "%s '%s': data is NULL", kind,
                desc.name);
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

int32_t nibble_model_num_entries(const nibble_model *model) {
  return model ? model->abi->num_entries : 0;
}

const char *nibble_model_entry_name(const nibble_model *model, int32_t index) {
  if (!model || index < 0 || index >= model->abi->num_entries)
    return nullptr;
  return model->abi->entries[index].name;
}

nibble_status nibble_model_select_entry(nibble_model *model, const char *name) {
  if (!model || !name)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "model or name is NULL");
  std::string known;
  for (int32_t i = 0; i < model->abi->num_entries; ++i) {
    if (std::strcmp(model->abi->entries[i].name, name) == 0) {
      model->selected = i;
      return NIBBLE_OK;
    }
    known += (i ? ", " : "") + std::string(model->abi->entries[i].name);
  }
  return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
              "model '%s' has no entry point '%s' (it has: %s)",
              model->abi->name ? model->abi->name : "?", name, known.c_str());
}

const char *nibble_model_property(const nibble_model *model, const char *key) {
  if (!model || !key)
    return nullptr;
  for (int32_t i = 0; i < model->abi->num_properties; ++i)
    if (std::strcmp(model->abi->properties[2 * i], key) == 0)
      return model->abi->properties[2 * i + 1];
  return nullptr;
}

int32_t nibble_model_num_states(const nibble_model *model) {
  return model ? model->abi->num_states : 0;
}

nibble_status nibble_model_state(nibble_model *model, int32_t index,
                                 nibble_tensor_desc *info, void **data) {
  if (!model)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "model is NULL");
  if (index < 0 || index >= model->abi->num_states)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "state index %d out of range: the model has %d states", index,
                model->abi->num_states);
  if (info)
    *info = model->abi->states[index];
  if (data)
    *data = model->states[index].get();
  return NIBBLE_OK;
}

nibble_status nibble_model_reset_states(nibble_model *model) {
  if (!model)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "model is NULL");
  for (int32_t i = 0; i < model->abi->num_states; ++i)
    std::memset(model->states[i].get(), 0,
                staticTensorBytes(model->abi->states[i]));
  return NIBBLE_OK;
}

int32_t nibble_model_num_inputs(const nibble_model *model) {
  return model ? model->entry().num_inputs : 0;
}

int32_t nibble_model_num_outputs(const nibble_model *model) {
  return model ? model->entry().num_outputs : 0;
}

nibble_status nibble_model_input_info(const nibble_model *model, int32_t index,
                                      nibble_tensor_desc *info) {
  if (nibble_status status =
          checkIndex(model, index, nibble_model_num_inputs(model), "input"))
    return status;
  if (!info)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "info is NULL");
  *info = model->entry().inputs[index];
  return NIBBLE_OK;
}

nibble_status nibble_model_output_info(const nibble_model *model, int32_t index,
                                       nibble_tensor_desc *info) {
  if (nibble_status status =
          checkIndex(model, index, nibble_model_num_outputs(model), "output"))
    return status;
  if (!info)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "info is NULL");
  *info = model->entry().outputs[index];
  return NIBBLE_OK;
}

nibble_status nibble_model_output_bytes(const nibble_model *model,
                                        int32_t index, size_t *bytes) {
  if (nibble_status status =
          checkIndex(model, index, nibble_model_num_outputs(model), "output"))
    return status;
  if (!bytes)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "bytes is NULL");
  const nibble_tensor_desc &desc = model->entry().outputs[index];
  for (int32_t i = 0; i < desc.rank; ++i)
    if (desc.shape[i] == -1)
      return fail(NIBBLE_ERROR_MISMATCH,
                  "output '%s' of entry '%s' has the dynamic shape %s: its "
                  "size depends on the call (bind it with "
                  "nibble_model_bind_output_shaped)",
                  desc.name, model->entry().name,
                  formatShape(desc.shape, desc.rank).c_str());
  *bytes = staticTensorBytes(desc);
  return NIBBLE_OK;
}

nibble_status nibble_model_bind_input(nibble_model *model, int32_t index,
                                      const void *data, const int64_t *shape,
                                      int32_t rank) {
  if (nibble_status status =
          checkIndex(model, index, nibble_model_num_inputs(model), "input"))
    return status;
  const nibble_tensor_desc &desc = model->entry().inputs[index];
  Binding &binding = model->state().inputs[index];
  binding.bound = false;
  uint64_t bytes;
  if (nibble_status status =
          checkBuffer(model, desc, "input", data, shape, rank, bytes))
    return status;
  binding.descriptor.set(data, std::vector<int64_t>(shape, shape + rank));
  binding.bound = true;
  setArgument(model, NIBBLE_ARG_INPUT, index, binding);
  return NIBBLE_OK;
}

nibble_status nibble_model_bind_output_shaped(nibble_model *model,
                                              int32_t index, void *data,
                                              size_t bytes,
                                              const int64_t *shape,
                                              int32_t rank) {
  if (nibble_status status =
          checkIndex(model, index, nibble_model_num_outputs(model), "output"))
    return status;
  const nibble_tensor_desc &desc = model->entry().outputs[index];
  Binding &binding = model->state().outputs[index];
  binding.bound = false;
  uint64_t needed;
  if (nibble_status status =
          checkBuffer(model, desc, "output", data, shape, rank, needed))
    return status;
  if (bytes < needed)
    return fail(NIBBLE_ERROR_MISMATCH,
                "output '%s': buffer of %zu bytes is too small, %s %s needs "
                "%llu",
                desc.name, bytes, nibble_dtype_name(desc.dtype),
                formatShape(shape, rank, false).c_str(),
                static_cast<unsigned long long>(needed));
  binding.descriptor.set(data, std::vector<int64_t>(shape, shape + rank));
  binding.bound = true;
  setArgument(model, NIBBLE_ARG_OUTPUT, index, binding);
  return NIBBLE_OK;
}

nibble_status nibble_model_bind_output(nibble_model *model, int32_t index,
                                       void *data, size_t bytes) {
  size_t needed = 0;
  if (nibble_status status = nibble_model_output_bytes(model, index, &needed))
    return status;
  const nibble_tensor_desc &desc = model->entry().outputs[index];
  return nibble_model_bind_output_shaped(model, index, data, bytes, desc.shape,
                                         desc.rank);
}

nibble_status nibble_model_run(nibble_model *model) {
  if (!model)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "model is NULL");
  const nibble_entry_desc &entry = model->entry();
  EntryState &state = model->state();
  for (int32_t i = 0; i < entry.num_inputs; ++i)
    if (!state.inputs[i].bound)
      return fail(NIBBLE_ERROR_NOT_BOUND,
                  "input '%s' of entry '%s' is not "
                  "bound",
                  entry.inputs[i].name, entry.name);
  for (int32_t i = 0; i < entry.num_outputs; ++i)
    if (!state.outputs[i].bound)
      return fail(NIBBLE_ERROR_NOT_BOUND,
                  "output '%s' of entry '%s' is not "
                  "bound",
                  entry.outputs[i].name, entry.name);
  if (int32_t code = entry.invoke(state.args.data()))
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "entry '%s' of model '%s' rejected its arguments (status %d): "
                "a descriptor does not match the model's description",
                entry.name, model->abi->name ? model->abi->name : "?", code);
  return NIBBLE_OK;
}

} // extern "C"
