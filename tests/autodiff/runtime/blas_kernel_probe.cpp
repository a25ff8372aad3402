// Runs ensure_fast_blas_kernel as a program's main would and checks what happened; used by the
// test autodiff_blas_kernel_reexecution with FDS_BLAS_KERNEL_SIMULATE_LOADED=Prescott, which makes
// the loaded kernel look generic so that the re-execution path runs on any machine.
//   blas_kernel_probe <marker argument>   exits 0 when the outcome is the expected one, 77 (skipped)
//   when this CPU has no better kernel than the generic one
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fds/autodiff/runtime/blas_kernel.hpp>

int main(int argc, char** argv) {
    fds::autodiff::ensure_fast_blas_kernel(argc, argv);
    const auto info = fds::autodiff::blas_kernel_report();
    const char* simulated = std::getenv("FDS_BLAS_KERNEL_SIMULATE_LOADED");
    const std::string expected = fds::autodiff::choose_blas_kernel(fds::autodiff::detect_cpu_features(),
                                                                   simulated != nullptr ? simulated : info.corename);
    std::printf("corename %s, threads %d, OPENBLAS_CORETYPE '%s', re-executed %s, expected kernel '%s'\n",
                info.corename.c_str(), info.threads, info.coretype_variable.c_str(), info.reexecuted ? "yes" : "no",
                expected.c_str());
    // The arguments survive the re-execution.
    if (argc != 2 || std::string(argv[1]) != "marker") {
        std::fprintf(stderr, "blas_kernel_probe: arguments lost\n");
        return 1;
    }
    const char* user_choice = std::getenv("OPENBLAS_CORETYPE");
    const char* keep = std::getenv("FDS_KEEP_BLAS_KERNEL");
    const bool left_alone = (!info.reexecuted && user_choice != nullptr && *user_choice != '\0') ||
                            (keep != nullptr && std::string(keep) == "1");
    if (left_alone) {
        // The user chose: no re-execution.
        return info.reexecuted ? 1 : 0;
    }
    if (expected.empty()) {
        // Nothing better for this CPU: there must be no re-execution, and the path under test
        // does not apply here.
        if (info.reexecuted) return 1;
        std::printf("no better kernel for this CPU: skipped\n");
        return 77;  // meson's code for a skipped test
    }
    // Re-executed once with the chosen kernel, which OpenBLAS then loaded.
    if (!info.reexecuted || info.coretype_variable != expected || info.corename != expected) {
        std::fprintf(stderr, "blas_kernel_probe: expected a re-execution with kernel %s\n", expected.c_str());
        return 1;
    }
    return 0;
}
