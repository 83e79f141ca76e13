// RUN: nibble-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{'nibble.global' op needs a non-empty tensor name}}
nibble.global @w "" : tensor<4xf32>

// -----

// expected-error @+1 {{'nibble.global' op attribute 'type' failed to satisfy constraint}}
nibble.global @w "w" : tensor<?xf32>

// -----

func.func @load_unknown() -> tensor<4xf32> {
  // expected-error @+1 {{'nibble.global_load' op 'missing' does not name a nibble.global of the module}}
  %w = nibble.global_load @missing : tensor<4xf32>
  return %w : tensor<4xf32>
}

// -----

nibble.global @w "w" : tensor<4xf32>
func.func @load_wrong_type() -> tensor<8xf32> {
  // expected-error @+1 {{'nibble.global_load' op result type 'tensor<8xf32>' differs from global 'w' of type 'tensor<4xf32>'}}
  %w = nibble.global_load @w : tensor<8xf32>
  return %w : tensor<8xf32>
}

// -----

nibble.state @kv : tensor<4xf32>
func.func @load_state_as_weight() -> tensor<4xf32> {
  // expected-error @+1 {{'nibble.global_load' op 'kv' does not name a nibble.global of the module}}
  %w = nibble.global_load @kv : tensor<4xf32>
  return %w : tensor<4xf32>
}

// -----

// expected-error @+1 {{'func.func' op argument 0 names @missing, which is not a nibble.state of the module}}
func.func @state_unknown(%s: tensor<4xf32> {nibble.state = @missing}) {
  return
}

// -----

nibble.state @kv : tensor<4xf32>
// expected-error @+1 {{'func.func' op argument 0 has type 'tensor<8xf32>' but state @kv is 'tensor<4xf32>'}}
func.func @state_wrong_type(%s: tensor<8xf32> {nibble.state = @kv}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0: 'nibble.state' must name a nibble.state symbol, found "kv"}}
func.func @state_not_symbol(%s: tensor<4xf32> {nibble.state = "kv"}) {
  return
}
