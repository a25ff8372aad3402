#pragma once
// Data parallelism over the ranks of a communicator (distributed/communicator.hpp), as PyTorch's
// DistributedDataParallel: every rank holds the whole model and the same weights, takes its own
// contiguous shard of every training batch and computes the gradient of its shard; the gradients
// are summed, each weighted by its shard's share of the batch, so every rank takes the same step
// as one process on the whole batch (up to the order of the float sums). On dual weights the
// values and the live tangent rows, a contiguous [1 + L, P] block, travel in one sum per step.
//
// BatchNorm uses the statistics of each rank's shard, as DistributedDataParallel does; before an
// evaluation in evaluation mode every rank takes rank 0's running statistics, as its
// broadcast_buffers does. Evaluations and the validation gradient split a loader's batches over
// the ranks (batch b on rank b mod N), so their batch statistics are those of one process.
//
// With a one-rank group every function here is the plain call it wraps, bit for bit.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/dual_tensor.hpp>
#include <fds/data/batch_loader.hpp>
#include <fds/distributed/communicator.hpp>
#include <fds/nn/network.hpp>

namespace fds {

// The rows [begin, end) of a batch of batch_size samples that rank `rank` of `ranks` trains on.
struct batch_shard {
    std::size_t begin = 0, end = 0;
};
batch_shard shard_of(std::size_t batch_size, std::size_t rank, std::size_t ranks);

// network.loss_and_gradient on this rank's shard, summed over the group: the mean loss and the
// gradient (Tensor plain or dual, tangents included) and the correct count of the whole batch, on
// every rank. Throws
// std::invalid_argument when the batch has fewer samples than the group has ranks.
template <class Scalar, class Tensor>
nn::training_result<Tensor> data_parallel_loss_and_gradient(nn::network<Scalar>& network, const Tensor& parameters,
                                                            const xt::xarray<Scalar>& images,
                                                            const xt::xarray<int>& labels,
                                                            const distributed::communicator& group);

// Makes every rank's BatchNorm running statistics rank 0's.
template <class Scalar>
void share_root_buffers(nn::network<Scalar>& network, const distributed::communicator& group);

// Throws std::runtime_error on the ranks whose `values` differ from rank 0's (compared by a hash
// of their bytes): the check that every rank still trains the same weights.
template <class Scalar>
void check_same_on_every_rank(const xt::xarray<Scalar>& values, const distributed::communicator& group,
                              const std::string& what);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline batch_shard shard_of(std::size_t batch_size, std::size_t rank, std::size_t ranks) {
    return {batch_size * rank / ranks, batch_size * (rank + 1) / ranks};
}

namespace detail {

template <class Value>
xt::xarray<Value> leading_rows(const xt::xarray<Value>& batch, const batch_shard& shard) {
    auto shape = batch.shape();
    const std::size_t row = batch.size() / std::max<std::size_t>(shape[0], 1);
    shape[0] = shard.end - shard.begin;
    xt::xarray<Value> rows = xt::xarray<Value>::from_shape(shape);
    std::copy_n(batch.data() + shard.begin * row, rows.size(), rows.data());
    return rows;
}

}  // namespace detail

template <class Scalar, class Tensor>
nn::training_result<Tensor> data_parallel_loss_and_gradient(nn::network<Scalar>& network, const Tensor& parameters,
                                                            const xt::xarray<Scalar>& images,
                                                            const xt::xarray<int>& labels,
                                                            const distributed::communicator& group) {
    if (group.size() == 1) return network.loss_and_gradient(parameters, images, labels);
    const std::size_t batch_size = labels.size();
    if (batch_size < group.size())
        throw std::invalid_argument("data parallelism: a batch of " + std::to_string(batch_size) +
                                    " samples cannot be shared by " + std::to_string(group.size()) + " ranks");
    const batch_shard shard = shard_of(batch_size, group.rank(), group.size());
    nn::training_result<Tensor> result =
        network.loss_and_gradient(parameters, detail::leading_rows(images, shard), detail::leading_rows(labels, shard));
    const auto share = static_cast<Scalar>(shard.end - shard.begin) / static_cast<Scalar>(batch_size);

    // one buffer: the values and live tangent rows of the gradient and of the loss, then the
    // correct count
    std::vector<std::pair<Scalar*, std::size_t>> pieces;
    if constexpr (std::is_same_v<Tensor, xt::xarray<Scalar>>) {
        pieces = {{result.gradient.data(), result.gradient.size()}, {result.loss.data(), 1}};
    } else {
        result.gradient.grow_live_tangents(parameters.live_tangents());
        result.loss.grow_live_tangents(parameters.live_tangents());
        for (Tensor* shared : {&result.gradient, &result.loss}) {
            pieces.push_back({shared->mutable_value().data(), shared->size()});
            pieces.push_back({shared->mutable_live_tangent_block().data(), shared->live_tangent_block().size()});
        }
    }
    std::size_t total = 1;
    for (const auto& piece : pieces) total += piece.second;
    std::vector<Scalar> buffer;
    buffer.reserve(total);
    for (const auto& [values, count] : pieces)
        for (std::size_t i = 0; i < count; ++i) buffer.push_back(share * values[i]);
    buffer.push_back(static_cast<Scalar>(result.correct));

    group.sum(buffer.data(), buffer.size());

    auto cursor = buffer.begin();
    for (const auto& [values, count] : pieces) {
        std::copy_n(cursor, count, values);
        cursor += static_cast<std::ptrdiff_t>(count);
    }
    result.correct = static_cast<std::size_t>(*cursor);
    return result;
}

template <class Scalar>
void share_root_buffers(nn::network<Scalar>& network, const distributed::communicator& group) {
    if (group.size() > 1 && network.buffers().size() > 0)
        group.broadcast(network.buffers().data(), network.buffers().size());
}

template <class Scalar>
void check_same_on_every_rank(const xt::xarray<Scalar>& values, const distributed::communicator& group,
                              const std::string& what) {
    if (group.size() == 1) return;
    // FNV-1a over the bytes
    std::uint64_t hash = 1469598103934665603ull;
    const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
    for (std::size_t i = 0; i < values.size() * sizeof(Scalar); ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
    const std::string mine = std::to_string(hash);
    std::string root = mine;
    group.broadcast(root);
    if (root != mine)
        throw std::runtime_error("data parallelism: rank " + std::to_string(group.rank()) + "'s " + what +
                                 " differ from rank 0's: the ranks no longer train the same model");
}

}  // namespace fds
