//===- ModelAbiCheck.cpp - Validating a model's ABI description -----------===//

#include "runtime/ModelAbiCheck.h"
#include "runtime/Status.h"

#include <string>
#include <vector>

namespace nibble {
namespace runtime {
namespace {

/// Largest rank a tensor of the ABI may have (a sanity bound on what a
/// corrupt description could make the runtime allocate).
constexpr int32_t kMaxRank = 64;

/// Checks one tensor description; `kind` names it ("input", "weight", ...)
/// and `where` its place (" of entry 'decode'" or "").
nibble_status checkTensorDesc(const nibble_tensor_desc &desc, const char *kind,
                              int32_t index, bool allowDynamic,
                              const std::string &where) {
  if (!desc.name)
    return fail(NIBBLE_ERROR_ABI, "model ABI: %s %d%s has no name", kind, index,
                where.c_str());
  const char *name = desc.name;
  // The description comes from the model's library: its dtype may be any
  // int, so it is read as one (rawEnumValue). NIBBLE_DTYPE_BOOL is the last
  // nibble_dtype.
  int dtype = rawEnumValue(desc.dtype);
  if (dtype < 0 || dtype > NIBBLE_DTYPE_BOOL ||
      nibble_dtype_size(static_cast<nibble_dtype>(dtype)) == 0)
    return fail(NIBBLE_ERROR_ABI, "model ABI: %s '%s'%s has unknown dtype %d",
                kind, name, where.c_str(), dtype);
  if (desc.rank < 0 || desc.rank > kMaxRank || (desc.rank > 0 && !desc.shape))
    return fail(NIBBLE_ERROR_ABI, "model ABI: %s '%s'%s has invalid rank %d",
                kind, name, where.c_str(), desc.rank);
  for (int32_t i = 0; i < desc.rank; ++i) {
    int64_t dim = desc.shape[i];
    if (dim < -1 || (dim == -1 && !allowDynamic))
      return fail(NIBBLE_ERROR_ABI,
                  "model ABI: %s '%s'%s has invalid dimension %lld at %d%s",
                  kind, name, where.c_str(), static_cast<long long>(dim), i,
                  dim == -1 ? " (only inputs and outputs may be dynamic)" : "");
  }
  // Sizes must fit in memory once the dynamic dimensions are known; the
  // static ones alone must already.
  std::vector<int64_t> staticPart(desc.shape, desc.shape + desc.rank);
  for (int64_t &dim : staticPart)
    dim = dim == -1 ? 1 : dim;
  uint64_t count, bytes;
  if (!checkedElementCount(staticPart.data(), desc.rank,
                           nibble_dtype_size(desc.dtype), count, bytes))
    return fail(NIBBLE_ERROR_ABI, "model ABI: %s '%s'%s is too large (%s)",
                kind, name, where.c_str(),
                formatShape(desc.shape, desc.rank).c_str());
  return NIBBLE_OK;
}

/// Checks a list of `count` descriptions.
nibble_status checkTensorList(const nibble_tensor_desc *list, int32_t count,
                              const char *kind, bool allowDynamic,
                              const std::string &where) {
  if (count < 0 || (count > 0 && !list))
    return fail(NIBBLE_ERROR_ABI, "model ABI: invalid %s list%s (%d)", kind,
                where.c_str(), count);
  for (int32_t i = 0; i < count; ++i)
    if (nibble_status status =
            checkTensorDesc(list[i], kind, i, allowDynamic, where))
      return status;
  return NIBBLE_OK;
}

/// Checks entry point `index` of `abi`.
nibble_status checkEntry(const nibble_model_abi &abi, int32_t index) {
  const nibble_entry_desc &entry = abi.entries[index];
  if (!entry.name)
    return fail(NIBBLE_ERROR_ABI, "model ABI: entry %d has no name", index);
  std::string where = std::string(" of entry '") + entry.name + "'";
  if (!entry.invoke)
    return fail(NIBBLE_ERROR_ABI, "model ABI: no invoke function%s",
                where.c_str());
  if (nibble_status status =
          checkTensorList(entry.inputs, entry.num_inputs, "input", true, where))
    return status;
  if (nibble_status status = checkTensorList(entry.outputs, entry.num_outputs,
                                             "output", true, where))
    return status;
  if (entry.num_args < 0 || (entry.num_args > 0 && !entry.args))
    return fail(NIBBLE_ERROR_ABI, "model ABI: invalid argument list%s",
                where.c_str());
  std::vector<int> inputUses(entry.num_inputs), outputUses(entry.num_outputs);
  for (int32_t i = 0; i < entry.num_args; ++i) {
    const nibble_arg_desc &arg = entry.args[i];
    int32_t limit = -1;
    std::vector<int> *uses = nullptr;
    switch (arg.role) {
    case NIBBLE_ARG_INPUT:
      limit = entry.num_inputs;
      uses = &inputUses;
      break;
    case NIBBLE_ARG_OUTPUT:
      limit = entry.num_outputs;
      uses = &outputUses;
      break;
    case NIBBLE_ARG_WEIGHT:
      limit = abi.num_weights;
      break;
    case NIBBLE_ARG_STATE:
      limit = abi.num_states;
      break;
    default:
      return fail(NIBBLE_ERROR_ABI,
                  "model ABI: argument %d%s has unknown "
                  "role %d",
                  i, where.c_str(), arg.role);
    }
    if (arg.index < 0 || arg.index >= limit)
      return fail(NIBBLE_ERROR_ABI,
                  "model ABI: argument %d%s has index %d, but the list it "
                  "names has %d tensors",
                  i, where.c_str(), arg.index, limit);
    if (uses)
      ++(*uses)[arg.index];
  }
  for (int32_t i = 0; i < entry.num_inputs; ++i)
    if (inputUses[i] != 1)
      return fail(NIBBLE_ERROR_ABI,
                  "model ABI: input '%s'%s is passed %d times (once expected)",
                  entry.inputs[i].name, where.c_str(), inputUses[i]);
  for (int32_t i = 0; i < entry.num_outputs; ++i)
    if (outputUses[i] != 1)
      return fail(NIBBLE_ERROR_ABI,
                  "model ABI: output '%s'%s is passed %d times (once "
                  "expected)",
                  entry.outputs[i].name, where.c_str(), outputUses[i]);
  return NIBBLE_OK;
}

} // namespace

nibble_status checkModelAbi(const nibble_model_abi *abi) {
  if (!abi)
    return fail(NIBBLE_ERROR_ABI, "model ABI: nibble_model_get_abi() "
                                  "returned NULL");
  if (abi->abi_version != NIBBLE_MODEL_ABI_VERSION)
    return fail(NIBBLE_ERROR_ABI,
                "model ABI version %u, but this runtime supports version %d; "
                "recompile the model with a matching nibblec",
                abi->abi_version, NIBBLE_MODEL_ABI_VERSION);
  if (abi->num_entries < 1 || !abi->entries)
    return fail(NIBBLE_ERROR_ABI, "model ABI: no entry points");
  if (!abi->set_parallel_runner)
    return fail(NIBBLE_ERROR_ABI, "model ABI: no set_parallel_runner function");
  if (nibble_status status =
          checkTensorList(abi->weights, abi->num_weights, "weight", false, ""))
    return status;
  if (nibble_status status =
          checkTensorList(abi->states, abi->num_states, "state", false, ""))
    return status;
  if (abi->num_weights > 0 && !abi->weights_file)
    return fail(NIBBLE_ERROR_ABI, "model ABI: %d weights but no weights_file",
                abi->num_weights);
  if (abi->num_properties < 0 || (abi->num_properties > 0 && !abi->properties))
    return fail(NIBBLE_ERROR_ABI, "model ABI: invalid property list");
  for (int32_t i = 0; i < 2 * abi->num_properties; ++i)
    if (!abi->properties[i])
      return fail(NIBBLE_ERROR_ABI, "model ABI: property string %d is NULL", i);
  for (int32_t i = 0; i < abi->num_entries; ++i)
    if (nibble_status status = checkEntry(*abi, i))
      return status;
  return NIBBLE_OK;
}

size_t staticTensorBytes(const nibble_tensor_desc &desc) {
  uint64_t count = 0, bytes = 0;
  checkedElementCount(desc.shape, desc.rank, nibble_dtype_size(desc.dtype),
                      count, bytes);
  return static_cast<size_t>(bytes);
}

} // namespace runtime
} // namespace nibble
