#include "process_group.hpp"

#include <cstdlib>
#include <memory>

#ifdef FDS_WITH_MPI
#include <fds/distributed/mpi_communicator.hpp>
#endif

namespace fds::cli {

namespace {
#ifdef FDS_WITH_MPI
std::unique_ptr<distributed::mpi_communicator> world;
#endif
}  // namespace

void join_process_group(int& argc, char**& argv) {
#ifdef FDS_WITH_MPI
    if (distributed::launched_by_mpirun()) world = std::make_unique<distributed::mpi_communicator>(argc, argv);
#else
    (void)argc;
    (void)argv;
#endif
}

void leave_process_group() {
#ifdef FDS_WITH_MPI
    world.reset();
#endif
}

const distributed::communicator& process_group() {
#ifdef FDS_WITH_MPI
    if (world) return *world;
#endif
    return distributed::single_process();
}

void abort_process_group(int code) {
#ifdef FDS_WITH_MPI
    if (world) world->abort(code);
#endif
    std::_Exit(code);
}

}  // namespace fds::cli
