// RUN: nibble-opt %s -split-input-file -verify-diagnostics

// Every verifier error of the nibble ops.

func.func @param_empty_name() {
  // expected-error @+1 {{'nibble.param' op needs a non-empty tensor name}}
  %w = nibble.param "" : tensor<4x4xf32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<4x16xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{weight must have rank 2 ([N, K]), found rank 1}}
  %0 = nibble.linear %x, %w : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @linear_k_mismatch(%x: tensor<4x16xf32>, %w: tensor<8x32xf32>) {
  // expected-error @+1 {{weight has K = 32 but input has K = 16}}
  %0 = nibble.linear %x, %w : (tensor<4x16xf32>, tensor<8x32xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @linear_weight_type(%x: tensor<4x16xf32>, %w: tensor<8x16xf16>) {
  // expected-error @+1 {{weight element type 'f16' differs from input element type 'f32'}}
  %0 = nibble.linear %x, %w : (tensor<4x16xf32>, tensor<8x16xf16>) -> tensor<4x8xf32>
  return
}

// -----

func.func @linear_bias_shape(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{bias must have shape [8], found [16]}}
  %0 = nibble.linear %x, %w bias %b : (tensor<4x16xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @linear_bias_type(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>, %b: tensor<8xf16>) {
  // expected-error @+1 {{bias element type 'f16' differs from input element type 'f32'}}
  %0 = nibble.linear %x, %w bias %b : (tensor<4x16xf32>, tensor<8x16xf32>, tensor<8xf16>) -> tensor<4x8xf32>
  return
}

// -----

func.func @linear_result_features(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{result has 4 features, expected N = 8}}
  %0 = nibble.linear %x, %w : (tensor<4x16xf32>, tensor<8x16xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @linear_result_rank(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{result rank 3 differs from input rank 2}}
  %0 = nibble.linear %x, %w : (tensor<4x16xf32>, tensor<8x16xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @linear_result_batch(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{result dimension 0 is 3 but input's is 4}}
  %0 = nibble.linear %x, %w : (tensor<4x16xf32>, tensor<8x16xf32>) -> tensor<3x8xf32>
  return
}

// -----

func.func @linear_result_type(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{result element type 'f16' differs from input element type 'f32'}}
  %0 = nibble.linear %x, %w : (tensor<4x16xf32>, tensor<8x16xf32>) -> tensor<4x8xf16>
  return
}

// -----

func.func @qlinear_group_divides_k(%x: tensor<4x48xf32>, %w: tensor<8x24xi8>, %s: tensor<8x1xf32>) {
  // expected-error @+1 {{K = 48 is not a multiple of the group size 32}}
  %0 = nibble.qlinear %x, %w, %s scheme <w4, group = 32> : (tensor<4x48xf32>, tensor<8x24xi8>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_act_group_divides_k(%x: tensor<4x48xf32>, %w: tensor<8x48xi8>, %s: tensor<8x1xf32>) {
  // expected-error @+1 {{K = 48 is not a multiple of the activation group size 32}}
  %0 = nibble.qlinear %x, %w, %s scheme <w8, channel, act = int8_dynamic, act_group = 32> : (tensor<4x48xf32>, tensor<8x48xi8>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_packed_shape(%x: tensor<4x64xf32>, %w: tensor<8x64xi8>, %s: tensor<8x2xf32>) {
  // expected-error @+1 {{packed weight must have shape [8, 32] (4-bit codes in 4-bit containers), found [8, 64]}}
  %0 = nibble.qlinear %x, %w, %s scheme <w4, group = 32> : (tensor<4x64xf32>, tensor<8x64xi8>, tensor<8x2xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_packed_shape_w3(%x: tensor<4x64xf32>, %w: tensor<8x24xi8>, %s: tensor<8x1xf32>) {
  // expected-error @+1 {{packed weight must have shape [8, 32] (3-bit codes in 4-bit containers), found [8, 24]}}
  %0 = nibble.qlinear %x, %w, %s scheme <w3> : (tensor<4x64xf32>, tensor<8x24xi8>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_partial_bytes(%x: tensor<4x3xf32>, %w: tensor<8x1xi8>, %s: tensor<8x1xf32>) {
  // expected-error @+1 {{K = 3 codes of 2 bits do not fill whole bytes}}
  %0 = nibble.qlinear %x, %w, %s scheme <w2> : (tensor<4x3xf32>, tensor<8x1xi8>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_packed_rank(%x: tensor<4x64xf32>, %w: tensor<512xi8>, %s: tensor<8x1xf32>) {
  // expected-error @+1 {{packed weight must have rank 2, found rank 1}}
  %0 = nibble.qlinear %x, %w, %s scheme <w8> : (tensor<4x64xf32>, tensor<512xi8>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_dynamic_k(%x: tensor<4x?xf32>, %w: tensor<8x64xi8>, %s: tensor<8x1xf32>) {
  // expected-error @+1 {{needs a static reduction size K}}
  %0 = nibble.qlinear %x, %w, %s scheme <w8> : (tensor<4x?xf32>, tensor<8x64xi8>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_group_scales(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x1xf32>) {
  // expected-error @+1 {{scales must have shape [8, 2] (group size 32), found [8, 1]}}
  %0 = nibble.qlinear %x, %w, %s scheme <w4, group = 32> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_channel_scales(%x: tensor<4x64xf32>, %w: tensor<8x64xi8>, %s: tensor<1x1xf32>) {
  // expected-error @+1 {{scales must have shape [8, 1] (channel granularity), found [1, 1]}}
  %0 = nibble.qlinear %x, %w, %s scheme <w8, channel> : (tensor<4x64xf32>, tensor<8x64xi8>, tensor<1x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_tensor_scales(%x: tensor<4x64xf32>, %w: tensor<8x64xi8>, %s: tensor<8x1xf32>) {
  // expected-error @+1 {{scales must have shape [1, 1] (tensor granularity), found [8, 1]}}
  %0 = nibble.qlinear %x, %w, %s scheme <w8, tensor> : (tensor<4x64xf32>, tensor<8x64xi8>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_scale_type(%x: tensor<4x64xf32>, %w: tensor<8x64xi8>, %s: tensor<8x1xf16>) {
  // expected-error @+1 {{scales element type 'f16' differs from the scheme's 'f32'}}
  %0 = nibble.qlinear %x, %w, %s scheme <w8> : (tensor<4x64xf32>, tensor<8x64xi8>, tensor<8x1xf16>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_dq_scale_codes(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x1xf32>, %ss: tensor<1xf32>) {
  // expected-error @+1 {{double-quantized scales must be i8 codes, found 'f32'}}
  %0 = nibble.qlinear %x, %w, %s scale_scales %ss scheme <nf4, double_quant = 64> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x1xf32>, tensor<1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_dq_missing(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x1xi8>) {
  // expected-error @+1 {{double-quantized scales need scale_scales}}
  %0 = nibble.qlinear %x, %w, %s scheme <nf4, double_quant = 64> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x1xi8>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_dq_shape(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xi8>, %ss: tensor<2xf32>) {
  // expected-error @+1 {{scale_scales must have shape [4] (one per 4 scales), found [2]}}
  %0 = nibble.qlinear %x, %w, %s scale_scales %ss scheme <nf4, group = 32, double_quant = 4> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x2xi8>, tensor<2xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_dq_unexpected(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x1xf32>, %ss: tensor<1xf32>) {
  // expected-error @+1 {{scale_scales given but the scheme has no double quantization}}
  %0 = nibble.qlinear %x, %w, %s scale_scales %ss scheme <nf4> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x1xf32>, tensor<1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_asym_needs_zeros(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x1xf32>) {
  // expected-error @+1 {{asymmetric scheme needs zero_points}}
  %0 = nibble.qlinear %x, %w, %s scheme <w4, asym> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_sym_no_zeros(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x1xf32>, %z: tensor<8x1xi8>) {
  // expected-error @+1 {{zero_points given for a symmetric scheme}}
  %0 = nibble.qlinear %x, %w, %s zero_points %z scheme <w4> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x1xf32>, tensor<8x1xi8>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_zeros_shape(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>, %z: tensor<8x1xi8>) {
  // expected-error @+1 {{zero_points must have shape [8, 2] (one per scale), found [8, 1]}}
  %0 = nibble.qlinear %x, %w, %s zero_points %z scheme <w4, group = 32, asym> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>, tensor<8x1xi8>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_min_needs_mins(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>) {
  // expected-error @+1 {{min scheme needs mins}}
  %0 = nibble.qlinear %x, %w, %s scheme <w4, group = 32, min> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_sym_no_mins(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>, %m: tensor<8x2xf32>) {
  // expected-error @+1 {{mins given for a symmetric scheme (only min schemes have them)}}
  %0 = nibble.qlinear %x, %w, %s mins %m scheme <w4, group = 32> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>, tensor<8x2xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_min_no_zeros(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>, %z: tensor<8x2xi8>, %m: tensor<8x2xf32>) {
  // expected-error @+1 {{zero_points given for a min scheme (only asym schemes have them)}}
  %0 = nibble.qlinear %x, %w, %s zero_points %z mins %m scheme <w4, group = 32, min> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>, tensor<8x2xi8>, tensor<8x2xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_mins_shape(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>, %m: tensor<8x1xf32>) {
  // expected-error @+1 {{mins must have shape [8, 2] (one per scale), found [8, 1]}}
  %0 = nibble.qlinear %x, %w, %s mins %m scheme <w4, group = 32, min> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_mins_type(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf16>, %m: tensor<8x2xf32>) {
  // expected-error @+1 {{mins element type 'f32' differs from the scheme's 'f16'}}
  %0 = nibble.qlinear %x, %w, %s mins %m scheme <w4, group = 32, min, scale = f16> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x2xf16>, tensor<8x2xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_static_needs_scale(%x: tensor<4x64xf32>, %w: tensor<8x64xi8>, %s: tensor<8x1xf32>) {
  // expected-error @+1 {{int8_static activations need an input_scale}}
  %0 = nibble.qlinear %x, %w, %s scheme <w8, act = int8_static> : (tensor<4x64xf32>, tensor<8x64xi8>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_unexpected_input_scale(%x: tensor<4x64xf32>, %w: tensor<8x64xi8>, %s: tensor<8x1xf32>, %is: tensor<1xf32>) {
  // expected-error @+1 {{input_scale given but activations are int8_dynamic}}
  %0 = nibble.qlinear %x, %w, %s input_scale %is scheme <w8, act = int8_dynamic> : (tensor<4x64xf32>, tensor<8x64xi8>, tensor<8x1xf32>, tensor<1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_input_scale_shape(%x: tensor<4x64xf32>, %w: tensor<8x64xi8>, %s: tensor<8x1xf32>, %is: tensor<2xf32>) {
  // expected-error @+1 {{input_scale must have shape [1] (per-tensor scale), found [2]}}
  %0 = nibble.qlinear %x, %w, %s input_scale %is scheme <w8, act = int8_static> : (tensor<4x64xf32>, tensor<8x64xi8>, tensor<8x1xf32>, tensor<2xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qlinear_result(%x: tensor<4x64xf32>, %w: tensor<8x64xi8>, %s: tensor<8x1xf32>) {
  // expected-error @+1 {{result has 16 features, expected N = 8}}
  %0 = nibble.qlinear %x, %w, %s scheme <w8> : (tensor<4x64xf32>, tensor<8x64xi8>, tensor<8x1xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @qlinear_bias(%x: tensor<4x64xf32>, %w: tensor<8x64xi8>, %s: tensor<8x1xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{bias must have shape [8], found [4]}}
  %0 = nibble.qlinear %x, %w, %s bias %b scheme <w8> : (tensor<4x64xf32>, tensor<8x64xi8>, tensor<8x1xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @quantize_none(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{mode must quantize (int8_dynamic, int8_static or fp8_dynamic), found none}}
  %q, %s = nibble.quantize %x mode <none> : (tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4x1xf32>)
  return
}

// -----

func.func @quantize_result_type(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{result element type must be f8E4M3FN for fp8_dynamic, found 'i8'}}
  %q, %s = nibble.quantize %x mode <fp8_dynamic> : (tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4x1xf32>)
  return
}

// -----

func.func @quantize_result_shape(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{result must have shape [4, 64] (the input's shape), found [4, 32]}}
  %q, %s = nibble.quantize %x mode <int8_dynamic> : (tensor<4x64xf32>) -> (tensor<4x32xi8>, tensor<4x1xf32>)
  return
}

// -----

func.func @quantize_dynamic_scale_shape(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{result scale must have shape [4, 1] (one per token), found [1]}}
  %q, %s = nibble.quantize %x mode <int8_dynamic> : (tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<1xf32>)
  return
}

// -----

func.func @quantize_dynamic_no_scale(%x: tensor<4x64xf32>, %s: tensor<1xf32>) {
  // expected-error @+1 {{dynamic quantization takes no scale operand}}
  %q, %qs = nibble.quantize %x scale %s mode <int8_dynamic> : (tensor<4x64xf32>, tensor<1xf32>) -> (tensor<4x64xi8>, tensor<4x1xf32>)
  return
}

// -----

func.func @quantize_static_needs_scale(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{int8_static needs a scale operand}}
  %q, %s = nibble.quantize %x mode <int8_static> : (tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<1xf32>)
  return
}

// -----

func.func @quantize_static_scale_shape(%x: tensor<4x64xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{scale must have shape [1] (per-tensor scale), found [4]}}
  %q, %qs = nibble.quantize %x scale %s mode <int8_static> : (tensor<4x64xf32>, tensor<4xf32>) -> (tensor<4x64xi8>, tensor<4xf32>)
  return
}

// -----

func.func @quantize_static_result_scale(%x: tensor<4x64xf32>, %s: tensor<1xf32>) {
  // expected-error @+1 {{result scale type 'tensor<4x1xf32>' differs from the scale operand's 'tensor<1xf32>'}}
  %q, %qs = nibble.quantize %x scale %s mode <int8_static> : (tensor<4x64xf32>, tensor<1xf32>) -> (tensor<4x64xi8>, tensor<4x1xf32>)
  return
}

// -----

func.func @dequantize_result_shape(%q: tensor<4x64xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{result must have shape [4, 64] (the input's shape), found [4, 32]}}
  %0 = nibble.dequantize %q, %s : (tensor<4x64xi8>, tensor<4x1xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @dequantize_scale_shape(%q: tensor<4x64xi8>, %s: tensor<2x1xf32>) {
  // expected-error @+1 {{scale shape [2, 1] does not broadcast to the input shape [4, 64]}}
  %0 = nibble.dequantize %q, %s : (tensor<4x64xi8>, tensor<2x1xf32>) -> tensor<4x64xf32>
  return
}
