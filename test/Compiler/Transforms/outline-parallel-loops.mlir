// RUN: nibble-opt %s --nibble-outline-parallel-loops=min-work=1000 --split-input-file | FileCheck %s

// A 2-D loop of 40 x 50 = 2000 iterations. Its first dimension alone has
// fewer than 64 iterations, so both dimensions are split: the call covers
// ceil((43 - 3) / 1) * ceil((50 - 0) / 1) = 2000 linear indices, and the body
// recovers (3 + (i / 50) * 1, 0 + (i % 50) * 1) from index i. Constants are
// cloned; the memref and the scalar %s are passed.

// CHECK-LABEL: func.func @two_dims(
// CHECK-SAME:    %[[A:.*]]: memref<64x64xf32>, %[[S:.*]]: f32)
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[C43:.*]] = arith.constant 43 : index
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C50:.*]] = arith.constant 50 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK:         %[[SPAN0:.*]] = arith.subi %[[C43]], %[[C3]] : index
// CHECK:         %[[DIV0:.*]] = arith.ceildivsi %[[SPAN0]], %[[C1]] : index
// CHECK:         %[[TRIPS0:.*]] = arith.maxsi %{{.*}}, %[[DIV0]] : index
// CHECK:         %[[SPAN1:.*]] = arith.subi %[[C50]], %[[C0]] : index
// CHECK:         %[[DIV1:.*]] = arith.ceildivsi %[[SPAN1]], %[[C1]] : index
// CHECK:         %[[TRIPS1:.*]] = arith.maxsi %{{.*}}, %[[DIV1]] : index
// CHECK:         %[[TOTAL:.*]] = arith.muli %[[TRIPS0]], %[[TRIPS1]] : index
// CHECK:         call @two_dims_parallel(%{{.*}}, %[[TOTAL]], %[[S]], %[[A]])
// CHECK-NOT:     scf.parallel
// CHECK:         return

// CHECK-LABEL: func.func private @two_dims_parallel(
// CHECK-SAME:    %[[BEGIN:.*]]: index, %[[END:.*]]: index, %[[BS:.*]]: f32, %[[BA:.*]]: memref<64x64xf32>)
// CHECK-SAME:    attributes {nibble.parallel_body}
// CHECK-DAG:     %[[BC3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[BC0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[BC1:.*]] = arith.constant 1 : index
// CHECK:         %[[INNER:.*]] = arith.maxsi
// CHECK:         scf.for %[[I:.*]] = %[[BEGIN]] to %[[END]] step
// CHECK:           %[[POS1:.*]] = arith.remsi %[[I]], %[[INNER]] : index
// CHECK:           %[[POS0:.*]] = arith.divsi %[[I]], %[[INNER]] : index
// CHECK:           %[[MUL1:.*]] = arith.muli %[[POS1]], %[[BC1]] : index
// CHECK:           %[[IV1:.*]] = arith.addi %[[BC0]], %[[MUL1]] : index
// CHECK:           %[[MUL0:.*]] = arith.muli %[[POS0]], %[[BC1]] : index
// CHECK:           %[[IV0:.*]] = arith.addi %[[BC3]], %[[MUL0]] : index
// CHECK-NOT:       scf.parallel
// CHECK:           memref.store %[[BS]], %[[BA]][%[[IV0]], %[[IV1]]]
func.func @two_dims(%a: memref<64x64xf32>, %s: f32) {
  %c3 = arith.constant 3 : index
  %c43 = arith.constant 43 : index
  %c0 = arith.constant 0 : index
  %c50 = arith.constant 50 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i, %j) = (%c3, %c0) to (%c43, %c50) step (%c1, %c1) {
    memref.store %s, %a[%i, %j] : memref<64x64xf32>
  }
  return
}

// -----

// A first dimension of 100 iterations is enough on its own: it is split,
// and the second stays an scf.parallel in the body.

