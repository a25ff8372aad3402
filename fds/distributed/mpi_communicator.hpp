#pragma once
// The communicator of the processes mpirun started (MPI_COMM_WORLD), on Open MPI. Only the
// thread that created it may call it (MPI_THREAD_FUNNELED): the library's worker threads compute
// and never communicate.
//
//   if (fds::distributed::launched_by_mpirun()) {
//       fds::distributed::mpi_communicator world(argc, argv);   // MPI_Init_thread ... MPI_Finalize
//       trainer.distribute_over(world);
//   }

#include <fds/distributed/communicator.hpp>

namespace fds::distributed {

// True when the environment says this process is one rank of an mpirun (or srun) launch.
bool launched_by_mpirun();

class mpi_communicator final : public communicator {
 public:
    // Initializes MPI; throws std::runtime_error when MPI cannot give the thread level needed.
    mpi_communicator(int& argc, char**& argv);
    ~mpi_communicator() override;
    mpi_communicator(const mpi_communicator&) = delete;
    mpi_communicator& operator=(const mpi_communicator&) = delete;

    std::size_t rank() const override { return rank_; }
    std::size_t size() const override { return size_; }
    void sum(float* values, std::size_t count) const override;
    void sum(double* values, std::size_t count) const override;
    void broadcast(float* values, std::size_t count) const override;
    void broadcast(double* values, std::size_t count) const override;
    void broadcast(std::string& text) const override;

    // Ends every rank of the job with `code` (MPI_Abort): what a rank does when it cannot go on,
    // so that the others do not wait for it forever.
    [[noreturn]] void abort(int code) const;

 private:
    std::size_t rank_ = 0, size_ = 1;
};

}  // namespace fds::distributed
