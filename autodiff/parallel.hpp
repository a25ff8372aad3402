// The library's own threads: one pool, kept for the life of the process, that every parallel
// loop uses (GEMMs in blas.hpp, element-wise kernels, nn's convolution chunks and batch norm).
//
// Why not OpenBLAS's threads: after each multi-threaded GEMM OpenBLAS's workers spin (sched_yield)
// for about 0.1 s waiting for the next one, and a training step calls GEMMs every few hundred
// microseconds, so they never rest; any other thread of ours (im2col, element-wise passes) then
// competes with them for the cores, and the spinning took a tenth of a LeNet step's CPU time.
// So OpenBLAS is set to one thread when the pool starts, and large GEMMs are split over
// the pool instead (blas.hpp); a loop inside a pool thread runs serially on that thread, so parts
// never nest into more threads than cores.
//
// The thread count starts as OpenBLAS's own (which reads OPENBLAS_NUM_THREADS, else the core
// count) and can be set with set_thread_count (the fds tool's --threads).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <cblas.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace fds::autodiff {
// Threads a parallel loop uses, the caller included.
std::size_t thread_count();

// Sets the thread count (at least 1). Call it between loops, not from inside a part: it waits
// for a loop another thread is running.
void set_thread_count(std::size_t threads);

// Runs body(part) for every part in [0, parts), on up to thread_count() threads (the caller is
// one of them); each part runs entirely on one thread, in no fixed order. Called from inside a
// part, it runs its parts serially. The first exception of a part is rethrown once all parts
// have finished.
template <class Body>
void run_parts(std::size_t parts, Body&& body);

// Runs body(begin, end) over [0, count) cut into one contiguous range per thread, each a
// multiple of `granule` long but the last (body(0, count) on the caller when there is one
// thread or one granule). For loops whose elements are independent, so the result does not
// depend on the cut.
template <class Body>
void run_cuts(std::size_t count, std::size_t granule, Body&& body);

// run_cuts once count * passes (the element visits of the loop) reaches parallel_pass_work;
// below that, body(0, count) on the caller.
template <class Body>
void run_ranges(std::size_t count, std::size_t passes, std::size_t granule, Body&& body);

// Element visits below which a loop stays on the calling thread: about 20 microseconds of
// memory-bound work, against about a microsecond to hand a range to a spinning helper.
inline constexpr std::size_t parallel_pass_work = std::size_t{1} << 16;

// ---------------------------------------------------------------- implementation

namespace detail {
inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

// One run_parts call, living on the caller's stack while helpers take parts of it.
struct parallel_job {
    void (*invoke)(void* body, std::size_t part) = nullptr;
    void* body = nullptr;
    std::size_t parts = 0;
    std::atomic<std::size_t> next_part{0};
    std::atomic<std::size_t> helpers_inside{0};
    std::mutex failure_mutex;
    std::exception_ptr failure;
};

inline thread_local bool inside_parallel_part = false;

class thread_pool {
 public:
    static thread_pool& instance() {
        static thread_pool pool;
        return pool;
    }

    std::size_t threads() const { return threads_.load(std::memory_order_relaxed); }

    void resize(std::size_t threads) {
        threads = std::max<std::size_t>(threads, 1);
        std::lock_guard<std::mutex> resizing(run_mutex_);  // not while a loop runs
        if (threads == threads_.load(std::memory_order_relaxed)) {
            return;
        }
        stop_helpers();
        threads_.store(threads, std::memory_order_relaxed);
        start_helpers(threads - 1);
    }

    // false when another thread's loop holds the pool (the caller then runs serially)
    template <class Body>
    bool run(std::size_t parts, Body& body) {
        std::unique_lock<std::mutex> owning(run_mutex_, std::try_to_lock);
        if (!owning.owns_lock()) {
            return false;
        }
        parallel_job job;
        job.invoke = [](void* erased, std::size_t part) { (*static_cast<Body*>(erased))(part); };
        job.body = &body;
        job.parts = parts;
        bool sleepers = false;
        {
            std::lock_guard<std::mutex> publishing(mutex_);
            current_ = &job;
            generation_.fetch_add(1, std::memory_order_release);
            sleepers = sleeping_ > 0;
        }
        if (sleepers) {
            wake_.notify_all();
        }
        take_parts(job);
        {
            std::lock_guard<std::mutex> withdrawing(mutex_);
            current_ = nullptr;
        }
        // every part is taken; wait for those a helper is still running
        while (job.helpers_inside.load(std::memory_order_acquire) != 0) {
            spin_pause();
        }
        if (job.failure) {
            std::rethrow_exception(job.failure);
        }
        return true;
    }