// CHECK-LABEL: func.func @first_dim_only(
// CHECK:         call @first_dim_only_parallel(%{{.*}}, %[[TRIPS:.*]], %{{.*}})
// CHECK-LABEL: func.func private @first_dim_only_parallel(
// CHECK-SAME:    %[[BEGIN:.*]]: index, %[[END:.*]]: index, %[[BA:.*]]: memref<100x30xf32>)
// CHECK:         scf.for %[[I:.*]] = %[[BEGIN]] to %[[END]] step
// CHECK-NOT:       arith.remsi
// CHECK:           %[[IV0:.*]] = arith.addi
// CHECK:           scf.parallel (%[[J:.*]]) =
// CHECK:             memref.store %{{.*}}, %[[BA]][%[[IV0]], %[[J]]]
func.func @first_dim_only(%a: memref<100x30xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c30 = arith.constant 30 : index
  %c100 = arith.constant 100 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c100, %c30) step (%c1, %c1) {
    memref.store %zero, %a[%i, %j] : memref<100x30xf32>
  }
  return
}

// -----

// A strided 1-D loop with dynamic bounds (unknown work counts as large):
// iterations lb, lb + 4, ... below ub; the body computes lb + i * 4.

// CHECK-LABEL: func.func @strided(
// CHECK-SAME:    %[[A:.*]]: memref<?xf32>, %[[LB:.*]]: index, %[[UB:.*]]: index)
// CHECK:         %[[C4:.*]] = arith.constant 4 : index
// CHECK:         %[[SPAN:.*]] = arith.subi %[[UB]], %[[LB]] : index
// CHECK:         %[[DIV:.*]] = arith.ceildivsi %[[SPAN]], %[[C4]] : index
// CHECK:         %[[TRIPS:.*]] = arith.maxsi %[[ZERO:.*]], %[[DIV]] : index
// CHECK:         call @strided_parallel(%{{.*}}, %[[TRIPS]], %[[A]], %[[LB]])

// CHECK-LABEL: func.func private @strided_parallel(
// CHECK-SAME:    %[[BEGIN:.*]]: index, %[[END:.*]]: index, %[[BA:.*]]: memref<?xf32>, %[[BLB:.*]]: index)
// CHECK:         %[[BC4:.*]] = arith.constant 4 : index
// CHECK:         scf.for %[[I:.*]] = %[[BEGIN]] to %[[END]]
// CHECK:           %[[MUL:.*]] = arith.muli %[[I]], %[[BC4]] : index
// CHECK:           %[[IV:.*]] = arith.addi %[[BLB]], %[[MUL]] : index
// CHECK:           memref.store %{{.*}}, %[[BA]][%[[IV]]]
// CHECK-NOT:       scf.parallel
func.func @strided(%a: memref<?xf32>, %lb: index, %ub: index) {
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%lb) to (%ub) step (%c4) {
    memref.store %zero, %a[%i] : memref<?xf32>
  }
  return
}

// -----

// Work below min-work (10 x 10 = 100 iterations, each with an inner loop of
// 5: 10 * 10 * 5 = 500 < 1000) and loops with reductions stay where they are.
// Only the outermost loop of a nest is outlined (here 20 iterations, each
// with an inner parallel loop of 100): the inner one moves with it.

// CHECK-LABEL: func.func @small_and_reduction(
// CHECK:         scf.parallel
// CHECK:           scf.for
// CHECK:         scf.parallel {{.*}} init
// CHECK:         call @small_and_reduction_parallel(
// CHECK-NOT:     call
// CHECK:         return
// CHECK-LABEL: func.func private @small_and_reduction_parallel(
// CHECK:         scf.for
// CHECK:           scf.parallel
// CHECK-NOT:     func.func private @small_and_reduction_parallel_
func.func @small_and_reduction(%a: memref<100x100xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %c10 = arith.constant 10 : index
  %c20 = arith.constant 20 : index
  %c100 = arith.constant 100 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c10, %c10) step (%c1, %c1) {
    scf.for %k = %c0 to %c5 step %c1 {
      memref.store %zero, %a[%i, %j] : memref<100x100xf32>
    }
  }
  %sum = scf.parallel (%i) = (%c0) to (%c100) step (%c1) init (%zero) -> f32 {
    %v = memref.load %a[%i, %i] : memref<100x100xf32>
    scf.reduce(%v : f32) {
    ^bb0(%x: f32, %y: f32):
      %r = arith.addf %x, %y : f32
      scf.reduce.return %r : f32
    }
  }
  scf.parallel (%i) = (%c0) to (%c20) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c100) step (%c1) {
      memref.store %zero, %a[%i, %j] : memref<100x100xf32>
    }
  }
  return %sum : f32
}
