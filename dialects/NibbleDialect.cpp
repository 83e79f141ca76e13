//===- NibbleDialect.cpp - The nibble dialect -----------------------------===//

#include "dialects/NibbleDialect.h"
#include "dialects/NibbleOps.h"

using namespace mlir;
using namespace nibble;

#include "dialects/NibbleDialect.cpp.inc"

void NibbleDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/NibbleOps.cpp.inc"
      >();
  registerAttributes();
}
