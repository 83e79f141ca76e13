// RUN: nibble-opt %s --nibble-parallel-calls-to-runtime --split-input-file --verify-diagnostics | FileCheck %s

// The call of the parallel body becomes a dispatch through
// __nibble_parallel_for; its extra arguments travel in a struct allocated
// once in the caller's entry block, which the task reads back field by field.

// CHECK-LABEL: llvm.func @caller(
// CHECK-SAME:    %[[P:.*]]: !llvm.ptr, %[[N:.*]]: i64, %[[X:.*]]: f32)
// CHECK:         %[[ONE:.*]] = llvm.mlir.constant(1 : i64) : i64
// CHECK:         %[[CTX:.*]] = llvm.alloca %[[ONE]] x !llvm.struct<(ptr, f32)>
// CHECK:         llvm.br ^[[BB:.*]]
// CHECK:       ^[[BB]]:
// CHECK:         %[[F0:.*]] = llvm.getelementptr %[[CTX]][0, 0]
// CHECK:         llvm.store %[[P]], %[[F0]] : !llvm.ptr, !llvm.ptr
// CHECK:         %[[F1:.*]] = llvm.getelementptr %[[CTX]][0, 1]
// CHECK:         llvm.store %[[X]], %[[F1]] : f32, !llvm.ptr
// CHECK:         %[[TASK:.*]] = llvm.mlir.addressof @body_task : !llvm.ptr
// CHECK:         llvm.call @__nibble_parallel_for(%{{.*}}, %[[N]], %[[TASK]], %[[CTX]])
// CHECK-NOT:     llvm.call @body(

// CHECK-LABEL: llvm.func internal @body(
// CHECK-SAME:    attributes {nibble.parallel_body}

// CHECK-LABEL: llvm.func internal @body_task(
// CHECK-SAME:    %[[TCTX:.*]]: !llvm.ptr, %[[B:.*]]: i64, %[[E:.*]]: i64)
// CHECK:         %[[G0:.*]] = llvm.getelementptr %[[TCTX]][0, 0]
// CHECK:         %[[V0:.*]] = llvm.load %[[G0]] : !llvm.ptr -> !llvm.ptr
// CHECK:         %[[G1:.*]] = llvm.getelementptr %[[TCTX]][0, 1]
// CHECK:         %[[V1:.*]] = llvm.load %[[G1]] : !llvm.ptr -> f32
// CHECK:         llvm.call @body(%[[B]], %[[E]], %[[V0]], %[[V1]])

// CHECK-LABEL: llvm.mlir.global internal @__nibble_parallel_runner()
// CHECK:         llvm.mlir.zero : !llvm.ptr

// The setter is hidden: each loaded model keeps its own runner.
// CHECK-LABEL: llvm.func hidden @__nibble_set_parallel_runner(
// CHECK-SAME:    %[[R:.*]]: !llvm.ptr)
// CHECK:         %[[G:.*]] = llvm.mlir.addressof @__nibble_parallel_runner
// CHECK:         llvm.store %[[R]], %[[G]]

// Without a runner the dispatcher calls the task on the whole range.
// CHECK-LABEL: llvm.func internal @__nibble_parallel_for(
// CHECK-SAME:    %[[DB:.*]]: i64, %[[DE:.*]]: i64, %[[DT:.*]]: !llvm.ptr, %[[DC:.*]]: !llvm.ptr)
// CHECK:         %[[RUNNER:.*]] = llvm.load
// CHECK:         %[[NONE:.*]] = llvm.icmp "eq" %[[RUNNER]]
// CHECK:         llvm.cond_br %[[NONE]], ^[[SERIAL:.*]], ^[[THREADED:.*]]
// CHECK:       ^[[SERIAL]]:
// CHECK:         llvm.call %[[DT]](%[[DC]], %[[DB]], %[[DE]])
// CHECK:       ^[[THREADED]]:
// CHECK:         llvm.call %[[RUNNER]](%[[DB]], %[[DE]], %[[DT]], %[[DC]])

llvm.func @caller(%p: !llvm.ptr, %n: i64, %x: f32) {
  %zero = llvm.mlir.constant(0 : i64) : i64
  llvm.br ^bb1
^bb1:
  llvm.call @body(%zero, %n, %p, %x) : (i64, i64, !llvm.ptr, f32) -> ()
  llvm.return
}
llvm.func @body(%begin: i64, %end: i64, %p: !llvm.ptr, %x: f32)
    attributes {nibble.parallel_body} {
  llvm.return
}

// -----

// A module without parallel bodies still gets the runtime hooks (the model's
// ABI table refers to the setter).
// CHECK-LABEL: llvm.func @plain(
// CHECK:       llvm.func hidden @__nibble_set_parallel_runner(
// CHECK:       llvm.func internal @__nibble_parallel_for(
llvm.func @plain() {
  llvm.return
}

// -----

// expected-error @+1 {{is marked nibble.parallel_body but is not a function (i64 begin, i64 end, ...) -> void}}
llvm.func @bad_signature(%begin: i32, %end: i64) attributes {nibble.parallel_body} {
  llvm.return
}

// -----

llvm.func @body(%begin: i64, %end: i64) attributes {nibble.parallel_body} {
  llvm.return
}
llvm.func @takes_address() -> !llvm.ptr {
  // expected-error @+1 {{uses parallel body 'body' other than by a direct call}}
  %f = llvm.mlir.addressof @body : !llvm.ptr
  llvm.return %f : !llvm.ptr
}

// -----

// expected-error @+1 {{the module already defines '__nibble_parallel_for'}}
module {
  llvm.func @__nibble_parallel_for() {
    llvm.return
  }
}
