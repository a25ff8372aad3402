#pragma once
// Holding a validation set out of the training images, as the reference does with
// val_source='train':
//   validation = floor(val_train_fraction * N) distinct training indices drawn uniformly;
//   train      = the other indices, or all N when val_train_overlap is asked for.
// FDS re-draws the split for every outer step, so the seed given here is typically derived from
// the run's seed and the outer step (derive_seed in data/random.hpp).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fds::data {

struct validation_split {
    std::vector<std::size_t> train;  // ascending
    std::vector<std::size_t> validation;  // ascending
};

// Throws std::invalid_argument unless 0 <= val_train_fraction <= 1.
validation_split make_validation_split(std::size_t train_count, double val_train_fraction, bool val_train_overlap,
                                       std::uint64_t seed);

}  // namespace fds::data
