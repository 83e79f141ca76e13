// Activation (de)quantization for test/E2E/quantize-ops.test: quantizes x
// ([2, 6, 64], per token over the last dimension) in every mode and
// dequantizes the codes again, returning everything.
//   %x: activations; %s: the int8_static scale ([1]); %cs: a per-column
//   scale ([1, 1, 64]) for a broadcast dequantize.
func.func @quantize_ops(%x: tensor<2x6x64xf32>, %s: tensor<1xf32>,
                        %cs: tensor<1x1x64xf32>)
    -> (tensor<2x6x64xi8>, tensor<2x6x1xf32>, tensor<2x6x64xf32>,
        tensor<2x6x64xi8>, tensor<1xf32>, tensor<2x6x64xf32>,
        tensor<2x6x64xf8E4M3FN>, tensor<2x6x1xf32>, tensor<2x6x64xf32>,
        tensor<2x6x64xf32>, tensor<2x6x64xf16>) {
  %qd, %sd = nibble.quantize %x mode <int8_dynamic>
      : (tensor<2x6x64xf32>) -> (tensor<2x6x64xi8>, tensor<2x6x1xf32>)
  %dd = nibble.dequantize %qd, %sd
      : (tensor<2x6x64xi8>, tensor<2x6x1xf32>) -> tensor<2x6x64xf32>
  %qs, %ss = nibble.quantize %x scale %s mode <int8_static>
      : (tensor<2x6x64xf32>, tensor<1xf32>) -> (tensor<2x6x64xi8>, tensor<1xf32>)
  %ds = nibble.dequantize %qs, %ss
      : (tensor<2x6x64xi8>, tensor<1xf32>) -> tensor<2x6x64xf32>
  %qf, %sf = nibble.quantize %x mode <fp8_dynamic>
      : (tensor<2x6x64xf32>) -> (tensor<2x6x64xf8E4M3FN>, tensor<2x6x1xf32>)
  %df = nibble.dequantize %qf, %sf
      : (tensor<2x6x64xf8E4M3FN>, tensor<2x6x1xf32>) -> tensor<2x6x64xf32>
  %dc = nibble.dequantize %qs, %cs
      : (tensor<2x6x64xi8>, tensor<1x1x64xf32>) -> tensor<2x6x64xf32>
  %dh = nibble.dequantize %qd, %sd
      : (tensor<2x6x64xi8>, tensor<2x6x1xf32>) -> tensor<2x6x64xf16>
  return %qd, %sd, %dd, %qs, %ss, %ds, %qf, %sf, %df, %dc, %dh
      : tensor<2x6x64xi8>, tensor<2x6x1xf32>, tensor<2x6x64xf32>,
        tensor<2x6x64xi8>, tensor<1xf32>, tensor<2x6x64xf32>,
        tensor<2x6x64xf8E4M3FN>, tensor<2x6x1xf32>, tensor<2x6x64xf32>,
        tensor<2x6x64xf32>, tensor<2x6x64xf16>
}
