#include <fds/data/validation_split.hpp>

#include <fds/autodiff/random.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace fds::data {

namespace detail {
constexpr std::uint64_t validation_stream = 0x76616C6964617465ULL;  // "validate"
}  // namespace detail

validation_split make_validation_split(std::size_t train_count, double val_train_fraction, bool val_train_overlap,
                                       std::uint64_t seed) {
    if (!(val_train_fraction >= 0.0 && val_train_fraction <= 1.0)) {
        throw std::invalid_argument("val_train_fraction must lie in [0, 1], found " +
                                    std::to_string(val_train_fraction));
    }
    // int(fraction * N) in the reference: truncation toward zero.
    const auto validation_count = std::min<std::size_t>(
        train_count, static_cast<std::size_t>(std::floor(val_train_fraction * static_cast<double>(train_count))));
    autodiff::random_source random(autodiff::derive_seed(seed, detail::validation_stream));

    validation_split split;
    split.validation = autodiff::sample_without_replacement(train_count, validation_count, random);
    std::sort(split.validation.begin(), split.validation.end());

    std::vector<bool> held_out(train_count, false);
    if (!val_train_overlap) {
        for (std::size_t index : split.validation) {
            held_out[index] = true;
        }
    }
    split.train.reserve(train_count - (val_train_overlap ? 0 : validation_count));
    for (std::size_t index = 0; index < train_count; ++index) {
        if (!held_out[index]) {
            split.train.push_back(index);
        }
    }
    return split;
}

}  // namespace fds::data
