/*===- CApiTest.c - The runtime's C API used from C99 -----------*- C -*-===*\
 *
 * Compiled as strict C99 (-std=c99 -pedantic-errors) to check that
 * nibble_runtime.h is a plain C header; ModelTest.cpp calls the function.
 *
\*===----------------------------------------------------------------------===*/

#include "runtime/nibble_runtime.h"

const nibble_model_abi *fake_sum_model_abi(void);

/* Sums `count` values with the fake sum model through the C API; stores the
 * first failing status (or NIBBLE_OK) in `*status`. */
double c_api_sum(const float *values, int64_t count, nibble_status *status) {
  nibble_model *model = NULL;
  double total = -1.0;
  *status = nibble_model_open_abi(fake_sum_model_abi(), NULL, &model);
  if (*status == NIBBLE_OK)
    *status = nibble_model_bind_input(model, 0, values, &count, 1);
  if (*status == NIBBLE_OK)
    *status = nibble_model_bind_output(model, 0, &total, sizeof(total));
  if (*status == NIBBLE_OK)
    *status = nibble_model_run(model);
  nibble_model_close(model);
  return total;
}
