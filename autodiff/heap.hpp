// Keeping freed memory for reuse between training steps.
//
// A training step allocates the same large temporaries every time (values and tangent blocks of
// tens to hundreds of MB) and frees them. By default glibc serves blocks above its mmap threshold
// (at most 32 MiB) with fresh mmap pages and gives a freed heap top back to the system, so every
// step pays page faults and kernel zero-filling for memory it just released: a LeNet dual step
// with K = 9 at batch 256 went from 0.41 s to 0.32 s without them, and a WRN-16-1 tangent block
// is 170 MB. reuse_freed_memory() serves every block from the heap (no mmap; glibc still falls
// back to mmap when the heap cannot grow) and keeps up to 1 GiB of freed heap, so a step reuses
// what the previous step freed. Peak memory is unchanged: the same blocks are live at the peak.
//
// prepare_runtime() (runtime.hpp) calls it; FDS_DEFAULT_MALLOC=1 leaves the allocator alone. Other C
// libraries have no such knobs and are left alone too.
#pragma once

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace fds::autodiff
{
    // Tunes the allocator as above; returns whether it did (false off glibc or when disabled).
    bool reuse_freed_memory();

    // ---------------------------------------------------------------- implementation

    namespace detail
    {
        inline constexpr int kept_free_heap = 1024 * 1024 * 1024;
    }

    inline bool reuse_freed_memory()
    {
        const char* disabled = std::getenv("FDS_DEFAULT_MALLOC");
        if (disabled != nullptr && std::strcmp(disabled, "1") == 0)
        {
            return false;
        }
#if defined(__GLIBC__)
        // M_MMAP_MAX = 0: no block is mmapped by choice. Setting the trim threshold also stops
        // glibc's own adjustment of it.
        return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, detail::kept_free_heap) == 1;
#else
        return false;
#endif
    }
}
