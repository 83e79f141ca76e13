// RUN: nibble-opt %s --split-input-file --verify-diagnostics --nibble-rtn="bits=4 group=32"

// Inputs nibble-rtn must refuse or leave alone, and the messages it gives.

func.func @negative_weight_is_argument(%x: tensor<3x64xf32>, %w: tensor<2x64xf32>) -> tensor<3x2xf32> {
  // expected-warning @+1 {{weight is neither a nibble.param, a nibble.global nor a constant; left in float}}
  %0 = nibble.linear %x, %w : (tensor<3x64xf32>, tensor<2x64xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @group_does_not_divide_k(%x: tensor<3x48xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x48xf32>
  // expected-error @+1 {{cannot quantize with #nibble.scheme<w4, group = 32, sym>: K = 48 is not a multiple of the group size 32}}
  %0 = nibble.linear %x, %w : (tensor<3x48xf32>, tensor<2x48xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @partial_bytes(%x: tensor<3x3xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x3xf32>
  // expected-error @+1 {{K = 3 codes of 4 bits do not fill whole bytes}}
  %0 = nibble.linear %x, %w scheme <w4> : (tensor<3x3xf32>, tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @static_activations(%x: tensor<3x64xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x64xf32>
  // expected-error @+1 {{int8_static activations need calibration; nibble-rtn quantizes weights only}}
  %0 = nibble.linear %x, %w scheme <w8, act = int8_static> : (tensor<3x64xf32>, tensor<2x64xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// expected-error @+1 {{module has weights (nibble.param or nibble.global) but no 'nibble.weights' attribute naming their weight archive}}
module {
  func.func @missing_archive_attribute(%x: tensor<3x64xf32>) -> tensor<3x2xf32> {
    %w = nibble.param "fc.weight" : tensor<2x64xf32>
    %0 = nibble.linear %x, %w : (tensor<3x64xf32>, tensor<2x64xf32>) -> tensor<3x2xf32>
    return %0 : tensor<3x2xf32>
  }
}

// -----

module attributes {nibble.weights = "/nonexistent/weights.safetensors"} {
  func.func @missing_archive_file(%x: tensor<3x64xf32>) -> tensor<3x2xf32> {
    // expected-error @+1 {{/nonexistent/weights.safetensors}}
    %w = nibble.param "fc.weight" : tensor<2x64xf32>
    %0 = nibble.linear %x, %w : (tensor<3x64xf32>, tensor<2x64xf32>) -> tensor<3x2xf32>
    return %0 : tensor<3x2xf32>
  }
}

// -----

func.func @nan_weight(%x: tensor<3x32xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0, 0x7FC00000, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]> : tensor<2x32xf32>
  // expected-error @+1 {{weight (constant) has a non-finite value nan at element [1, 5]; nibble does not quantize NaN or infinite weights}}
  %0 = nibble.linear %x, %w : (tensor<3x32xf32>, tensor<2x32xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @inf_weight(%x: tensor<3x32xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0x7F800000], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]> : tensor<2x32xf32>
  // expected-error @+1 {{weight (constant) has a non-finite value +inf at element [0, 31]}}
  %0 = nibble.linear %x, %w : (tensor<3x32xf32>, tensor<2x32xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// A 4-bit symmetric scale is absmax / 7: 1e6 / 7 is above f16's 65504.
func.func @f16_scale_overflow(%x: tensor<3x32xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0e6, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]> : tensor<2x32xf32>
  // expected-error @+1 {{weight (constant): the scale of group [1, 0] (largest magnitude 1.000000e+06) does not fit 'f16' scales; use scale = f32}}
  %0 = nibble.linear %x, %w scheme <w4, group = 32, scale = f16> : (tensor<3x32xf32>, tensor<2x32xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Float minimums come from imported pre-quantized weights (GGUF Q4_1); RTN
// does not produce them.
func.func @min_scheme(%x: tensor<3x64xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x64xf32>
  // expected-error @+1 {{nibble-rtn does not produce float minimums (#nibble.scheme<w4, group = 32, min>); min schemes describe imported pre-quantized weights (GGUF Q4_1, K-quants): use asym for zero points}}
  %0 = nibble.linear %x, %w scheme <w4, group = 32, min> : (tensor<3x64xf32>, tensor<2x64xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
