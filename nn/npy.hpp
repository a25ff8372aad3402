// Save and load tensors as NumPy .npy files (format version 1.0), so weights move between this
// library and PyTorch/NumPy: np.load("theta.npy") reads what save_npy writes and vice versa.
//
// File layout: "\x93NUMPY", major 1, minor 0, uint16 little-endian header length, then an ASCII
// Python dict {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded with spaces and
// ended by '\n' so that the data starts at a multiple of 64 bytes, then the raw little-endian data.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>

namespace fds::nn {

// NumPy type string of T: "<f4" float, "<f8" double, "<i4" std::int32_t, "<i8" std::int64_t, "|u1" std::uint8_t.
template <class T>
std::string npy_descriptor();

// Writes `array` (C order) to `path`; throws std::runtime_error naming the path when it cannot.
template <class T>
void save_npy(const std::string& path, const xt::xarray<T>& array);

// Reads a C-order .npy file whose element type is exactly T (no silent conversion); throws
// std::runtime_error naming the path and the expected and found type or shape otherwise.
template <class T>
xt::xarray<T> load_npy(const std::string& path);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

namespace detail {

inline bool little_endian_host() {
    const std::uint16_t probe = 1;
    unsigned char first = 0;
    std::memcpy(&first, &probe, 1);
    return first == 1;
}

// Finds the value text following 'key': in the header dict, up to the next top-level comma.
inline std::string npy_header_value(const std::string& header, const std::string& key, const std::string& path) {
    const std::string quoted = "'" + key + "'";
    const auto position = header.find(quoted);
    if (position == std::string::npos) {
        throw std::runtime_error("npy: " + path + ": header has no key " + quoted + ": " + header);
    }
    auto colon = header.find(':', position + quoted.size());
    if (colon == std::string::npos) {
        throw std::runtime_error("npy: " + path + ": malformed header: " + header);
    }
    std::size_t start = colon + 1;
    while (start < header.size() && header[start] == ' ') ++start;
    std::size_t end = start;
    int depth = 0;
    while (end < header.size()) {
        const char c = header[end];
        if (c == '(') ++depth;
        if (c == ')') --depth;
        if ((c == ',' || c == '}') && depth == 0) break;
        ++end;
    }
    return header.substr(start, end - start);
}

inline std::vector<std::size_t> npy_parse_shape(const std::string& text, const std::string& path) {
    if (text.size() < 2 || text.front() != '(' || text.back() != ')') {
        throw std::runtime_error("npy: " + path + ": expected a shape tuple, found " + text);
    }
    std::vector<std::size_t> shape;
    std::string digits;
    for (std::size_t i = 1; i < text.size(); ++i) {
        const char c = text[i];
        if (c >= '0' && c <= '9') {
            digits += c;
        } else if (c == ',' || c == ')') {
            if (!digits.empty()) shape.push_back(static_cast<std::size_t>(std::stoull(digits)));
            digits.clear();
        } else if (c != ' ') {
            throw std::runtime_error("npy: " + path + ": unexpected character in shape " + text);
        }
    }
    return shape;
}

}  // namespace detail

template <class T>
std::string npy_descriptor() {
    if constexpr (std::is_same_v<T, float>) {
        return "<f4";
    } else if constexpr (std::is_same_v<T, double>) {
        return "<f8";
    } else if constexpr (std::is_same_v<T, std::int32_t>) {
        return "<i4";
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        return "<i8";
    } else if constexpr (std::is_same_v<T, std::uint8_t>) {
        return "|u1";
    } else {
        static_assert(sizeof(T) == 0, "npy: unsupported element type");
    }
}

template <class T>
void save_npy(const std::string& path, const xt::xarray<T>& array) {
    if (!detail::little_endian_host()) {
        throw std::runtime_error("npy: " + path + ": big-endian hosts are not supported");
    }
    std::ostringstream dict;
    dict << "{'descr': '" << npy_descriptor<T>() << "', 'fortran_order': False, 'shape': (";
    for (std::size_t i = 0; i < array.dimension(); ++i) {
        dict << array.shape()[i];
        if (array.dimension() == 1 || i + 1 < array.dimension()) dict << ",";
        if (i + 1 < array.dimension()) dict << " ";
    }
    dict << "), }";
    std::string header = dict.str();
    // magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64
    const std::size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';

    std::ofstream stream(path, std::ios::binary);
    if (!stream) throw std::runtime_error("npy: cannot open " + path + " for writing");
    const char magic[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
    stream.write(magic, 8);
    const auto length = static_cast<std::uint16_t>(header.size());
    const char length_bytes[2] = {static_cast<char>(length & 0xff), static_cast<char>(length >> 8)};
    stream.write(length_bytes, 2);
    stream.write(header.data(), static_cast<std::streamsize>(header.size()));
    // xt::xarray is row-major and contiguous, so its buffer is the C-order data
    stream.write(reinterpret_cast<const char*>(array.data()), static_cast<std::streamsize>(array.size() * sizeof(T)));
    if (!stream) throw std::runtime_error("npy: failed writing " + path);
}

template <class T>
xt::xarray<T> load_npy(const std::string& path) {
    if (!detail::little_endian_host()) {
        throw std::runtime_error("npy: " + path + ": big-endian hosts are not supported");
    }
    std::ifstream stream(path, std::ios::binary);
    if (!stream) throw std::runtime_error("npy: cannot open " + path);
    char magic[8];
    stream.read(magic, 8);
    if (!stream || std::memcmp(magic, "\x93NUMPY", 6) != 0) {
        throw std::runtime_error("npy: " + path + " is not a .npy file (bad magic string)");
    }
    const int major = static_cast<unsigned char>(magic[6]);
    std::size_t header_length = 0;
    if (major == 1) {
        unsigned char bytes[2];
        stream.read(reinterpret_cast<char*>(bytes), 2);
        header_length = bytes[0] | (static_cast<std::size_t>(bytes[1]) << 8);
    } else if (major == 2 || major == 3) {
        unsigned char bytes[4];
        stream.read(reinterpret_cast<char*>(bytes), 4);
        header_length = bytes[0] | (static_cast<std::size_t>(bytes[1]) << 8) |
                        (static_cast<std::size_t>(bytes[2]) << 16) | (static_cast<std::size_t>(bytes[3]) << 24);
    } else {
        throw std::runtime_error("npy: " + path + ": unsupported format version " + std::to_string(major));
    }
    std::string header(header_length, ' ');
    stream.read(header.data(), static_cast<std::streamsize>(header_length));
    if (!stream) throw std::runtime_error("npy: " + path + ": truncated header");

    std::string descriptor = detail::npy_header_value(header, "descr", path);
    if (descriptor.size() >= 2) descriptor = descriptor.substr(1, descriptor.size() - 2);
    // one-byte types may be written with '|' or '<'
    std::string expected = npy_descriptor<T>();
    const bool matches = descriptor == expected ||
                         (sizeof(T) == 1 && descriptor.size() == 3 && descriptor.substr(1) == expected.substr(1));
    if (!matches) {
        throw std::runtime_error("npy: " + path + ": expected element type " + expected + ", found " + descriptor);
    }
    if (detail::npy_header_value(header, "fortran_order", path) != "False") {
        throw std::runtime_error("npy: " + path + ": expected C order, found fortran_order True");
    }
    const auto shape = detail::npy_parse_shape(detail::npy_header_value(header, "shape", path), path);
    xt::xarray<T> array = xt::xarray<T>::from_shape(shape);
    stream.read(reinterpret_cast<char*>(array.data()), static_cast<std::streamsize>(array.size() * sizeof(T)));
    if (!stream) {
        throw std::runtime_error("npy: " + path + ": expected " + std::to_string(array.size()) + " elements of " +
                                 expected + ", file is shorter");
    }
    return array;
}

}  // namespace fds::nn
