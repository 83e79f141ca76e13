// RUN: nibble-opt %s | nibble-opt | FileCheck %s

// Round trip of #nibble.scheme: defaults are filled in and printed in a
// canonical order (attributes of the function print sorted by name).

// CHECK-LABEL: func.func @schemes
// CHECK-SAME: p0 = #nibble.scheme<w4, group = 128, sym>
// CHECK-SAME: p1 = #nibble.scheme<w8, channel, sym>
// CHECK-SAME: p2 = #nibble.scheme<w8, channel, sym, act = int8_dynamic>
// CHECK-SAME: p3 = #nibble.scheme<fp8, channel, sym, act = fp8_dynamic>
// CHECK-SAME: p4 = #nibble.scheme<nf4, group = 64, sym, double_quant = 256>
// CHECK-SAME: p5 = #nibble.scheme<w4, group = 32, asym>
// CHECK-SAME: p6 = #nibble.scheme<w4, channel, sym>
// CHECK-SAME: p7 = #nibble.scheme<w4, tensor, sym>
// CHECK-SAME: p8 = #nibble.scheme<w3, group = 128, sym>
// CHECK-SAME: p9 = #nibble.scheme<nf4, group = 64, sym>
// CHECK-SAME: pa = #nibble.scheme<w8, group = 32, asym, scale = bf16>
// CHECK-SAME: pb = #nibble.scheme<w4, group = 64, sym, scale = f16, double_quant = 256>
// CHECK-SAME: pc = #nibble.scheme<w8, channel, sym>
// CHECK-SAME: pd = #nibble.scheme<fp4, channel, sym, act = fp8_dynamic>
// CHECK-SAME: s0 = #nibble.scheme<w8, channel, sym>
// CHECK-SAME: s1 = #nibble.scheme<w4, group = 128, sym>
// CHECK-SAME: s2 = #nibble.scheme<w4, group = 32, asym, scale = f16>
// CHECK-SAME: s3 = #nibble.scheme<nf4, group = 64, sym, double_quant = 256>
// CHECK-SAME: s4 = #nibble.scheme<fp4, tensor, sym, scale = bf16>
// CHECK-SAME: s5 = #nibble.scheme<fp8, channel, sym, act = fp8_dynamic>
// CHECK-SAME: s6 = #nibble.scheme<w3, group = 64, sym, act = int8_dynamic>
// CHECK-SAME: s7 = #nibble.scheme<w2, channel, asym, act = int8_static>
// CHECK-SAME: s8 = #nibble.scheme<w4, group = 32, min, scale = f16>
// CHECK-SAME: s9 = #nibble.scheme<w6, group = 16, min>
// CHECK-SAME: sa = #nibble.scheme<w4, group = 32, sym>
// CHECK-SAME: sb = #nibble.scheme<w4, group = 32, min, scale = f16, act = int8_dynamic, act_group = 32>
// CHECK-SAME: sc = #nibble.scheme<w8, channel, sym, act = fp8_dynamic, act_group = 64>
// CHECK-SAME: sd = #nibble.scheme<w8, channel, sym, act = int8_dynamic>
func.func @schemes() attributes {
  s0 = #nibble.scheme<w8>,
  s1 = #nibble.scheme<w4, group = 128, sym>,
  s2 = #nibble.scheme<w4, asym, group = 32, scale = f16>,
  s3 = #nibble.scheme<nf4, group = 64, double_quant = 256>,
  s4 = #nibble.scheme<fp4, tensor, scale = bf16>,
  s5 = #nibble.scheme<fp8, act = fp8_dynamic>,
  s6 = #nibble.scheme<w3, group = 64, act = int8_dynamic>,
  s7 = #nibble.scheme<w2, asym, act = int8_static>,
  s8 = #nibble.scheme<w4, group = 32, scale = f16, min>,
  s9 = #nibble.scheme<w6, min, group = 16>,
  sa = #nibble.scheme<w4, min, group = 32, sym>,
  sb = #nibble.scheme<w4, act_group = 32, group = 32, min, scale = f16, act = int8_dynamic>,
  sc = #nibble.scheme<w8, act = fp8_dynamic, act_group = 64>,
  sd = #nibble.scheme<w8a8, act_group = 0>,
  p0 = #nibble.scheme<w4a16>,
  p1 = #nibble.scheme<w8a16>,
  p2 = #nibble.scheme<w8a8>,
  p3 = #nibble.scheme<fp8_dynamic>,
  p4 = #nibble.scheme<qlora>,
  p5 = #nibble.scheme<w4a16, group = 32, asym>,
  p6 = #nibble.scheme<w4a16, channel>,
  p7 = #nibble.scheme<w4a16, tensor>,
  p8 = #nibble.scheme<w4a16, bits = 3>,
  p9 = #nibble.scheme<qlora, double_quant = 0>,
  pa = #nibble.scheme<w8a8, group = 32, asym, scale = bf16, act = none>,
  pb = #nibble.scheme<qlora, format = int, scale = f16>,
  pc = #nibble.scheme<w4a16, group = 64, channel, bits = 8>,
  pd = #nibble.scheme<fp8_dynamic, format = fp4>
} {
  return
}
