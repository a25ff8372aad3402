// Runs prepare_runtime as a program's main would and checks the heap's huge pages end to end: where
// choose_heap_tunables asks for them (transparent huge pages in "madvise" mode, glibc >= 2.35), the
// program re-executed itself with glibc.malloc.hugetlb=1 and a heap block it writes is backed by
// huge pages (AnonHugePages in /proc/self/smaps_rollup). Used by autodiff_runtime_huge_pages.
//   runtime_probe <marker argument>   exits 0 when the outcome is the expected one
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <fds/autodiff/runtime.hpp>

#include "address_sanitizer.hpp"

namespace {
// kB of this process's anonymous memory in transparent huge pages, -1 if unreadable
long anonymous_huge_kilobytes() {
    std::ifstream file("/proc/self/smaps_rollup");
    std::string key;
    long kilobytes = 0;
    while (file >> key) {
        if (key == "AnonHugePages:" && file >> kilobytes) {
            return kilobytes;
        }
    }
    return -1;
}
}  // namespace

int main(int argc, char** argv) {
    if (FDS_UNDER_ADDRESS_SANITIZER) {
        std::printf("AddressSanitizer replaces glibc's malloc: skipped\n");
        return 77;  // meson's code for a skipped test
    }
    fds::autodiff::prepare_runtime(argc, argv);
    if (argc != 2 || std::string(argv[1]) != "marker") {
        std::fprintf(stderr, "runtime_probe: arguments lost\n");
        return 1;
    }
#if defined(__GLIBC__)
    const std::string mode = fds::autodiff::transparent_huge_page_mode();
    const std::string wanted = fds::autodiff::choose_heap_tunables(mode, gnu_get_libc_version(), nullptr);
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    std::printf("huge page mode '%s', glibc %s, GLIBC_TUNABLES '%s', re-executed %s\n", mode.c_str(),
                gnu_get_libc_version(), tunables != nullptr ? tunables : "",
                fds::autodiff::was_reexecuted() ? "yes" : "no");
    if (wanted.empty()) {
        std::printf("huge pages for the heap do not apply here: skipped\n");
        return 77;  // meson's code for a skipped test
    }
    if (!fds::autodiff::was_reexecuted() || tunables == nullptr ||
        std::strstr(tunables, "glibc.malloc.hugetlb=1") == nullptr) {
        std::fprintf(stderr, "runtime_probe: expected a re-execution with glibc.malloc.hugetlb=1\n");
        return 1;
    }
    // 64 MiB from the heap (prepare_runtime turned mmapped blocks off), every page written
    constexpr std::size_t bytes = 64u << 20;
    char* block = static_cast<char*>(std::malloc(bytes));
    std::memset(block, 1, bytes);
    const long huge = anonymous_huge_kilobytes();
    std::printf("after writing 64 MiB of heap: AnonHugePages %ld kB\n", huge);
    std::free(block);
    if (huge < 2048) {
        std::fprintf(stderr, "runtime_probe: the heap got no huge pages\n");
        return 1;
    }
#endif
    return 0;
}
