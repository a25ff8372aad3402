#pragma once
// MNIST / Fashion-MNIST IDX files, plain or gzipped.
//
// Layout (big-endian): two zero bytes, a type byte (0x08 = unsigned byte), the number of
// dimensions d, then d 32-bit sizes, then the values row-major. Images: magic 0x00000803, sizes
// (count, rows, columns). Labels: magic 0x00000801, size (count). The file length must equal
// 4 + 4 d + product of the sizes exactly; anything else is reported, never read past.

#include <cstddef>
#include <cstdint>
#include <string>

#include <xtensor/xarray.hpp>

namespace fds::data {

constexpr std::uint32_t idx_images_magic = 0x00000803;
constexpr std::uint32_t idx_labels_magic = 0x00000801;

// Images as [count, 1, rows, columns] raw bytes.
xt::xarray<std::uint8_t> read_idx_images(const std::string& path);

// Labels as [count]; each must be below `classes`.
xt::xarray<int> read_idx_labels(const std::string& path, std::size_t classes);

}  // namespace fds::data
