/*===- NoSymbol.c - A shared library that is not a model --------*- C -*-===*\
 *
 * Exports a function, but not nibble_model_get_abi: opening it must fail.
 *
\*===----------------------------------------------------------------------===*/

int not_a_model(void) { return 42; }
