func.func @linear(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[1.0, 1.0, 1.0, 1.0], [1.0, -1.0, 0.0, 2.0]]> : tensor<2x4xf32>
  %0 = nibble.linear %x, %w : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}
