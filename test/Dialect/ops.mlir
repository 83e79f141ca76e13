// RUN: nibble-opt %s | nibble-opt | FileCheck %s
// RUN: nibble-opt %s --mlir-print-op-generic | nibble-opt | FileCheck %s

// Round trip of every nibble op.

// CHECK-LABEL: func.func @param_and_linear
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[B:.*]]: tensor<32xf32>)
func.func @param_and_linear(%x: tensor<4x64xf32>, %b: tensor<32xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>) {
  // CHECK: %[[W:.*]] = nibble.param "fc1.weight" : tensor<32x64xf32>
  %w = nibble.param "fc1.weight" : tensor<32x64xf32>
  // CHECK: nibble.linear %[[X]], %[[W]] : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %0 = nibble.linear %x, %w : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  // CHECK: nibble.linear %[[X]], %[[W]] bias %[[B]] scheme <w4, group = 32, sym> : (tensor<4x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  %1 = nibble.linear %x, %w bias %b scheme <w4, group = 32, sym> : (tensor<4x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  return %0, %1 : tensor<4x32xf32>, tensor<4x32xf32>
}

// CHECK-LABEL: func.func @linear_batched_dynamic
func.func @linear_batched_dynamic(%x: tensor<2x?x16xf16>, %w: tensor<8x16xf16>) -> tensor<2x?x8xf16> {
  // CHECK: nibble.linear %{{.*}}, %{{.*}} : (tensor<2x?x16xf16>, tensor<8x16xf16>) -> tensor<2x?x8xf16>
  %0 = nibble.linear %x, %w : (tensor<2x?x16xf16>, tensor<8x16xf16>) -> tensor<2x?x8xf16>
  return %0 : tensor<2x?x8xf16>
}

