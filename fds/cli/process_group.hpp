#pragma once
// The ranks this fds process runs with. Built with MPI (the mpi option) and started by mpirun,
// the program is one rank of MPI_COMM_WORLD: rank 0 runs the command as one process would (it
// alone reads and writes the run directory and prints progress), and the other ranks are
// workers that join it for each collective task (collective_tasks.hpp). Otherwise the group is
// the one process and nothing changes.

#include <fds/distributed/communicator.hpp>

namespace fds::cli {

// Called by main once, first; throws std::runtime_error when MPI cannot be started.
void join_process_group(int& argc, char**& argv);
// Finalizes MPI (no-op for one process).
void leave_process_group();
const distributed::communicator& process_group();
// Ends every rank at once (MPI_Abort), for a rank that cannot go on; exits for one process.
[[noreturn]] void abort_process_group(int code);

}  // namespace fds::cli
