// The process-wide settings a program that trains with this library wants, in one call at the
// top of main:
//
//   int main(int argc, char** argv) { fds::autodiff::prepare_runtime(argc, argv); ... }
//
// - the fastest OpenBLAS kernel the CPU can run (runtime/blas_kernel.hpp) and huge pages for the
//   heap (runtime/heap.hpp): both are environment variables read at start-up, so the program
//   re-executes itself once with them (runtime/reexecution.hpp) before anything else happens;
// - reuse of freed memory between training steps (runtime/heap.hpp).
// Each is also callable on its own, and each has an environment variable that turns it off.
#pragma once

#include <vector>

#include <fds/autodiff/runtime/blas_kernel.hpp>
#include <fds/autodiff/runtime/heap.hpp>
#include <fds/autodiff/runtime/reexecution.hpp>

namespace fds::autodiff {
void prepare_runtime(int argc, char** argv);

// ---------------------------------------------------------------- implementation

inline void prepare_runtime(int argc, char** argv) {
    std::vector<environment_setting> settings;
    for (const auto& setting : {blas_kernel_setting(), huge_page_setting()}) {
        if (setting) {
            settings.push_back(*setting);
        }
    }
    reexecute_with(settings, argc, argv);
    reuse_freed_memory();
}
}  // namespace fds::autodiff
