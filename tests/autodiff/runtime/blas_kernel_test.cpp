#define BOOST_TEST_MODULE autodiff_blas_kernel
#include <boost/test/unit_test.hpp>

#include <fds/autodiff/runtime/blas_kernel.hpp>

using namespace fds::autodiff;

namespace {
cpu_features sse_only() { return {}; }
cpu_features avx2_fma() { return {true, true, false, false, false, false}; }
cpu_features avx512() { return {true, true, true, true, true, true}; }
}  // namespace

BOOST_AUTO_TEST_CASE(generic_kernel_on_avx512_cpu_is_replaced_by_skylakex) {
    BOOST_TEST(choose_blas_kernel(avx512(), "Prescott") == "SkylakeX");
    BOOST_TEST(choose_blas_kernel(avx512(), "Core2") == "SkylakeX");
    BOOST_TEST(choose_blas_kernel(avx512(), "Haswell") == "SkylakeX");
    BOOST_TEST(choose_blas_kernel(avx512(), "Sandybridge") == "SkylakeX");
}

BOOST_AUTO_TEST_CASE(generic_kernel_on_avx2_cpu_is_replaced_by_haswell) {
    BOOST_TEST(choose_blas_kernel(avx2_fma(), "Prescott") == "Haswell");
    BOOST_TEST(choose_blas_kernel(avx2_fma(), "Nehalem") == "Haswell");
    BOOST_TEST(choose_blas_kernel(avx2_fma(), "") == "Haswell");
}

BOOST_AUTO_TEST_CASE(good_kernels_are_kept) {
    BOOST_TEST(choose_blas_kernel(avx2_fma(), "Zen") == "");
    BOOST_TEST(choose_blas_kernel(avx2_fma(), "Haswell") == "");
    BOOST_TEST(choose_blas_kernel(avx512(), "SkylakeX") == "");
    BOOST_TEST(choose_blas_kernel(avx512(), "Cooperlake") == "");
    BOOST_TEST(choose_blas_kernel(avx512(), "SapphireRapids") == "");
}

BOOST_AUTO_TEST_CASE(never_chooses_a_kernel_the_cpu_cannot_run) {
    // AVX-512 kernels need all four of F, BW, DQ, VL; Haswell needs AVX2 and FMA.
    cpu_features partial = avx512();
    partial.avx512bw = false;
    BOOST_TEST(choose_blas_kernel(partial, "Prescott") == "Haswell");
    cpu_features no_fma = avx2_fma();
    no_fma.fma = false;
    BOOST_TEST(choose_blas_kernel(no_fma, "Prescott") == "");
    BOOST_TEST(choose_blas_kernel(sse_only(), "Prescott") == "");
    // On an AVX2-only CPU (this project's AMD EPYC) even a "SkylakeX" request is never produced.
    for (const char* name : {"Prescott", "Zen", "Haswell", "Atom", "SkylakeX"}) {
        BOOST_TEST(choose_blas_kernel(avx2_fma(), name) != "SkylakeX");
    }
}

BOOST_AUTO_TEST_CASE(report_names_the_loaded_kernel_and_thread_count) {
    const blas_kernel_info info = blas_kernel_report();
    BOOST_TEST(!info.corename.empty());
    BOOST_TEST(info.threads >= 1);
    BOOST_TEST(info.config.find("OpenBLAS") != std::string::npos);
}