// CHECK-LABEL: func.func @qlinear_sym_group
func.func @qlinear_sym_group(%x: tensor<4x64xf32>, %w: tensor<32x32xi8>, %s: tensor<32x2xf32>) -> tensor<4x32xf32> {
  // CHECK: nibble.qlinear %{{.*}}, %{{.*}}, %{{.*}} scheme <w4, group = 32, sym> : (tensor<4x64xf32>, tensor<32x32xi8>, tensor<32x2xf32>) -> tensor<4x32xf32>
  %0 = nibble.qlinear %x, %w, %s scheme <w4, group = 32, sym> : (tensor<4x64xf32>, tensor<32x32xi8>, tensor<32x2xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// CHECK-LABEL: func.func @qlinear_asym_f16_scales_bias
func.func @qlinear_asym_f16_scales_bias(%x: tensor<4x64xf32>, %w: tensor<32x32xi8>, %s: tensor<32x2xf16>, %z: tensor<32x2xi8>, %b: tensor<32xf32>) -> tensor<4x32xf32> {
  // CHECK: nibble.qlinear %{{.*}}, %{{.*}}, %{{.*}} zero_points %{{.*}} bias %{{.*}} scheme <w4, group = 32, asym, scale = f16>
  %0 = nibble.qlinear %x, %w, %s zero_points %z bias %b scheme <w4, group = 32, asym, scale = f16> : (tensor<4x64xf32>, tensor<32x32xi8>, tensor<32x2xf16>, tensor<32x2xi8>, tensor<32xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// ggml's Q4_1: value = float(u) * scale + min, f16 scales and mins.
// CHECK-LABEL: func.func @qlinear_min_f16
func.func @qlinear_min_f16(%x: tensor<4x64xf32>, %w: tensor<32x32xi8>, %s: tensor<32x2xf16>, %m: tensor<32x2xf16>) -> tensor<4x32xf32> {
  // CHECK: nibble.qlinear %{{.*}}, %{{.*}}, %{{.*}} mins %{{.*}} scheme <w4, group = 32, min, scale = f16> : (tensor<4x64xf32>, tensor<32x32xi8>, tensor<32x2xf16>, tensor<32x2xf16>) -> tensor<4x32xf32>
  %0 = nibble.qlinear %x, %w, %s mins %m scheme <w4, group = 32, min, scale = f16> : (tensor<4x64xf32>, tensor<32x32xi8>, tensor<32x2xf16>, tensor<32x2xf16>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// CHECK-LABEL: func.func @qlinear_nf4_double_quant
func.func @qlinear_nf4_double_quant(%x: tensor<4x128xf32>, %w: tensor<32x64xi8>, %s: tensor<32x2xi8>, %ss: tensor<1xf32>) -> tensor<4x32xf32> {
  // CHECK: nibble.qlinear %{{.*}}, %{{.*}}, %{{.*}} scale_scales %{{.*}} scheme <nf4, group = 64, sym, double_quant = 256>
  %0 = nibble.qlinear %x, %w, %s scale_scales %ss scheme <nf4, group = 64, double_quant = 256> : (tensor<4x128xf32>, tensor<32x64xi8>, tensor<32x2xi8>, tensor<1xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// CHECK-LABEL: func.func @qlinear_w2_channel_int8_dynamic
func.func @qlinear_w2_channel_int8_dynamic(%x: tensor<4x64xf32>, %w: tensor<32x16xi8>, %s: tensor<32x1xbf16>) -> tensor<4x32xf32> {
  // CHECK: scheme <w2, channel, sym, scale = bf16, act = int8_dynamic>
  %0 = nibble.qlinear %x, %w, %s scheme <w2, scale = bf16, act = int8_dynamic> : (tensor<4x64xf32>, tensor<32x16xi8>, tensor<32x1xbf16>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// CHECK-LABEL: func.func @qlinear_w3_tensor_int8_static
func.func @qlinear_w3_tensor_int8_static(%x: tensor<4x64xf32>, %w: tensor<32x32xi8>, %s: tensor<1x1xf32>, %is: tensor<1xf32>) -> tensor<4x32xf32> {
  // CHECK: nibble.qlinear %{{.*}}, %{{.*}}, %{{.*}} input_scale %{{.*}} scheme <w3, tensor, sym, act = int8_static>
  %0 = nibble.qlinear %x, %w, %s input_scale %is scheme <w3, tensor, act = int8_static> : (tensor<4x64xf32>, tensor<32x32xi8>, tensor<1x1xf32>, tensor<1xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// CHECK-LABEL: func.func @qlinear_fp8_fp4
func.func @qlinear_fp8_fp4(%x: tensor<4x64xf32>, %w8: tensor<32x64xi8>, %w4: tensor<32x32xi8>, %s: tensor<32x1xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>) {
  // CHECK: scheme <fp8, channel, sym, act = fp8_dynamic>
  %0 = nibble.qlinear %x, %w8, %s scheme <fp8, channel, sym, act = fp8_dynamic> : (tensor<4x64xf32>, tensor<32x64xi8>, tensor<32x1xf32>) -> tensor<4x32xf32>
  // CHECK: scheme <fp4, channel, sym>
  %1 = nibble.qlinear %x, %w4, %s scheme <fp4> : (tensor<4x64xf32>, tensor<32x32xi8>, tensor<32x1xf32>) -> tensor<4x32xf32>
  return %0, %1 : tensor<4x32xf32>, tensor<4x32xf32>
}

// CHECK-LABEL: func.func @observe
func.func @observe(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  // CHECK: nibble.observe %{{.*}}, "fc1" : tensor<4x64xf32>
  %0 = nibble.observe %x, "fc1" : tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// CHECK-LABEL: func.func @quantize_dequantize
func.func @quantize_dequantize(%x: tensor<4x64xf32>, %s: tensor<1xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>) {
  // CHECK: %[[Q:.*]], %[[S:.*]] = nibble.quantize %{{.*}} mode <int8_dynamic> : (tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4x1xf32>)
  %q, %qs = nibble.quantize %x mode <int8_dynamic> : (tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4x1xf32>)
  // CHECK: nibble.dequantize %[[Q]], %[[S]] : (tensor<4x64xi8>, tensor<4x1xf32>) -> tensor<4x64xf32>
  %0 = nibble.dequantize %q, %qs : (tensor<4x64xi8>, tensor<4x1xf32>) -> tensor<4x64xf32>
  // CHECK: nibble.quantize %{{.*}} scale %{{.*}} mode <int8_static> : (tensor<4x64xf32>, tensor<1xf32>) -> (tensor<4x64xi8>, tensor<1xf32>)
  %q2, %s2 = nibble.quantize %x scale %s mode <int8_static> : (tensor<4x64xf32>, tensor<1xf32>) -> (tensor<4x64xi8>, tensor<1xf32>)
  %1 = nibble.dequantize %q2, %s2 : (tensor<4x64xi8>, tensor<1xf32>) -> tensor<4x64xf32>
  // CHECK: nibble.quantize %{{.*}} mode <fp8_dynamic> : (tensor<4x64xf32>) -> (tensor<4x64xf8E4M3FN>, tensor<4x1xf32>)
  %q3, %s3 = nibble.quantize %x mode <fp8_dynamic> : (tensor<4x64xf32>) -> (tensor<4x64xf8E4M3FN>, tensor<4x1xf32>)
  %2 = nibble.dequantize %q3, %s3 : (tensor<4x64xf8E4M3FN>, tensor<4x1xf32>) -> tensor<4x64xf32>
  return %0, %1, %2 : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>
}

// CHECK-LABEL: func.func @named_linears
func.func @named_linears(%x: tensor<4x64xf32>, %w: tensor<32x64xf32>, %qw: tensor<32x32xi8>, %s: tensor<32x2xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>) {
  // CHECK: nibble.linear %{{.*}}, %{{.*}} {name = "model.layers.0.self_attn.q_proj"} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  %0 = nibble.linear %x, %w {name = "model.layers.0.self_attn.q_proj"} : (tensor<4x64xf32>, tensor<32x64xf32>) -> tensor<4x32xf32>
  // CHECK: nibble.qlinear %{{.*}}, %{{.*}}, %{{.*}} scheme <w4, group = 32, sym> {name = "lm_head"} : (tensor<4x64xf32>, tensor<32x32xi8>, tensor<32x2xf32>) -> tensor<4x32xf32>
  %1 = nibble.qlinear %x, %qw, %s scheme <w4, group = 32, sym> {name = "lm_head"} : (tensor<4x64xf32>, tensor<32x32xi8>, tensor<32x2xf32>) -> tensor<4x32xf32>
  return %0, %1 : tensor<4x32xf32>, tensor<4x32xf32>
}
