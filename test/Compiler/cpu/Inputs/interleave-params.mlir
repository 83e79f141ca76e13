// W8A8 per channel over params of the archive ARCHIVE (see
// interleave-weights-archive.test).
module attributes {nibble.weights = "ARCHIVE"} {
  func.func @main(%x: tensor<2x16xf32>) -> tensor<2x4xf32> {
    %w = nibble.param "fc.qweight" : tensor<4x16xi8>
    %s = nibble.param "fc.scales" : tensor<4x1xf32>
    %b = nibble.param "fc.bias" : tensor<4xf32>
    %y = nibble.qlinear %x, %w, %s bias %b scheme <w8, channel, act = int8_dynamic>
        : (tensor<2x16xf32>, tensor<4x16xi8>, tensor<4x1xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    return %y : tensor<2x4xf32>
  }
}
