// The `fds` program: everything lives in the fds_cli library (commands.hpp); main only makes
// sure BLAS runs its fast kernels, joins the ranks of an mpirun launch (process_group.hpp) and
// dispatches: rank 0 runs the command, the other ranks serve it.

#include <fds/autodiff/runtime.hpp>
#include <fds/cli/collective_tasks.hpp>
#include <fds/cli/commands.hpp>
#include <fds/cli/process_group.hpp>

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    fds::autodiff::prepare_runtime(argc, argv);
    try {
        fds::cli::join_process_group(argc, argv);
    } catch (const std::exception& error) {
        std::cerr << "fds: error: " << error.what() << "\n";
        return 1;
    }
    int code = 0;
    if (fds::cli::process_group().is_root()) {
        code = fds::cli::run_command_line(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
        fds::cli::release_workers(code);
    } else {
        code = fds::cli::serve_as_worker(std::cerr);
    }
    fds::cli::leave_process_group();
    return code;
}
