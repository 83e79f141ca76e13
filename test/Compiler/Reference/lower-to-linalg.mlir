// RUN: nibble-opt %s --split-input-file --nibble-lower-to-linalg | FileCheck %s

// The reference lowering: x·Wᵀ (+ b) as one reduction generic; packed weights
// unpacked and dequantized element by element; activations fake-quantized.

// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[IN:.*]]: tensor<4x16xf32>, %[[WT:.*]]: tensor<8x16xf32>)
// CHECK: %[[ZERO:.*]] = linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[IN]], %[[WT]] : tensor<4x16xf32>, tensor<8x16xf32>) outs(%[[ZERO]] : tensor<4x8xf32>)
// CHECK: arith.mulf
// CHECK-NEXT: arith.addf
// CHECK-NOT: nibble.linear
func.func @linear(%x: tensor<4x16xf32>, %w: tensor<8x16xf32>) -> tensor<4x8xf32> {
  %0 = nibble.linear %x, %w : (tensor<4x16xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// A bias initializes the accumulator; batch dimensions (static or dynamic)
// stay parallel loops.
// CHECK-LABEL: func.func @linear_bias_batched
// CHECK: %[[DIM:.*]] = tensor.dim %{{.*}}, %c1
// CHECK: %[[EMPTY:.*]] = tensor.empty(%[[DIM]]) : tensor<2x?x8xf32>
// CHECK: %[[INIT:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<8xf32>) outs(%[[EMPTY]] : tensor<2x?x8xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]{{.*}} outs(%[[INIT]] : tensor<2x?x8xf32>)
func.func @linear_bias_batched(%x: tensor<2x?x16xf32>, %w: tensor<8x16xf32>, %b: tensor<8xf32>) -> tensor<2x?x8xf32> {
  %0 = nibble.linear %x, %w bias %b : (tensor<2x?x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<2x?x8xf32>
  return %0 : tensor<2x?x8xf32>
}

// -----

// Symmetric 4-bit group 32: byte k / 2, shift (k % 2) * 4, mask 15, offset 8,
// scale [n, k / 32].
// CHECK-LABEL: func.func @qlinear_w4_group
// CHECK: %[[DQ:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<8x64xf32>)
// CHECK: %[[N:.*]] = linalg.index 0
// CHECK: %[[K:.*]] = linalg.index 1
// CHECK: %[[BYTE:.*]] = arith.divui %[[K]], %c2
// CHECK: tensor.extract %{{.*}}[%[[N]], %[[BYTE]]] : tensor<8x32xi8>
// CHECK: arith.shrui
// CHECK: arith.andi %{{.*}}, %c15_i32
// CHECK: %[[G:.*]] = arith.divui %[[K]], %c32
// CHECK: tensor.extract %{{.*}}[%[[N]], %[[G]]] : tensor<8x2xf32>
// CHECK: arith.subi %{{.*}}, %c8_i32
// CHECK: arith.sitofp
// CHECK: arith.mulf
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[DQ]] : tensor<4x64xf32>, tensor<8x64xf32>)
func.func @qlinear_w4_group(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>) -> tensor<4x8xf32> {
  %0 = nibble.qlinear %x, %w, %s scheme <w4, group = 32, sym> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Asymmetric: the zero point is read per scale and zero-extended.
// CHECK-LABEL: func.func @qlinear_w2_asym
// CHECK: arith.andi %{{.*}}, %c3_i32
// CHECK: %[[Z:.*]] = tensor.extract %{{.*}} : tensor<8x1xi8>
// CHECK: %[[ZU:.*]] = arith.extui %[[Z]] : i8 to i32
// CHECK: arith.subi %{{.*}}, %[[ZU]]
func.func @qlinear_w2_asym(%x: tensor<4x64xf32>, %w: tensor<8x16xi8>, %s: tensor<8x1xf16>, %z: tensor<8x1xi8>) -> tensor<4x8xf32> {
  %0 = nibble.qlinear %x, %w, %s zero_points %z scheme <w2, channel, asym, scale = f16> : (tensor<4x64xf32>, tensor<8x16xi8>, tensor<8x1xf16>, tensor<8x1xi8>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Float minimums (ggml's Q4_1): float(u) * scale, then + min, both read per
// scale and widened from f16; no zero point is subtracted.
// CHECK-LABEL: func.func @qlinear_w4_min
// CHECK: %[[CODE:.*]] = arith.andi %{{.*}}, %c15_i32
// CHECK: %[[G:.*]] = arith.divui %{{.*}}, %c32
// CHECK: %[[S:.*]] = tensor.extract %{{.*}}[%{{.*}}, %[[G]]] : tensor<8x2xf16>
// CHECK: %[[SF:.*]] = arith.extf %[[S]] : f16 to f32
// CHECK-NOT: arith.subi
// CHECK: %[[LEVEL:.*]] = arith.sitofp %[[CODE]] : i32 to f32
// CHECK: %[[SCALED:.*]] = arith.mulf %[[LEVEL]], %[[SF]] : f32
// CHECK: %[[M:.*]] = tensor.extract %{{.*}}[%{{.*}}, %[[G]]] : tensor<8x2xf16>
// CHECK: %[[MF:.*]] = arith.extf %[[M]] : f16 to f32
// CHECK: arith.addf %[[SCALED]], %[[MF]] : f32
// CHECK: linalg.yield
func.func @qlinear_w4_min(%x: tensor<4x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf16>, %m: tensor<8x2xf16>) -> tensor<4x8xf32> {
  %0 = nibble.qlinear %x, %w, %s mins %m scheme <w4, group = 32, min, scale = f16> : (tensor<4x64xf32>, tensor<8x32xi8>, tensor<8x2xf16>, tensor<8x2xf16>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// NF4 decodes through a 16-entry table; double-quantized scales are an
// unsigned code times the super-group's f32 scale.
// CHECK-LABEL: func.func @qlinear_nf4_double_quant
// CHECK: %[[TABLE:.*]] = arith.constant dense<[-1.000000e+00, -0.6961928, {{.*}}, 1.000000e+00]> : tensor<16xf32>
// CHECK: %[[CODE:.*]] = tensor.extract %{{.*}} : tensor<8x2xi8>
// CHECK: arith.uitofp %[[CODE]] : i8 to f32
// CHECK: arith.divui %{{.*}}, %c4
// CHECK: tensor.extract %{{.*}} : tensor<4xf32>
// CHECK: tensor.extract %[[TABLE]]
func.func @qlinear_nf4_double_quant(%x: tensor<4x128xf32>, %w: tensor<8x64xi8>, %s: tensor<8x2xi8>, %ss: tensor<4xf32>) -> tensor<4x8xf32> {
  %0 = nibble.qlinear %x, %w, %s scale_scales %ss scheme <nf4, group = 64, double_quant = 4> : (tensor<4x128xf32>, tensor<8x64xi8>, tensor<8x2xi8>, tensor<4xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// int8 dynamic activations: per-token absmax, scale absmax / 127, round half
// to even, clamp to [-127, 127].
// CHECK-LABEL: func.func @qlinear_int8_dynamic
// CHECK: %[[AMAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK: %[[XQ:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[AMAX]] : tensor<4x64xf32>, tensor<4xf32>)
// CHECK: arith.divf %{{.*}}, %cst
// CHECK: math.roundeven
// CHECK: linalg.generic {{.*}} ins(%[[XQ]], %{{.*}} : tensor<4x64xf32>, tensor<8x64xf32>)
func.func @qlinear_int8_dynamic(%x: tensor<4x64xf32>, %w: tensor<8x64xi8>, %s: tensor<8x1xf32>) -> tensor<4x8xf32> {
  %0 = nibble.qlinear %x, %w, %s scheme <w8, act = int8_dynamic> : (tensor<4x64xf32>, tensor<8x64xi8>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Activation groups (act_group = 32): x [?, 64] viewed as [?, 2, 32], one
// absmax and scale per group, then back to [?, 64] for the product.
// CHECK-LABEL: func.func @qlinear_int8_activation_groups
// CHECK: %[[GROUPS:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 2, 32] : tensor<?x64xf32> into tensor<?x2x32xf32>
// CHECK: %[[AMAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%[[GROUPS]] : tensor<?x2x32xf32>) outs(%{{.*}} : tensor<?x2xf32>)
// CHECK: %[[XQ:.*]] = linalg.generic {{.*}} ins(%[[GROUPS]], %[[AMAX]] : tensor<?x2x32xf32>, tensor<?x2xf32>)
// CHECK: math.roundeven
// CHECK: %[[X:.*]] = tensor.collapse_shape %[[XQ]] {{\[\[}}0], [1, 2]] : tensor<?x2x32xf32> into tensor<?x64xf32>
// CHECK: linalg.generic {{.*}} ins(%[[X]], %{{.*}} : tensor<?x64xf32>, tensor<8x64xf32>)
func.func @qlinear_int8_activation_groups(%x: tensor<?x64xf32>, %w: tensor<8x64xi8>, %s: tensor<8x1xf32>) -> tensor<?x8xf32> {
  %0 = nibble.qlinear %x, %w, %s scheme <w8, act = int8_dynamic, act_group = 32> : (tensor<?x64xf32>, tensor<8x64xi8>, tensor<8x1xf32>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// CHECK-LABEL: func.func @quantize_dequantize
// CHECK: arith.divf %{{.*}}, %{{.*}} : f32
// CHECK: } -> tensor<4x1xf32>
// CHECK: arith.fptosi %{{.*}} : f32 to i8
// CHECK: arith.sitofp %{{.*}} : i8 to f32
// CHECK-NOT: nibble.
func.func @quantize_dequantize(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %q, %s = nibble.quantize %x mode <int8_dynamic> : (tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4x1xf32>)
  %0 = nibble.dequantize %q, %s : (tensor<4x64xi8>, tensor<4x1xf32>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// -----

// nibble.observe is the identity; nibble.param is left for
// nibble-materialize-params.
// CHECK-LABEL: func.func @no_lowering_of_param
// CHECK: %[[P:.*]] = nibble.param "w" : tensor<8x16xf32>
// CHECK-NOT: nibble.observe
// CHECK: return %[[P]]
func.func @no_lowering_of_param() -> tensor<8x16xf32> {
  %w = nibble.param "w" : tensor<8x16xf32>
  %0 = nibble.observe %w, "w" : tensor<8x16xf32>
  return %0 : tensor<8x16xf32>
}
