// A tiny two-linear model with constant weights, entry @main.
func.func @main(%x: tensor<2x8xf32>) -> tensor<2x2xf32> {
  %w1 = arith.constant dense<[[1.0, -2.0, 3.0, -4.0, 5.0, -6.0, 7.0, -8.0], [0.5, 0.25, -0.5, 1.0, 0.0, 2.0, 0.0, -1.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 8.0]]> : tensor<4x8xf32>
  %h = nibble.linear %x, %w1 : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  %w2 = arith.constant dense<[[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, -1.0]]> : tensor<2x4xf32>
  %y = nibble.linear %h, %w2 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}
