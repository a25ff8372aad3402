#pragma once
// Test helper: the first images of the real Fashion-MNIST (Debian package) written as IDX files
// into a directory, so that command-line tests run on real data in seconds
// (`--dataset FashionMNIST --datasets_path DIR`).

#include <fds/data/dataset.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace fds::cli::testing {

inline void write_big_endian(std::ofstream& file, std::uint32_t value) {
    unsigned char bytes[4] = {static_cast<unsigned char>(value >> 24), static_cast<unsigned char>(value >> 16),
                              static_cast<unsigned char>(value >> 8), static_cast<unsigned char>(value)};
    file.write(reinterpret_cast<const char*>(bytes), 4);
}

inline void write_idx_pair(const std::filesystem::path& directory, const std::string& prefix,
                           const xt::xarray<std::uint8_t>& images, const xt::xarray<int>& labels, std::size_t count) {
    const std::size_t rows = images.shape()[2], columns = images.shape()[3];
    std::ofstream image_file(directory / (prefix + "-images-idx3-ubyte"), std::ios::binary);
    write_big_endian(image_file, 0x00000803);
    write_big_endian(image_file, static_cast<std::uint32_t>(count));
    write_big_endian(image_file, static_cast<std::uint32_t>(rows));
    write_big_endian(image_file, static_cast<std::uint32_t>(columns));
    image_file.write(reinterpret_cast<const char*>(images.data()),
                     static_cast<std::streamsize>(count * rows * columns));
    std::ofstream label_file(directory / (prefix + "-labels-idx1-ubyte"), std::ios::binary);
    write_big_endian(label_file, 0x00000801);
    write_big_endian(label_file, static_cast<std::uint32_t>(count));
    for (std::size_t i = 0; i < count; ++i) label_file.put(static_cast<char>(labels(i)));
}

// Writes the first `train_count` training and `test_count` test images; returns the directory.
inline std::filesystem::path write_fashion_mnist_subset(const std::filesystem::path& directory, std::size_t train_count,
                                                        std::size_t test_count) {
    static const data::dataset full = data::load_dataset("FashionMNIST", "");
    std::filesystem::create_directories(directory);
    write_idx_pair(directory, "train", full.train_images, full.train_labels, train_count);
    write_idx_pair(directory, "t10k", full.test_images, full.test_labels, test_count);
    return directory;
}

}  // namespace fds::cli::testing
