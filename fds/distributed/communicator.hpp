#pragma once
// The processes that share one data-parallel run, and the few collective operations FDS needs
// from them: a sum over ranks (the gradients, their tangents and the evaluation counts) and a
// broadcast from rank 0 (what rank 0 decided). Every rank must make the same calls in the same
// order. single_process() is the one-rank group every function uses unless told otherwise, so
// code written against it runs unchanged with or without MPI (mpi_communicator.hpp).
//
//   const fds::distributed::communicator& group = fds::distributed::single_process();
//   group.sum(gradient.data(), gradient.size());   // in place, on every rank

#include <cstddef>
#include <string>

namespace fds::distributed {

class communicator {
 public:
    virtual ~communicator() = default;

    virtual std::size_t rank() const = 0;
    virtual std::size_t size() const = 0;
    bool is_root() const { return rank() == 0; }

    // Replaces values[0..count) on every rank by their sum over all ranks.
    virtual void sum(float* values, std::size_t count) const = 0;
    virtual void sum(double* values, std::size_t count) const = 0;
    // Replaces values[0..count) (or the text) on every rank by rank 0's.
    virtual void broadcast(float* values, std::size_t count) const = 0;
    virtual void broadcast(double* values, std::size_t count) const = 0;
    virtual void broadcast(std::string& text) const = 0;
};

// One process: sums and broadcasts leave everything as it is.
class single_process_communicator final : public communicator {
 public:
    std::size_t rank() const override { return 0; }
    std::size_t size() const override { return 1; }
    void sum(float*, std::size_t) const override {}
    void sum(double*, std::size_t) const override {}
    void broadcast(float*, std::size_t) const override {}
    void broadcast(double*, std::size_t) const override {}
    void broadcast(std::string&) const override {}
};

inline const communicator& single_process() {
    static const single_process_communicator group;
    return group;
}

}  // namespace fds::distributed
