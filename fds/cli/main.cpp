// The `fds` program: everything lives in the fds_cli library (commands.hpp); main only makes
// sure BLAS runs its fast kernels and dispatches.

#include <fds/autodiff/runtime.hpp>
#include <fds/cli/commands.hpp>

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    fds::autodiff::prepare_runtime(argc, argv);
    return fds::cli::run_command_line(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}
