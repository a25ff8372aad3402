#define BOOST_TEST_MODULE autodiff_heap
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <sys/resource.h>

#include <fds/autodiff/runtime/heap.hpp>

#include "../address_sanitizer.hpp"

namespace {
long minor_page_faults() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

// One "training step": three 40 MiB temporaries written through, then freed. Returns the
// page faults it caused. 40 MiB is above glibc's largest mmap threshold (32 MiB), as the
// tangent blocks of a dual WRN-16-1 step are.
long step_page_faults() {
    constexpr std::size_t bytes = 40u << 20;
    const long before = minor_page_faults();
    std::vector<std::unique_ptr<char[]>> temporaries;
    for (int i = 0; i < 3; ++i) {
        temporaries.emplace_back(new char[bytes]);
        volatile char* data = temporaries.back().get();
        for (std::size_t byte = 0; byte < bytes; byte += 4096) {
            data[byte] = 1;
        }
    }
    temporaries.clear();
    return minor_page_faults() - before;
}
}  // namespace

#if defined(__GLIBC__)
static boost::test_tools::assertion_result glibc_malloc_in_use(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result result(!FDS_UNDER_ADDRESS_SANITIZER);
    result.message() << "skipped: AddressSanitizer replaces glibc's malloc";
    return result;
}

BOOST_AUTO_TEST_CASE(after_reuse_freed_memory_a_repeated_step_causes_no_new_page_faults,
                     *boost::unit_test::precondition(glibc_malloc_in_use)) {
    BOOST_TEST(fds::autodiff::reuse_freed_memory());
    const long first = step_page_faults();
    step_page_faults();
    const long third = step_page_faults();
    // 120 MiB is 30720 pages of 4 KiB: the first step faults them in, later steps reuse them
    // (by default glibc mmaps each block and unmaps it on free, and the faults recur).
    BOOST_TEST(first >= 25000);
    BOOST_TEST(third <= 200);
}
#endif

BOOST_AUTO_TEST_CASE(fds_default_malloc_leaves_the_allocator_alone) {
    setenv("FDS_DEFAULT_MALLOC", "1", 1);
    BOOST_TEST(!fds::autodiff::reuse_freed_memory());
    unsetenv("FDS_DEFAULT_MALLOC");
}

BOOST_AUTO_TEST_CASE(huge_pages_are_asked_for_only_where_the_kernel_waits_to_be_asked) {
    using fds::autodiff::choose_heap_tunables;
    const std::string madvise = "always [madvise] never";
    BOOST_TEST(choose_heap_tunables(madvise, "2.36", nullptr) == "glibc.malloc.hugetlb=1");
    BOOST_TEST(choose_heap_tunables(madvise, "2.35", "") == "glibc.malloc.hugetlb=1");
    // every page may be huge already, or none may be
    BOOST_TEST(choose_heap_tunables("[always] madvise never", "2.36", nullptr) == "");
    BOOST_TEST(choose_heap_tunables("always madvise [never]", "2.36", nullptr) == "");
    BOOST_TEST(choose_heap_tunables("", "2.36", nullptr) == "");  // no sysfs file
    // glibc before 2.35 has no such tunable (and rejects none: it would simply be ignored)
    BOOST_TEST(choose_heap_tunables(madvise, "2.34", nullptr) == "");
    BOOST_TEST(choose_heap_tunables(madvise, "1.99", nullptr) == "");
    BOOST_TEST(choose_heap_tunables(madvise, "3.0", nullptr) == "glibc.malloc.hugetlb=1");
    BOOST_TEST(choose_heap_tunables(madvise, "unknown", nullptr) == "");
    // the user's tunables are kept, and their own choice of this one wins
    BOOST_TEST(choose_heap_tunables(madvise, "2.36", "glibc.malloc.arena_max=2") ==
               "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
    BOOST_TEST(choose_heap_tunables(madvise, "2.36", "glibc.malloc.hugetlb=0") == "");
}

BOOST_AUTO_TEST_CASE(fds_default_malloc_also_leaves_the_page_size_alone) {
    setenv("FDS_DEFAULT_MALLOC", "1", 1);
    BOOST_TEST(!fds::autodiff::huge_page_setting().has_value());
    unsetenv("FDS_DEFAULT_MALLOC");
}
