#pragma once
// Per-channel normalization with the reference's constants (polo5/FDS utils/datasets.py):
//   x = (pixel / 255 - mean[c]) / standard_deviation[c]
// CIFAR-10  mean (0.4914, 0.4822, 0.4465), std (0.2023, 0.1994, 0.2010)
// CIFAR-100 mean (0.5071, 0.4867, 0.4408), std (0.2675, 0.2565, 0.2761)
// MNIST and Fashion-MNIST (the reference uses MNIST's values for both): mean 0.1307, std 0.3081.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fds::data {

struct normalization {
    std::vector<float> mean;  // one per channel
    std::vector<float> standard_deviation;  // one per channel
};

// Throws dataset_error for a name that is not one of the four datasets.
normalization normalization_for(const std::string& dataset_name);

// The normalized value of one raw byte of channel `channel`.
float normalize_pixel(const normalization& constants, std::size_t channel, std::uint8_t pixel);

// normalize_pixel for every channel and byte value, as [channel * 256 + byte]: batch assembly
// then costs one table look-up per pixel.
std::vector<float> normalization_table(const normalization& constants);

}  // namespace fds::data
