// Input of rtn-params.mlir: a param shared by linears with different schemes.
module attributes {nibble.weights = "ARCHIVE"} {
  func.func @tied_conflict(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
    %a = nibble.param "a" : tensor<2x4xf32>
    %0 = nibble.linear %x, %a : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
    // expected-error @+1 {{shares weight 'a' with a linear quantized as #nibble.scheme<w8, channel, sym> but asks for #nibble.scheme<w4, channel, sym>}}
    %1 = nibble.linear %x, %a scheme <w4> : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
    return %0, %1 : tensor<3x2xf32>, tensor<3x2xf32>
  }
}
