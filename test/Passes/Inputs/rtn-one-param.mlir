// Input of rtn-hostile-archives.test: one linear over the param "w" of the
// archive ARCHIVE.
module attributes {nibble.weights = "ARCHIVE"} {
  func.func @one(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
    %w = nibble.param "w" : tensor<2x4xf32>
    %0 = nibble.linear %x, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
    return %0 : tensor<3x2xf32>
  }
}
