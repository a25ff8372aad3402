#include <fds/data/augmentation.hpp>

#include <fds/data/dataset.hpp>

#include <algorithm>
#include <stdexcept>

namespace fds::data {

augmentation augmentation_for(const std::string& dataset_name, bool cutout, std::size_t cutout_length,
                              double cutout_prob) {
    if (cutout && !(cutout_prob >= 0.0 && cutout_prob <= 1.0)) {
        throw std::invalid_argument("cutout_prob must lie in [0, 1], found " + std::to_string(cutout_prob));
    }
    const std::string name = canonical_dataset_name(dataset_name);
    augmentation settings;
    settings.random_crop_flip = name == "CIFAR10" || name == "CIFAR100";
    settings.cutout = cutout;
    settings.cutout_length = cutout_length;
    settings.cutout_prob = cutout_prob;
    return settings;
}

image_augmentation identity_augmentation(const augmentation& settings) {
    image_augmentation choice;
    choice.top = settings.crop_padding;
    choice.left = settings.crop_padding;
    return choice;
}

image_augmentation draw_image_augmentation(const augmentation& settings, std::size_t height, std::size_t width,
                                           autodiff::random_source& random) {
    image_augmentation choice = identity_augmentation(settings);
    if (settings.random_crop_flip) {
        choice.top = random.uniform_below(2 * settings.crop_padding + 1);
        choice.left = random.uniform_below(2 * settings.crop_padding + 1);
        choice.flip = random.bernoulli(0.5);
    }
    if (settings.cutout && random.bernoulli(settings.cutout_prob)) {
        const auto centre_row = static_cast<long long>(random.uniform_below(height));
        const auto centre_column = static_cast<long long>(random.uniform_below(width));
        const auto half = static_cast<long long>(settings.cutout_length / 2);
        const auto clip = [](long long value, std::size_t size) {
            return static_cast<std::size_t>(std::clamp(value, 0LL, static_cast<long long>(size)));
        };
        choice.hole_row_begin = clip(centre_row - half, height);
        choice.hole_row_end = clip(centre_row + half, height);
        choice.hole_column_begin = clip(centre_column - half, width);
        choice.hole_column_end = clip(centre_column + half, width);
    }
    return choice;
}

void write_augmented_image(const std::uint8_t* source, std::size_t channels, std::size_t height, std::size_t width,
                           const float* table, const augmentation& settings, const image_augmentation& choice,
                           float* destination) {
    // Signed offsets of the source pixel relative to the output pixel.
    const auto padding = static_cast<long long>(settings.crop_padding);
    const long long row_shift = static_cast<long long>(choice.top) - padding;
    const long long column_shift = static_cast<long long>(choice.left) - padding;
    const auto signed_height = static_cast<long long>(height);
    const auto signed_width = static_cast<long long>(width);
    const bool plain = row_shift == 0 && column_shift == 0 && !choice.flip;

    for (std::size_t channel = 0; channel < channels; ++channel) {
        const float* channel_table = table + channel * 256;
        const float padding_value = channel_table[0];
        const std::uint8_t* source_plane = source + channel * height * width;
        float* destination_plane = destination + channel * height * width;
        if (plain) {
            for (std::size_t pixel = 0; pixel < height * width; ++pixel) {
                destination_plane[pixel] = channel_table[source_plane[pixel]];
            }
            continue;
        }
        for (long long row = 0; row < signed_height; ++row) {
            float* destination_row = destination_plane + row * signed_width;
            const long long source_row = row + row_shift;
            if (source_row < 0 || source_row >= signed_height) {
                std::fill(destination_row, destination_row + width, padding_value);
                continue;
            }
            // Columns whose source lies inside the image: x + shift in [0, W) without flip,
            // W - 1 - x + shift in [0, W) with it; the rest is padding.
            const std::uint8_t* source_row_start = source_plane + source_row * signed_width;
            const long long inside_begin = std::clamp(choice.flip ? column_shift : -column_shift, 0LL, signed_width);
            const long long inside_end = std::clamp(
                choice.flip ? signed_width + column_shift : signed_width - column_shift, inside_begin, signed_width);
            std::fill(destination_row, destination_row + inside_begin, padding_value);
            if (choice.flip) {
                const long long mirror = signed_width - 1 + column_shift;
                for (long long column = inside_begin; column < inside_end; ++column) {
                    destination_row[column] = channel_table[source_row_start[mirror - column]];
                }
            } else {
                for (long long column = inside_begin; column < inside_end; ++column) {
                    destination_row[column] = channel_table[source_row_start[column + column_shift]];
                }
            }
            std::fill(destination_row + inside_end, destination_row + signed_width, padding_value);
        }
    }
    for (std::size_t channel = 0; channel < channels; ++channel) {
        float* destination_plane = destination + channel * height * width;
        for (std::size_t row = choice.hole_row_begin; row < choice.hole_row_end; ++row) {
            std::fill(destination_plane + row * width + choice.hole_column_begin,
                      destination_plane + row * width + choice.hole_column_end, 0.0f);
        }
    }
}

}  // namespace fds::data
