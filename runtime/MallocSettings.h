//===- MallocSettings.h - Freed buffers kept for the next call -*- C++ -*-===//
//
// A compiled model allocates the buffers of each call (activations, panels,
// quantized inputs) with malloc and frees them before it returns. With
// glibc's defaults, buffers of more than 128 KiB are mapped afresh or
// returned to the kernel when freed, so every call faults their pages in
// and zeroes them again: 23% of Gemma 3 270M's prefill time on the AMD EPYC
// of docs/Benchmarks.md ("Freed buffers kept for the next call").
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_MALLOCSETTINGS_H
#define NIBBLE_RUNTIME_MALLOCSETTINGS_H

namespace nibble::runtime {

/// Once per process, unless $NIBBLE_MALLOC_TUNING is 0 and where the C
/// library is glibc: raises malloc's mmap threshold to 32 MiB (its maximum)
/// and its trim threshold to 1 GiB, so that freed buffers stay in the heap
/// for the next call instead of going back to the kernel. The heap then
/// stays at the largest size a call needed (up to 1 GiB more than is in
/// use), as a preallocated compute buffer would; peak memory is unchanged.
/// Other C libraries are left alone.
void keepFreedBuffersForReuse();

} // namespace nibble::runtime

#endif // NIBBLE_RUNTIME_MALLOCSETTINGS_H
