/*===- nibble_runtime.h - The nibble runtime's C API ---------------*- C
-*-===*\
 *
 * Loads a model compiled by nibblec (a shared library, or code linked into the
 * calling executable), maps its weights, and runs it on caller-owned buffers.
 *
 *   nibble_model *model;
 *   if (nibble_model_open("model.so", &model) != NIBBLE_OK) {
 *     fprintf(stderr, "%s\n", nibble_last_error());
 *     return 1;
 *   }
 *   int64_t shape[2] = {4, 768};
 *   nibble_model_bind_input(model, 0, x, shape, 2);
 *   nibble_model_bind_output(model, 0, y, sizeof(y));
 *   nibble_model_run(model);
 *   nibble_model_close(model);
 *
 * Every function returning nibble_status sets a message for
 * nibble_last_error() when it fails, naming the file, tensor, expected and
 * found values. A model is not thread-safe: bind and run one model from one
 * thread at a time (open several models to run in parallel).
 *
 * Plain C99; the library depends on libc, libstdc++ and libdl only.
 *
\*===----------------------------------------------------------------------===*/

#ifndef NIBBLE_RUNTIME_NIBBLE_RUNTIME_H
#define NIBBLE_RUNTIME_NIBBLE_RUNTIME_H

#include "nibble_model_abi.h"

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define NIBBLE_API __attribute__((visibility("default")))
#else
#define NIBBLE_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Result of a runtime call; details in nibble_last_error(). */
typedef enum nibble_status {
  NIBBLE_OK = 0,
  /** A null pointer, an index out of range, a negative size. */
  NIBBLE_ERROR_INVALID_ARGUMENT = 1,
  /** A file or library could not be opened, read, mapped or written. */
  NIBBLE_ERROR_IO = 2,
  /** A safetensors or .npy file is malformed or unsupported. */
  NIBBLE_ERROR_FORMAT = 3,
  /**
   * The library lacks nibble_model_get_abi, was compiled for another ABI
   * version, or describes itself inconsistently.
   */
  NIBBLE_ERROR_ABI = 4,
  /**
   * A tensor does not match the model: a param missing from the weight
   * archive or stored with another dtype/shape, an input bound with another
   * rank/shape, an output buffer too small, a .npy file of another dtype.
   */
  NIBBLE_ERROR_MISMATCH = 5,
  /** nibble_model_run before every input and output was bound. */
  NIBBLE_ERROR_NOT_BOUND = 6,
  /** An allocation failed. */
  NIBBLE_ERROR_OUT_OF_MEMORY = 7,
} nibble_status;

/** An opened model: its code, mapped weights and bound buffers. */
typedef struct nibble_model nibble_model;

/** A constant name for `status`, e.g. "NIBBLE_ERROR_IO". */
NIBBLE_API const char *nibble_status_string(nibble_status status);

/**
 * The message of the last failed call on this thread ("" if none). Valid
 * until the next runtime call on this thread.
 */
NIBBLE_API const char *nibble_last_error(void);

/** Bytes per element of `dtype` (0 for an unknown value). */
NIBBLE_API size_t nibble_dtype_size(nibble_dtype dtype);

/** The safetensors name of `dtype` ("F32", "BOOL", ...; "?" if unknown). */
NIBBLE_API const char *nibble_dtype_name(nibble_dtype dtype);

/**
 * Opens the compiled model in the shared library `library_path`: dlopens it,
 * calls its nibble_model_get_abi(), checks the ABI version and description,
 * maps the weight archive `weights_file` from the library's directory, checks
 * every weight's dtype and shape against it and allocates the model's states
 * (zeroed). A path without '/' is taken relative to the current directory
 * (not searched for). Models opened from one library share one mapping of
 * the weights (the code holds the bound pointers, so a second open that
 * resolves to another weights file fails with NIBBLE_ERROR_MISMATCH while
 * the first is open); each has its own states (a language model's KV
 * cache), so each is one independent session. On success, stores the model in `*out`
 * with its first entry point selected.
 */
NIBBLE_API nibble_status nibble_model_open(const char *library_path,
                                           nibble_model **out);

/**
 * Like nibble_model_open for a model whose code is already loaded (linked
 * into the executable): `abi` is its nibble_model_get_abi(), `weights_dir`
 * the directory to resolve its weights_file in (NULL: the current
 * directory). `abi` must outlive the model.
 */
NIBBLE_API nibble_status nibble_model_open_abi(const nibble_model_abi *abi,
                                               const char *weights_dir,
                                               nibble_model **out);

/** Releases `model` (its mapping, library and buffers); NULL is a no-op. */
NIBBLE_API void nibble_model_close(nibble_model *model);

/** The model's own description (entry points, weights, states). */
NIBBLE_API const nibble_model_abi *
nibble_model_get_model_abi(const nibble_model *model);

