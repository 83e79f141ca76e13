// RUN: nibble-opt %s --verify-diagnostics --nibble-params-to-arguments

module {
  func.func @main(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
    return %x : tensor<2x4xf32>
  }
  func.func @helper() -> tensor<2x4xf32> {
    // expected-error @+1 {{is outside the entry function 'main'; only its params can become arguments}}
    %w = nibble.param "w" : tensor<2x4xf32>
    return %w : tensor<2x4xf32>
  }
}
