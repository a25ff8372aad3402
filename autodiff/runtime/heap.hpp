// Keeping freed memory for reuse between training steps.
//
// A training step allocates the same large temporaries every time (values and tangent blocks of
// tens to hundreds of MB) and frees them. By default glibc serves blocks above its mmap threshold
// (at most 32 MiB) with fresh mmap pages and gives a freed heap top back to the system, so every
// step pays page faults and kernel zero-filling for memory it just released (a large share of a
// LeNet dual step; docs/performance.md). reuse_freed_memory() serves every block from the heap (no mmap; glibc still falls
// back to mmap when the heap cannot grow) and keeps up to 1 GiB of freed heap, so a step reuses
// what the previous step freed. Peak memory is unchanged: the same blocks are live at the peak.
//
// Huge pages for that heap. A step streams through its activations in short runs (batch norm
// reads one plane per sample, 256 B to 4 KB, each on its own 4 KB page), so with small pages the
// TLB and the hardware prefetchers, which stop at page edges, start cold on every run. Where the
// kernel gives transparent huge pages only to memory that asks for them (sysfs mode "madvise",
// Debian's default), glibc >= 2.35 asks for its heap when the process starts with
// GLIBC_TUNABLES=glibc.malloc.hugetlb=1, which made the CNN's dual step, batch norm most of all,
// faster. huge_page_setting() is that variable (added to tunables the user set);
// prepare_runtime() re-executes the program with it (reexecution.hpp).
//
// prepare_runtime() (runtime.hpp) calls both; FDS_DEFAULT_MALLOC=1 leaves the allocator alone. Other
// C libraries have no such knobs and are left alone too.
#pragma once

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#include <malloc.h>
#endif

#include <fds/autodiff/runtime/reexecution.hpp>

namespace fds::autodiff {
// Tunes the allocator as above; returns whether it did (false off glibc or when disabled).
bool reuse_freed_memory();

// Pure decision: the GLIBC_TUNABLES value that gives the heap huge pages, from the kernel's
// mode (the text of /sys/kernel/mm/transparent_hugepage/enabled, e.g. "always [madvise]
// never"), the running glibc's version ("2.36") and the GLIBC_TUNABLES already set (nullptr:
// unset); "" when nothing is to change: the mode is "always" (every page may be huge already)
// or "never", glibc predates the tunable, or the user chose glibc.malloc.hugetlb.
std::string choose_heap_tunables(const std::string& huge_page_mode, const std::string& glibc_version,
                                 const char* tunables);

// The kernel's transparent huge page mode, the text of
// /sys/kernel/mm/transparent_hugepage/enabled ("" where it cannot be read).
std::string transparent_huge_page_mode();

// The GLIBC_TUNABLES this process should start with, or nothing (also off glibc and with
// FDS_DEFAULT_MALLOC=1).
std::optional<environment_setting> huge_page_setting();

// ---------------------------------------------------------------- implementation

namespace detail {
inline constexpr int kept_free_heap = 1024 * 1024 * 1024;
inline constexpr const char* huge_page_tunable = "glibc.malloc.hugetlb";

inline bool default_malloc_requested() { return environment_equals("FDS_DEFAULT_MALLOC", "1"); }
}  // namespace detail

inline bool reuse_freed_memory() {
    if (detail::default_malloc_requested()) {
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

inline std::string choose_heap_tunables(const std::string& huge_page_mode, const std::string& glibc_version,
                                        const char* tunables) {
    if (huge_page_mode.find("[madvise]") == std::string::npos) {
        return "";
    }
    // glibc.malloc.hugetlb arrived in glibc 2.35
    int major = 0, minor = 0;
    char dot = 0;
    std::istringstream version(glibc_version);
    if (!(version >> major >> dot >> minor) || dot != '.' || major < 2 || (major == 2 && minor < 35)) {
        return "";
    }
    const std::string wanted = std::string(detail::huge_page_tunable) + "=1";
    if (tunables == nullptr || *tunables == '\0') {
        return wanted;
    }
    if (std::string(tunables).find(detail::huge_page_tunable) != std::string::npos) {
        return "";
    }
    return std::string(tunables) + ":" + wanted;
}

inline std::string transparent_huge_page_mode() {
    std::ifstream file("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string mode;
    std::getline(file, mode);
    return mode;
}

inline std::optional<environment_setting> huge_page_setting() {
#if defined(__GLIBC__)
    if (detail::default_malloc_requested()) {
        return std::nullopt;
    }
    const std::string tunables =
        choose_heap_tunables(transparent_huge_page_mode(), gnu_get_libc_version(), std::getenv("GLIBC_TUNABLES"));
    if (!tunables.empty()) {
        return environment_setting{"GLIBC_TUNABLES", tunables};
    }
#endif
    return std::nullopt;
}
}  // namespace fds::autodiff
