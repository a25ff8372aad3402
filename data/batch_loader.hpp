#pragma once
// Turning a dataset into normalized (and, for training, augmented) float batches.
//
//   auto split = make_validation_split(cifar.train_labels.size(), 0.05, false, seed);
//   batch_loader train(cifar, split_part::train, split.train, 128, /*shuffle*/ true,
//                      /*drop_last*/ true, augmentation_for("CIFAR10"), seed);
//   for (std::size_t b = 0; b < train.batches_per_epoch(); ++b) {
//       batch next = train.load(epoch, b);   // images [128, 3, 32, 32], labels [128]
//   }
//
// Batches are a pure function of (seed, epoch, batch index): the order of an epoch is a
// Fisher-Yates shuffle of the indices drawn from derive_seed(seed, order stream, epoch), and the
// augmentation of a batch is drawn from derive_seed(seed, augmentation stream, epoch, batch
// index), image after image. So batches can be loaded in any order, by several threads, and
// are identical on any machine. With drop_last the final partial batch of an epoch is skipped,
// as in the reference's loaders.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/data/augmentation.hpp>
#include <fds/data/dataset.hpp>
#include <fds/data/normalization.hpp>

namespace fds::data {

enum class split_part { train, test };

struct batch {
    xt::xarray<float> images;  // [B, C, H, W], normalized
    xt::xarray<int> labels;  // [B]
    std::vector<std::size_t> indices;  // which images of the split part, in batch order
};

class batch_loader {
 public:
    // `indices` select images of `part` (they may repeat). The dataset must outlive the loader.
    // Throws std::invalid_argument for batch_size 0 or an index past the end of the split part.
    batch_loader(const dataset& source, split_part part, std::vector<std::size_t> indices, std::size_t batch_size,
                 bool shuffle, bool drop_last, augmentation settings, std::uint64_t seed);

    std::size_t batches_per_epoch() const;
    std::size_t batch_size() const { return batch_size_; }
    std::size_t image_count() const { return indices_.size(); }

    // Throws std::out_of_range for batch_index >= batches_per_epoch().
    batch load(std::size_t epoch, std::size_t batch_index) const;

    // The images of one epoch in the order they are batched.
    std::vector<std::size_t> epoch_order(std::size_t epoch) const;

 private:
    struct order_cache {
        std::mutex mutex;
        bool filled = false;
        std::size_t epoch = 0;
        std::shared_ptr<const std::vector<std::size_t>> order;
    };

    std::shared_ptr<const std::vector<std::size_t>> cached_epoch_order(std::size_t epoch) const;

    const dataset* source_;
    split_part part_;
    std::vector<std::size_t> indices_;
    std::size_t batch_size_;
    bool shuffle_;
    bool drop_last_;
    augmentation settings_;
    std::uint64_t seed_;
    std::vector<float> table_;
    // Shuffling 50,000 indices costs about as much as assembling a batch, so the order of the
    // last epoch asked for is kept; shared so copies of a loader stay cheap.
    std::shared_ptr<order_cache> cache_;
};

}  // namespace fds::data
