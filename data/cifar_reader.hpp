#pragma once
// CIFAR-10 and CIFAR-100 binary files.
//
// Each record is its label byte(s) then 3072 pixel bytes: the 1024 red, 1024 green and 1024 blue
// values of a 32x32 image, each plane row-major. CIFAR-10 has one label byte (0..9); CIFAR-100 has
// a coarse (0..19) then a fine (0..99) label byte. A file holds any whole number of records
// (the official batches hold 10,000); a partial record is reported, never read.

#include <cstddef>
#include <cstdint>
#include <string>

#include <xtensor/xarray.hpp>

namespace fds::data {

constexpr std::size_t cifar_channels = 3;
constexpr std::size_t cifar_side = 32;
constexpr std::size_t cifar_pixel_bytes = cifar_channels * cifar_side * cifar_side;

enum class cifar100_labels { fine, coarse };

struct cifar_records {
    xt::xarray<std::uint8_t> images;  // [count, 3, 32, 32]
    xt::xarray<int> labels;  // [count]
};

// One CIFAR-10 file (data_batch_k.bin or test_batch.bin).
cifar_records read_cifar10_file(const std::string& path);

// One CIFAR-100 file (train.bin or test.bin), keeping the fine (default) or coarse labels.
cifar_records read_cifar100_file(const std::string& path, cifar100_labels kind = cifar100_labels::fine);

}  // namespace fds::data
