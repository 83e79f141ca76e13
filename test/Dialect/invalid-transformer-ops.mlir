// RUN: nibble-opt %s -split-input-file -verify-diagnostics

// Every verifier error of the transformer ops.

func.func @rms_norm_weight(%x: tensor<4x8xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{weight must have shape [8] (the normalized dimension), found [4]}}
  %0 = nibble.rms_norm %x, %w epsilon = 1.0e-05 : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @rms_norm_epsilon(%x: tensor<4x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{epsilon must be >= 0, found -1}}
  %0 = nibble.rms_norm %x, %w epsilon = -1.0 : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @rope_rank(%x: tensor<4x8xf32>, %pos: tensor<4xi64>) {
  // expected-error @+1 {{input must have shape [T, H, D], found rank 2}}
  %0 = nibble.rope %x, %pos inv_freq = [1.0] : (tensor<4x8xf32>, tensor<4xi64>) -> tensor<4x8xf32>
  return
}

// -----

func.func @rope_positions(%x: tensor<4x2x8xf32>, %pos: tensor<3xi64>) {
  // expected-error @+1 {{positions must have shape [4] (one per token), found [3]}}
  %0 = nibble.rope %x, %pos inv_freq = [1.0] : (tensor<4x2x8xf32>, tensor<3xi64>) -> tensor<4x2x8xf32>
  return
}

// -----

func.func @rope_too_many_freqs(%x: tensor<4x2x2xf32>, %pos: tensor<4xi64>) {
  // expected-error @+1 {{rotates 4 features (2 x 2 frequencies) but heads have 2}}
  %0 = nibble.rope %x, %pos inv_freq = [1.0, 0.5] : (tensor<4x2x2xf32>, tensor<4xi64>) -> tensor<4x2x2xf32>
  return
}

// -----

func.func @rope_empty(%x: tensor<4x2x2xf32>, %pos: tensor<4xi64>) {
  // expected-error @+1 {{inv_freq must not be empty}}
  %0 = nibble.rope %x, %pos inv_freq = [] : (tensor<4x2x2xf32>, tensor<4xi64>) -> tensor<4x2x2xf32>
  return
}

// -----

func.func @embedding_result(%t: tensor<16x8xf32>, %ids: tensor<4xi32>) {
  // expected-error @+1 {{result must have shape [4, 8], found [4, 4]}}
  %0 = nibble.embedding %t, %ids : (tensor<16x8xf32>, tensor<4xi32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @attention_heads(%q: tensor<1x3x8xf32>, %k: tensor<32x2x8xf32>, %v: tensor<32x2x8xf32>, %s: index) {
  // expected-error @+1 {{query heads (3) must be a multiple of KV heads (2)}}
  %0 = nibble.attention %q, %k, %v start %s scale = 1.0 : (tensor<1x3x8xf32>, tensor<32x2x8xf32>, tensor<32x2x8xf32>, index) -> tensor<1x3x8xf32>
  return
}

// -----

func.func @attention_dynamic_cache(%q: tensor<1x2x8xf32>, %k: tensor<?x2x8xf32>, %v: tensor<?x2x8xf32>, %s: index) {
  // expected-error @+1 {{keys and values must have static shapes (the cache capacity is fixed at compile time)}}
  %0 = nibble.attention %q, %k, %v start %s scale = 1.0 : (tensor<1x2x8xf32>, tensor<?x2x8xf32>, tensor<?x2x8xf32>, index) -> tensor<1x2x8xf32>
  return
}

// -----

func.func @attention_head_size(%q: tensor<1x2x4xf32>, %k: tensor<32x2x8xf32>, %v: tensor<32x2x8xf32>, %s: index) {
  // expected-error @+1 {{keys have head size 8 but queries 4}}
  %0 = nibble.attention %q, %k, %v start %s scale = 1.0 : (tensor<1x2x4xf32>, tensor<32x2x8xf32>, tensor<32x2x8xf32>, index) -> tensor<1x2x8xf32>
  return
}

// -----

func.func @attention_values(%q: tensor<1x2x8xf32>, %k: tensor<32x2x8xf32>, %v: tensor<16x2x8xf32>, %s: index) {
  // expected-error @+1 {{values [16, 2, 8] must have the capacity and heads of keys [32, 2, 8]}}
  %0 = nibble.attention %q, %k, %v start %s scale = 1.0 : (tensor<1x2x8xf32>, tensor<32x2x8xf32>, tensor<16x2x8xf32>, index) -> tensor<1x2x8xf32>
  return
}

// -----

func.func @attention_result(%q: tensor<1x2x8xf32>, %k: tensor<32x2x8xf32>, %v: tensor<32x2x6xf32>, %s: index) {
  // expected-error @+1 {{result must have shape [1, 2, 6], found [1, 2, 8]}}
  %0 = nibble.attention %q, %k, %v start %s scale = 1.0 : (tensor<1x2x8xf32>, tensor<32x2x8xf32>, tensor<32x2x6xf32>, index) -> tensor<1x2x8xf32>
  return
}

// -----

func.func @attention_window(%q: tensor<1x2x8xf32>, %k: tensor<32x2x8xf32>, %v: tensor<32x2x8xf32>, %s: index) {
  // expected-error @+1 {{window must be >= 0, found -2}}
  %0 = nibble.attention %q, %k, %v start %s scale = 1.0 window = -2 : (tensor<1x2x8xf32>, tensor<32x2x8xf32>, tensor<32x2x8xf32>, index) -> tensor<1x2x8xf32>
  return
}
