#pragma once
// Small in-memory datasets for the fds tests.

#include <algorithm>
#include <cstdint>
#include <fds/autodiff/random.hpp>
#include <fds/data/dataset.hpp>

namespace fds::testing {

// side x side one-channel images, 3 classes, labels from a fixed linear rule of the pixels so
// that training makes progress; raw bytes from the portable random_source.
inline data::dataset synthetic_dataset(std::size_t train_count, std::size_t test_count, std::uint64_t seed,
                                       std::size_t side = 4) {
    autodiff::random_source random(seed);
    const std::size_t pixels = side * side;
    auto fill = [&](std::size_t count, xt::xarray<std::uint8_t>& images, xt::xarray<int>& labels) {
        images = xt::xarray<std::uint8_t>::from_shape({count, std::size_t{1}, side, side});
        labels = xt::xarray<int>::from_shape({count});
        for (std::size_t i = 0; i < count; ++i) {
            long score[3] = {0, 0, 0};
            for (std::size_t p = 0; p < pixels; ++p) {
                const auto byte = static_cast<std::uint8_t>(random.bits() >> 56);
                images.data()[i * pixels + p] = byte;
                score[p % 3] += byte;
            }
            labels(i) = static_cast<int>(std::max_element(score, score + 3) - score);
        }
    };
    data::dataset result;
    result.name = "MNIST";  // its normalization constants; the images are synthetic
    result.classes = 3;
    result.class_names = {"a", "b", "c"};
    fill(train_count, result.train_images, result.train_labels);
    fill(test_count, result.test_images, result.test_labels);
    return result;
}

// The first train_count / test_count images of a dataset.
inline data::dataset first_images(const data::dataset& source, std::size_t train_count, std::size_t test_count) {
    data::dataset result = source;
    auto head = [](const auto& array, std::size_t count) {
        auto shape = array.shape();
        const std::size_t per_item = array.size() / shape[0];
        shape[0] = count;
        std::decay_t<decltype(array)> part = std::decay_t<decltype(array)>::from_shape(shape);
        std::copy_n(array.data(), count * per_item, part.data());
        return part;
    };
    result.train_images = head(source.train_images, train_count);
    result.train_labels = head(source.train_labels, train_count);
    result.test_images = head(source.test_images, test_count);
    result.test_labels = head(source.test_labels, test_count);
    return result;
}

}  // namespace fds::testing
