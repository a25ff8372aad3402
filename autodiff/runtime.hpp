// The process-wide settings a program that trains with this library wants, in one call at the
// top of main:
//
//   int main(int argc, char** argv) { fds::autodiff::prepare_runtime(argc, argv); ... }
//
// - the fastest OpenBLAS kernel the CPU can run (blas_kernel.hpp; may re-execute the program once,
//   so it comes before anything else happens);
// - reuse of freed memory between training steps (heap.hpp).
// Each is also callable on its own, and each has an environment variable that turns it off.
#pragma once

#include <autodiff/blas_kernel.hpp>
#include <autodiff/heap.hpp>

namespace fds::autodiff
{
    void prepare_runtime(int argc, char** argv);

    // ---------------------------------------------------------------- implementation

    inline void prepare_runtime(int argc, char** argv)
    {
        ensure_fast_blas_kernel(argc, argv);
        reuse_freed_memory();
    }
}
