// RUN: not nibble-opt %s --split-input-file --nibble-export-model-abi 2>&1 | FileCheck %s
// RUN: not nibble-opt %s --split-input-file --nibble-export-model-abi="weights-file=w properties=novalue" 2>&1 | FileCheck %s --check-prefix=PROPERTY
// RUN: not nibble-opt %s --split-input-file --nibble-export-model-abi="entries=absent weights-file=w" 2>&1 | FileCheck %s --check-prefix=ENTRY

// Weights outside the code need the archive's name.
// CHECK: error: the model has 1 weights outside its code; give their archive's file name (weights-file)
// PROPERTY: error: property 'novalue' is not key=value
// ENTRY: error: no function 'absent' to compile
module {
  nibble.global @w "w" : tensor<2xf32>
  func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
    return %x : tensor<2xf32>
  }
}

// -----

// A result's shape must be static: the caller allocates it from the
// description (a dynamic output is a nibble.output argument).
// CHECK: error: result 0 must have a static shape, found 'tensor<?xf32>'
module {
  func.func @main(%x: tensor<?xf32>) -> tensor<?xf32> {
    return %x : tensor<?xf32>
  }
}

// -----

// Every state and output argument is returned updated.
// CHECK: error: has 1 state and output arguments but only 0 results
module {
  nibble.state @s : tensor<2xf32>
  func.func @main(%s: tensor<2xf32> {nibble.state = @s}) {
    return
  }
}

// -----

// CHECK: error: the module has no public function to compile
module {
  func.func private @helper() {
    return
  }
}