    ~thread_pool() { stop_helpers(); }

 private:
    thread_pool() {
        // OpenBLAS's count as the default, then OpenBLAS itself on one thread (see the top)
        const std::size_t threads = static_cast<std::size_t>(std::max(1, openblas_get_num_threads()));
        openblas_set_num_threads(1);
        threads_.store(threads, std::memory_order_relaxed);
        start_helpers(threads - 1);
    }

    static void take_parts(parallel_job& job) {
        const bool was_inside = inside_parallel_part;
        inside_parallel_part = true;
        for (;;) {
            const std::size_t part = job.next_part.fetch_add(1, std::memory_order_relaxed);
            if (part >= job.parts) {
                break;
            }
            try {
                job.invoke(job.body, part);
            } catch (...) {
                std::lock_guard<std::mutex> recording(job.failure_mutex);
                if (!job.failure) {
                    job.failure = std::current_exception();
                }
            }
        }
        inside_parallel_part = was_inside;
    }

    // `seen`: the generation when the helper was started; a job published before the
    // thread first runs is still taken
    void helper_loop(std::uint64_t seen) {
        // Spin this long for the next job before sleeping: the loops of a training step
        // come microseconds apart, and waking a sleeping thread costs tens of microseconds.
        constexpr int spin_rounds = 20000;  // a fraction of a millisecond of pause instructions
        for (;;) {
            for (int round = 0; round < spin_rounds; ++round) {
                if (generation_.load(std::memory_order_acquire) != seen || stopping_.load()) {
                    break;
                }
                spin_pause();
            }
            parallel_job* job = nullptr;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                if (generation_.load(std::memory_order_relaxed) == seen && !stopping_.load()) {
                    ++sleeping_;
                    wake_.wait(lock,
                               [&] { return generation_.load(std::memory_order_relaxed) != seen || stopping_.load(); });
                    --sleeping_;
                }
                if (stopping_.load()) {
                    return;
                }
                seen = generation_.load(std::memory_order_relaxed);
                job = current_;
                if (job != nullptr) {
                    job->helpers_inside.fetch_add(1, std::memory_order_relaxed);
                }
            }
            if (job != nullptr) {
                take_parts(*job);
                job->helpers_inside.fetch_sub(1, std::memory_order_release);
            }
        }
    }

    // called where no job can be published (constructor, resize under run_mutex_)
    void start_helpers(std::size_t count) {
        stopping_.store(false);
        const std::uint64_t generation = generation_.load(std::memory_order_acquire);
        for (std::size_t i = 0; i < count; ++i) {
            helpers_.emplace_back([this, generation] { helper_loop(generation); });
        }
    }

    void stop_helpers() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_.store(true);
        }
        wake_.notify_all();
        for (auto& helper : helpers_) {
            helper.join();
        }
        helpers_.clear();
    }

    std::mutex run_mutex_;  // one loop at a time; loops of other threads run serially
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> threads_{1};
    parallel_job* current_ = nullptr;
    std::size_t sleeping_ = 0;
    std::vector<std::thread> helpers_;
};
}  // namespace detail

inline std::size_t thread_count() { return detail::thread_pool::instance().threads(); }

inline void set_thread_count(std::size_t threads) { detail::thread_pool::instance().resize(threads); }

template <class Body>
void run_parts(std::size_t parts, Body&& body) {
    if (parts == 0) {
        return;
    }
    auto& pool = detail::thread_pool::instance();
    if (parts > 1 && !detail::inside_parallel_part && pool.threads() > 1 && pool.run(parts, body)) {
        return;
    }
    for (std::size_t part = 0; part < parts; ++part) {
        body(part);
    }
}

template <class Body>
void run_cuts(std::size_t count, std::size_t granule, Body&& body) {
    granule = std::max<std::size_t>(granule, 1);
    const std::size_t granules = (count + granule - 1) / granule;
    const std::size_t parts = std::min(thread_count(), granules);
    if (parts < 2) {
        body(std::size_t{0}, count);
        return;
    }
    run_parts(parts, [&](std::size_t part) {
        const std::size_t begin = std::min(count, granules * part / parts * granule);
        const std::size_t end = std::min(count, granules * (part + 1) / parts * granule);
        if (begin < end) {
            body(begin, end);
        }
    });
}

template <class Body>
void run_ranges(std::size_t count, std::size_t passes, std::size_t granule, Body&& body) {
    if (count * std::max<std::size_t>(passes, 1) < parallel_pass_work) {
        body(std::size_t{0}, count);
        return;
    }
    run_cuts(count, granule, body);
}
}  // namespace fds::autodiff
