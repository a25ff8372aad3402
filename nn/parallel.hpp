// Running independent parts of nn's own kernels on the cores BLAS may use.
//
// Without this, nn's loops (im2col and col2im, batch norm, layout copies) run on one core while
// OpenBLAS's other threads wait for the next GEMM. The thread count is BLAS's
// (openblas_get_num_threads, which the tool's --threads sets), so one setting governs both. While
// the parts run, BLAS runs single-threaded: each part calls its GEMMs on its own core.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

#include <cblas.h>

namespace fds::nn::detail {

inline std::size_t worker_threads() { return static_cast<std::size_t>(std::max(1, openblas_get_num_threads())); }

// Runs body(part) for every part in [0, parts): part p on thread p % T with T = min(parts,
// worker_threads()), thread 0 being the caller. The first exception is rethrown after all joined.
template <class Body>
void run_parts(std::size_t parts, Body&& body) {
  const std::size_t threads = std::min(parts, worker_threads());
  if (threads < 2) {
    for (std::size_t part = 0; part < parts; ++part) body(part);
    return;
  }
  std::vector<std::exception_ptr> failures(threads);
  auto run = [&](std::size_t thread) {
    try {
      for (std::size_t part = thread; part < parts; part += threads) body(part);
    } catch (...) {
      failures[thread] = std::current_exception();
    }
  };
  const int blas_threads = openblas_get_num_threads();
  openblas_set_num_threads(1);
  std::vector<std::thread> helpers;
  try {
    for (std::size_t thread = 1; thread < threads; ++thread) helpers.emplace_back(run, thread);
  } catch (...) {
    failures[0] = std::current_exception();  // could not start a thread: finish what started
  }
  if (!failures[0]) run(0);
  for (auto& helper : helpers) helper.join();
  openblas_set_num_threads(blas_threads);
  for (const auto& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
}

}  // namespace fds::nn::detail
