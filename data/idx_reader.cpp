#include <fds/data/idx_reader.hpp>

#include <fds/data/dataset_error.hpp>
#include <fds/data/file_bytes.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <sstream>
#include <vector>

namespace fds::data {

namespace detail {

std::uint32_t read_big_endian_32(const std::uint8_t* bytes) {
    return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) | (std::uint32_t{bytes[2]} << 8) |
           std::uint32_t{bytes[3]};
}

std::string hex_32(std::uint32_t value) {
    std::ostringstream text;
    text << "0x";
    text.width(8);
    text.fill('0');
    text << std::hex << value;
    return text.str();
}

// Checks magic and total length; returns the sizes from the header.
std::vector<std::size_t> read_idx_header(const std::vector<std::uint8_t>& bytes, const std::string& path,
                                         std::uint32_t magic, const std::string& what) {
    const std::size_t dimensions = magic & 0xFF;
    const std::size_t header_size = 4 + 4 * dimensions;
    if (bytes.size() < 4) {
        throw dataset_error("IDX file " + path + " is too short for its 4-byte magic number: " + "expected at least " +
                            std::to_string(header_size) + " bytes, found " + std::to_string(bytes.size()));
    }
    const std::uint32_t found_magic = read_big_endian_32(bytes.data());
    if (found_magic != magic) {
        throw dataset_error("IDX file " + path + " has the wrong magic number for " + what + ": expected " +
                            hex_32(magic) + ", found " + hex_32(found_magic) +
                            (bytes.size() >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
                                 ? " (it looks gzipped but did not inflate)"
                                 : ""));
    }
    if (bytes.size() < header_size) {
        throw dataset_error("IDX file " + path + " is truncated inside its header: expected " +
                            std::to_string(header_size) + " header bytes, found " + std::to_string(bytes.size()));
    }
    std::vector<std::size_t> sizes(dimensions);
    std::size_t values = 1;
    for (std::size_t dimension = 0; dimension < dimensions; ++dimension) {
        sizes[dimension] = read_big_endian_32(bytes.data() + 4 + 4 * dimension);
        // an empty dimension would make any other size fit the file's length, however absurd
        if (sizes[dimension] == 0) {
            throw dataset_error("IDX file " + path + " announces no " + what + ": dimension " +
                                std::to_string(dimension + 1) + " of its header is 0");
        }
        // Saturate instead of wrapping, so a corrupt header can never match the file length.
        const bool overflows = values > std::numeric_limits<std::size_t>::max() / 2 / sizes[dimension];
        values = overflows ? std::numeric_limits<std::size_t>::max() / 2 : values * sizes[dimension];
    }
    if (bytes.size() != header_size + values) {
        std::string shape;
        for (std::size_t dimension = 0; dimension < dimensions; ++dimension) {
            shape += (dimension == 0 ? "" : " x ") + std::to_string(sizes[dimension]);
        }
        throw dataset_error("IDX file " + path + " has the wrong size for the " + shape + " " + what +
                            " its header announces: expected " + std::to_string(header_size + values) +
                            " bytes, found " + std::to_string(bytes.size()) +
                            (bytes.size() < header_size + values ? " (truncated)" : ""));
    }
    return sizes;
}

}  // namespace detail

xt::xarray<std::uint8_t> read_idx_images(const std::string& path) {
    const std::vector<std::uint8_t> bytes = read_file_bytes(path);
    const std::vector<std::size_t> sizes = detail::read_idx_header(bytes, path, idx_images_magic, "images");
    xt::xarray<std::uint8_t> images =
        xt::xarray<std::uint8_t>::from_shape({sizes[0], std::size_t{1}, sizes[1], sizes[2]});
    std::copy(bytes.begin() + 16, bytes.end(), images.data());
    return images;
}

xt::xarray<int> read_idx_labels(const std::string& path, std::size_t classes) {
    const std::vector<std::uint8_t> bytes = read_file_bytes(path);
    const std::vector<std::size_t> sizes = detail::read_idx_header(bytes, path, idx_labels_magic, "labels");
    xt::xarray<int> labels = xt::xarray<int>::from_shape({sizes[0]});
    for (std::size_t index = 0; index < sizes[0]; ++index) {
        const std::uint8_t label = bytes[8 + index];
        if (label >= classes) {
            throw dataset_error("IDX file " + path + ": label of record " + std::to_string(index) +
                                " is out of range: expected 0.." + std::to_string(classes - 1) + ", found " +
                                std::to_string(int{label}));
        }
        labels(index) = label;
    }
    return labels;
}

}  // namespace fds::data
