#pragma once
// Training-time augmentation as in the reference (torchvision transforms):
//   CIFAR: RandomCrop(32, padding=4) then RandomHorizontalFlip(p=0.5), on the raw image;
//   optional Cutout(length, prob) after normalization, for any dataset.
// Validation and test images are never augmented.
//
// Random crop with zero padding p, then flip: for an H x W image and offsets top, left in [0, 2p],
//   out(c, y, x) = in(c, y + top - p, x' + left - p),  x' = flip ? W - 1 - x : x,
// where `in` is 0 outside the image (black padding, as torchvision pads the raw image with 0).
// Cutout (DeVries & Taylor 2017, the reference's version): with probability prob, a centre
// (cy, cx) uniform over the image, and the rows [cy - length/2, cy + length/2) and columns
// [cx - length/2, cx + length/2), clipped to the image, set to 0 in every channel after
// normalization.

#include <cstddef>
#include <cstdint>
#include <string>

#include <fds/autodiff/random.hpp>

namespace fds::data {

struct augmentation {
    bool random_crop_flip = false;
    bool cutout = false;
    std::size_t cutout_length = 16;
    double cutout_prob = 1.0;
    std::size_t crop_padding = 4;
};

// Crop and flip for CIFAR10 / CIFAR100, none for MNIST-type; cutout as asked, for any dataset.
augmentation augmentation_for(const std::string& dataset_name, bool cutout = false, std::size_t cutout_length = 16,
                              double cutout_prob = 1.0);

// The random choices made for one image. The identity is top = left = padding, no flip, empty hole.
struct image_augmentation {
    std::size_t top = 0;  // crop offset in the padded image, 0..2 padding
    std::size_t left = 0;
    bool flip = false;
    std::size_t hole_row_begin = 0, hole_row_end = 0;  // cutout rectangle, empty if begin == end
    std::size_t hole_column_begin = 0, hole_column_end = 0;
};

// Draws, in this order: top, left, flip (if random_crop_flip), then the cutout coin and centre
// row and column (if cutout).
image_augmentation draw_image_augmentation(const augmentation& settings, std::size_t height, std::size_t width,
                                           autodiff::random_source& random);

image_augmentation identity_augmentation(const augmentation& settings);

// Writes one [channels, height, width] image, augmented and normalized, to `destination`.
// `table` is normalization_table(...) of the dataset.
void write_augmented_image(const std::uint8_t* source, std::size_t channels, std::size_t height, std::size_t width,
                           const float* table, const augmentation& settings, const image_augmentation& choice,
                           float* destination);

}  // namespace fds::data
