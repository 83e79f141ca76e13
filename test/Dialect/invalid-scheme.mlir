// RUN: nibble-opt %s -split-input-file -verify-diagnostics

// Every error of the #nibble.scheme parser and verifier.

// expected-error @+1 {{integer weights must have 2 to 8 bits, found 9}}
func.func @bits() attributes {s = #nibble.scheme<w9>} { return }

// -----

// expected-error @+1 {{expected a weight format (w2..w8, nf4, fp4, fp8) or a preset (w4a16, w8a16, w8a8, fp8_dynamic, qlora), found 'int4'}}
func.func @format() attributes {s = #nibble.scheme<int4>} { return }

// -----

// expected-error @+1 {{asymmetric quantization needs an integer format, found nf4}}
func.func @asym_nf4() attributes {s = #nibble.scheme<nf4, asym>} { return }

// -----

// expected-error @+1 {{float minimums (min) need an integer format, found fp8}}
func.func @min_fp8() attributes {s = #nibble.scheme<fp8, min>} { return }

// -----

// expected-error @+1 {{float minimums are stored in the scale type; they cannot be combined with double_quant}}
func.func @min_double_quant() attributes {s = #nibble.scheme<w4, group = 32, min, double_quant = 256>} { return }

// -----

// expected-error @+1 {{group size must be positive, found 0}}
func.func @group_zero() attributes {s = #nibble.scheme<w4, group = 0>} { return }

// -----

// expected-error @+1 {{scale type must be f32, f16 or bf16, found 'f64'}}
func.func @scale_type() attributes {s = #nibble.scheme<w4, scale = f64>} { return }

// -----

// expected-error @+1 {{double quantization group must be positive, found -1}}
func.func @double_quant() attributes {s = #nibble.scheme<nf4, double_quant = -1>} { return }

// -----

// expected-error @+1 {{unknown activation scheme 'int4' (expected none, int8_dynamic, int8_static or fp8_dynamic)}}
func.func @act() attributes {s = #nibble.scheme<w8, act = int4>} { return }

// -----

// expected-error @+1 {{unknown scheme parameter 'blocks'}}
func.func @unknown() attributes {s = #nibble.scheme<w8, blocks>} { return }

// -----

// expected-error @+1 {{unknown weight format 'int4' (expected int, nf4, fp4 or fp8)}}
func.func @format_key() attributes {s = #nibble.scheme<w4a16, format = int4>} { return }

// -----

// expected-error @+1 {{bits must be between 1 and 64, found -3}}
func.func @bits_key_negative() attributes {s = #nibble.scheme<w4a16, bits = -3>} { return }

// -----

// An override is checked like the field it replaces.
// expected-error @+1 {{integer weights must have 2 to 8 bits, found 12}}
func.func @bits_key_range() attributes {s = #nibble.scheme<w8a16, bits = 12>} { return }

// -----

// expected-error @+1 {{act_group needs a dynamic activation scheme (int8_dynamic or fp8_dynamic), found int8_static}}
func.func @act_group_static() attributes {s = #nibble.scheme<w8, act = int8_static, act_group = 32>} { return }

// -----

// expected-error @+1 {{act_group needs a dynamic activation scheme (int8_dynamic or fp8_dynamic), found none}}
func.func @act_group_float() attributes {s = #nibble.scheme<w8, act_group = 32>} { return }

// -----

// expected-error @+1 {{activation group must be positive, found -32}}
func.func @act_group_negative() attributes {s = #nibble.scheme<w8a8, act_group = -32>} { return }
