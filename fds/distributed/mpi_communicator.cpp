#include <fds/distributed/mpi_communicator.hpp>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <mpi.h>

namespace fds::distributed {

namespace {

// MPI counts are ints: larger buffers go in pieces.
constexpr std::size_t largest_piece = INT_MAX / 2;

void check(int status, const char* operation) {
    if (status == MPI_SUCCESS) return;
    char message[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(status, message, &length);
    throw std::runtime_error(std::string("MPI: ") + operation + " failed: " + std::string(message, length));
}

template <class Scalar>
void sum_in_pieces(Scalar* values, std::size_t count, MPI_Datatype type) {
    for (std::size_t start = 0; start < count; start += largest_piece) {
        const int piece = static_cast<int>(std::min(largest_piece, count - start));
        check(MPI_Allreduce(MPI_IN_PLACE, values + start, piece, type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    }
}

template <class Scalar>
void broadcast_in_pieces(Scalar* values, std::size_t count, MPI_Datatype type) {
    for (std::size_t start = 0; start < count; start += largest_piece) {
        const int piece = static_cast<int>(std::min(largest_piece, count - start));
        check(MPI_Bcast(values + start, piece, type, 0, MPI_COMM_WORLD), "MPI_Bcast");
    }
}

}  // namespace

bool launched_by_mpirun() {
    for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
        if (std::getenv(variable)) return true;
    return false;
}

mpi_communicator::mpi_communicator(int& argc, char**& argv) {
    int provided = 0;
    check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    if (provided < MPI_THREAD_FUNNELED) {
        MPI_Finalize();
        throw std::runtime_error("MPI: the library gives thread level " + std::to_string(provided) +
                                 ", fds needs MPI_THREAD_FUNNELED");
    }
    // errors come back as codes (thrown by check) instead of aborting inside the call
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    rank_ = static_cast<std::size_t>(rank);
    size_ = static_cast<std::size_t>(size);
}

mpi_communicator::~mpi_communicator() { MPI_Finalize(); }

void mpi_communicator::sum(float* values, std::size_t count) const { sum_in_pieces(values, count, MPI_FLOAT); }
void mpi_communicator::sum(double* values, std::size_t count) const { sum_in_pieces(values, count, MPI_DOUBLE); }
void mpi_communicator::broadcast(float* values, std::size_t count) const {
    broadcast_in_pieces(values, count, MPI_FLOAT);
}
void mpi_communicator::broadcast(double* values, std::size_t count) const {
    broadcast_in_pieces(values, count, MPI_DOUBLE);
}

void mpi_communicator::broadcast(std::string& text) const {
    unsigned long long length = text.size();
    check(MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast");
    text.resize(static_cast<std::size_t>(length));
    broadcast_in_pieces(text.data(), text.size(), MPI_CHAR);
}

void mpi_communicator::abort(int code) const {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
}

}  // namespace fds::distributed
