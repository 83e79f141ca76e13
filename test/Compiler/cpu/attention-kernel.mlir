// RUN: nibble-opt %s --nibble-cpu-select-kernels="triple=x86_64-unknown-linux-gnu features=+avx512f,+fma" | FileCheck %s

// The attention kernel's loops over keys (16 lanes, head size 64): full
// blocks prefetch the key and value rows ahead (4 cache lines of each per
// key), sum their 16 dot products with a shuffle tree and take the block's
// maximum with a butterfly that leaves it in every lane; the partial block
// continues from the full blocks' state and prefetches nothing; the running
// sum stays per lane until one reduction at the end. Numbers are checked
// against the reference lowering in test/E2E/attention-kernel.test.

// CHECK-LABEL: func.func private @__nibble_kernel_attention_9_64_3_64_64_w0_s3E000000_v16
// CHECK: scf.parallel
// CHECK: %[[FULL:.*]]:6 = scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-4: memref.prefetch %arg1[
// CHECK-COUNT-4: memref.prefetch %arg2[
// CHECK: vector.shuffle {{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]
// CHECK: vector.shuffle {{.*}} [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31]
// CHECK: vector.shuffle {{.*}} [0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30]
// CHECK: vector.shuffle {{.*}} [1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31]
// CHECK-NEXT: %[[SCORES:.*]] = arith.addf
// CHECK: %[[HALF:.*]] = vector.shuffle %[[SCORES]], %[[SCORES]] [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]
// CHECK-NEXT: arith.maxnumf %[[SCORES]], %[[HALF]] : vector<16xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[FULL]]#0, %{{.*}} = %[[FULL]]#1,
// CHECK-NOT: memref.prefetch
// CHECK: vector.reduction <add>, %{{.*}}#1 : vector<16xf32> into f32
func.func @attention(%q: tensor<?x9x64xf32>, %k: tensor<64x3x64xf32>, %v: tensor<64x3x64xf32>, %start: index) -> tensor<?x9x64xf32> {
  %0 = nibble.attention %q, %k, %v start %start scale = 0.125 : (tensor<?x9x64xf32>, tensor<64x3x64xf32>, tensor<64x3x64xf32>, index) -> tensor<?x9x64xf32>
  return %0 : tensor<?x9x64xf32>
}
