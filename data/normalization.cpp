#include <fds/data/normalization.hpp>

#include <fds/data/dataset.hpp>

namespace fds::data {

normalization normalization_for(const std::string& dataset_name) {
    const std::string name = canonical_dataset_name(dataset_name);
    if (name == "CIFAR10") {
        return {{0.4914f, 0.4822f, 0.4465f}, {0.2023f, 0.1994f, 0.2010f}};
    }
    if (name == "CIFAR100") {
        return {{0.5071f, 0.4867f, 0.4408f}, {0.2675f, 0.2565f, 0.2761f}};
    }
    return {{0.1307f}, {0.3081f}};
}

float normalize_pixel(const normalization& constants, std::size_t channel, std::uint8_t pixel) {
    return (static_cast<float>(pixel) / 255.0f - constants.mean[channel]) / constants.standard_deviation[channel];
}

std::vector<float> normalization_table(const normalization& constants) {
    std::vector<float> table(constants.mean.size() * 256);
    for (std::size_t channel = 0; channel < constants.mean.size(); ++channel) {
        for (std::size_t byte = 0; byte < 256; ++byte) {
            table[channel * 256 + byte] = normalize_pixel(constants, channel, static_cast<std::uint8_t>(byte));
        }
    }
    return table;
}

}  // namespace fds::data
