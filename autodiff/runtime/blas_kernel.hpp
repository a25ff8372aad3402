// Getting the machine's real BLAS speed without the user knowing anything about it.
//
// Debian's OpenBLAS (DYNAMIC_ARCH) picks its kernels once, when the library loads, from the CPU it
// recognizes; on CPUs newer than the library it falls back to old generic kernels ("Prescott":
// SSE3, ~5x slower sgemm on an AVX-512 Xeon). The kernel can only be forced through the environment
// variable OPENBLAS_CORETYPE, read at load time. So ensure_fast_blas_kernel(), called first thing
// in main, checks the kernel in use; if the user did not set OPENBLAS_CORETYPE and the CPU supports
// a better kernel than the one loaded, it sets the variable and re-executes the program
// (/proc/self/exe, same arguments) once. Only kernels whose instructions the CPU reports are ever
// chosen (SkylakeX needs AVX-512 F/BW/DQ/VL, Haswell needs AVX2 + FMA); a CPU OpenBLAS already
// serves well ("Zen", "Haswell", "SkylakeX", ...) is left alone.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

#include <cblas.h>

#include <fds/autodiff/parallel.hpp>
#include <fds/autodiff/runtime/reexecution.hpp>

namespace fds::autodiff {
struct cpu_features {
    bool avx2 = false;
    bool fma = false;
    bool avx512f = false;
    bool avx512bw = false;
    bool avx512dq = false;
    bool avx512vl = false;
};

struct blas_kernel_info {
    std::string corename;  // what OpenBLAS uses now, e.g. "Zen", "Haswell", "Prescott"
    int threads = 0;  // the library's threads (parallel.hpp); OpenBLAS itself runs on one
    std::string config;  // openblas_get_config()
    std::string coretype_variable;  // OPENBLAS_CORETYPE as seen by this process ("" if unset)
    bool reexecuted = false;  // whether this process is a re-execution (reexecution.hpp)
};

// The features of the CPU this process runs on.
cpu_features detect_cpu_features();

// Pure decision: the OPENBLAS_CORETYPE to force for a CPU with `features` whose loaded OpenBLAS
// kernel is `corename`, or "" to keep it. Never returns a kernel the CPU cannot run.
std::string choose_blas_kernel(const cpu_features& features, const std::string& corename);

// The OPENBLAS_CORETYPE this process should start with, or nothing (FDS_KEEP_BLAS_KERNEL=1 or
// an OPENBLAS_CORETYPE set by the user also give nothing).
std::optional<environment_setting> blas_kernel_setting();

// Call first thing in main: may set OPENBLAS_CORETYPE and re-execute the program (at most
// once). runtime.hpp's prepare_runtime() re-executes once for this and the heap's huge pages.
void ensure_fast_blas_kernel(int argc, char** argv);

blas_kernel_info blas_kernel_report();

// ---------------------------------------------------------------- implementation

namespace detail {
// 3: AVX-512 kernels, 2: AVX2 + FMA kernels, 1: AVX without FMA3-class GEMM, 0: older.
inline int kernel_level(const std::string& corename) {
    static const char* const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    static const char* const avx2[] = {"Haswell", "Zen", "Zen2", "Zen3"};
    static const char* const avx[] = {"Sandybridge", "Bulldozer", "Piledriver", "Steamroller", "Excavator"};
    for (const char* name : avx512) {
        if (corename == name) {
            return 3;
        }
    }
    for (const char* name : avx2) {
        if (corename == name) {
            return 2;
        }
    }
    for (const char* name : avx) {
        if (corename == name) {
            return 1;
        }
    }
    return 0;
}
}  // namespace detail

inline cpu_features detect_cpu_features() {
    cpu_features features;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    features.avx2 = __builtin_cpu_supports("avx2");
    features.fma = __builtin_cpu_supports("fma");
    features.avx512f = __builtin_cpu_supports("avx512f");
    features.avx512bw = __builtin_cpu_supports("avx512bw");
    features.avx512dq = __builtin_cpu_supports("avx512dq");
    features.avx512vl = __builtin_cpu_supports("avx512vl");
#endif
    return features;
}

inline std::string choose_blas_kernel(const cpu_features& features, const std::string& corename) {
    std::string best;
    int best_level = 0;
    if (features.avx512f && features.avx512bw && features.avx512dq && features.avx512vl) {
        best = "SkylakeX";
        best_level = 3;
    } else if (features.avx2 && features.fma) {
        best = "Haswell";
        best_level = 2;
    }
    if (best.empty() || detail::kernel_level(corename) >= best_level) {
        return "";
    }
    return best;
}

inline std::optional<environment_setting> blas_kernel_setting() {
    if (detail::environment_is_set("OPENBLAS_CORETYPE") || detail::environment_equals("FDS_KEEP_BLAS_KERNEL", "1")) {
        return std::nullopt;
    }
    // Tests set FDS_BLAS_KERNEL_SIMULATE_LOADED to exercise the re-execution on a machine
    // whose OpenBLAS already picked a good kernel.
    const char* simulated = std::getenv("FDS_BLAS_KERNEL_SIMULATE_LOADED");
    const char* loaded =
        detail::environment_is_set("FDS_BLAS_KERNEL_SIMULATE_LOADED") ? simulated : openblas_get_corename();
    const std::string choice = choose_blas_kernel(detect_cpu_features(), loaded != nullptr ? loaded : "");
    if (choice.empty()) {
        return std::nullopt;
    }
    return environment_setting{"OPENBLAS_CORETYPE", choice};
}

inline void ensure_fast_blas_kernel(int argc, char** argv) {
    if (const auto setting = blas_kernel_setting()) {
        reexecute_with({*setting}, argc, argv);
    }
}

inline blas_kernel_info blas_kernel_report() {
    blas_kernel_info info;
    const char* name = openblas_get_corename();
    info.corename = name != nullptr ? name : "";
    info.threads = static_cast<int>(thread_count());
    const char* config = openblas_get_config();
    info.config = config != nullptr ? config : "";
    const char* variable = std::getenv("OPENBLAS_CORETYPE");
    info.coretype_variable = variable != nullptr ? variable : "";
    info.reexecuted = was_reexecuted();
    return info;
}
}  // namespace fds::autodiff