/** Number of entry points of `model` (0 for NULL). */
NIBBLE_API int32_t nibble_model_num_entries(const nibble_model *model);

/** Name of entry point `index`, or NULL if out of range. */
NIBBLE_API const char *nibble_model_entry_name(const nibble_model *model,
                                               int32_t index);

/**
 * Selects the entry point named `name`: the input, output, bind and run
 * functions below act on it. Each entry keeps its own bindings.
 */
NIBBLE_API nibble_status nibble_model_select_entry(nibble_model *model,
                                                   const char *name);

/** The value of property `key` of the model, or NULL if it has none. */
NIBBLE_API const char *nibble_model_property(const nibble_model *model,
                                             const char *key);

/** Number of state tensors of `model` (0 for NULL). */
NIBBLE_API int32_t nibble_model_num_states(const nibble_model *model);

/**
 * Describes state `index` and gives its buffer (C-order elements of its
 * static shape), which the model owns and entry points update in place.
 */
NIBBLE_API nibble_status nibble_model_state(nibble_model *model, int32_t index,
                                            nibble_tensor_desc *info,
                                            void **data);

/** Zeroes every state of `model` (a fresh session). */
NIBBLE_API nibble_status nibble_model_reset_states(nibble_model *model);

/** Number of inputs of the selected entry (0 for NULL). */
NIBBLE_API int32_t nibble_model_num_inputs(const nibble_model *model);

/** Number of outputs of the selected entry (0 for NULL). */
NIBBLE_API int32_t nibble_model_num_outputs(const nibble_model *model);

/**
 * Describes input `index`: name, dtype, rank and shape, with -1 for a
 * dynamic dimension. The pointers stay valid while the model is open.
 */
NIBBLE_API nibble_status nibble_model_input_info(const nibble_model *model,
                                                 int32_t index,
                                                 nibble_tensor_desc *info);

/** Describes output `index` as nibble_model_input_info does. */
NIBBLE_API nibble_status nibble_model_output_info(const nibble_model *model,
                                                  int32_t index,
                                                  nibble_tensor_desc *info);

/**
 * Stores in `*bytes` the size of the buffer output `index` needs (an
 * output with dynamic dimensions: NIBBLE_ERROR_MISMATCH, its size depends
 * on the call).
 */
NIBBLE_API nibble_status nibble_model_output_bytes(const nibble_model *model,
                                                   int32_t index,
                                                   size_t *bytes);

/**
 * Binds input `index` to `data`: C-order elements of the input's dtype with
 * the given `shape` of `rank` dimensions. The rank and every static dimension
 * must match the model's; dynamic ones take the given (non-negative) size.
 * `data` is not copied and must stay valid until the last run using it; it
 * may be NULL only for an empty tensor.
 */
NIBBLE_API nibble_status nibble_model_bind_input(nibble_model *model,
                                                 int32_t index,
                                                 const void *data,
                                                 const int64_t *shape,
                                                 int32_t rank);

/**
 * Binds output `index` to the caller-owned buffer `data` of `bytes` bytes,
 * at least nibble_model_output_bytes(). Not copied, as for inputs.
 */
NIBBLE_API nibble_status nibble_model_bind_output(nibble_model *model,
                                                  int32_t index, void *data,
                                                  size_t bytes);

/**
 * Binds output `index`, whose shape has dynamic dimensions, to `data` of
 * `bytes` bytes holding `shape` (of `rank` dimensions; the static ones must
 * match the model's). Also accepts a static output with its own shape.
 */
NIBBLE_API nibble_status nibble_model_bind_output_shaped(
    nibble_model *model, int32_t index, void *data, size_t bytes,
    const int64_t *shape, int32_t rank);

/**
 * Runs the selected entry on its bound buffers (every one must be bound)
 * and the model's weights and states.
 */
NIBBLE_API nibble_status nibble_model_run(nibble_model *model);

/**
 * Sets how many threads (the calling one included) run the parallel loops of
 * every model; 1 runs them on the calling thread only. The default is
 * $NIBBLE_NUM_THREADS (a decimal count from 1 to 4096; anything else is
 * ignored), else the number of CPUs. Not while a model runs.
 */
NIBBLE_API nibble_status nibble_set_num_threads(int32_t num_threads);

/** The number of threads that run parallel loops. */
NIBBLE_API int32_t nibble_get_num_threads(void);

/**
 * The runtime's thread pool as a nibble_parallel_runner (what
 * nibble_model_open installs into each model). While one thread runs a loop
 * on the pool, loops from other threads, and loops nested in a task, run on
 * their calling thread.
 */
NIBBLE_API void nibble_parallel_for(int64_t begin, int64_t end,
                                    nibble_parallel_task task, void *context);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NIBBLE_RUNTIME_NIBBLE_RUNTIME_H */
