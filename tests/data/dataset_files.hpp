#pragma once
// Helpers for the data tests: the message of an expected dataset_error, a temporary directory, and
// small dataset files in every supported format written byte by byte from the format
// specifications (not through the readers under test).

#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <fds/data/dataset_error.hpp>

namespace fds::data::testing {

// The message of the dataset_error that `action` throws, or "no error".
inline std::string message_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const dataset_error& error) {
        return error.what();
    }
    return "no error";
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

using bytes = std::vector<std::uint8_t>;

// A fresh directory under the system's temporary directory, removed with everything in it.
class temporary_directory {
 public:
    temporary_directory() {
        static std::atomic<int> counter{0};
        const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
        path_ = std::filesystem::temp_directory_path() / ("fds_data_test_" + std::to_string(::getpid()) + "_" +
                                                          std::to_string(stamp) + "_" + std::to_string(counter++));
        std::filesystem::create_directories(path_);
    }
    ~temporary_directory() {
        std::error_code error;
        std::filesystem::remove_all(path_, error);
    }
    temporary_directory(const temporary_directory&) = delete;
    temporary_directory& operator=(const temporary_directory&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
    std::filesystem::path path_;
};

inline void write_plain(const std::string& path, const bytes& content) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream file(path, std::ios::binary);
    file.write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
    if (!file) throw std::runtime_error("test helper could not write " + path);
}

inline void write_gzip(const std::string& path, const bytes& content) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    gzFile file = gzopen(path.c_str(), "wb");
    if (file == nullptr) throw std::runtime_error("test helper could not open " + path);
    if (!content.empty()) {
        gzwrite(file, content.data(), static_cast<unsigned>(content.size()));
    }
    gzclose(file);
}

inline bytes read_plain(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    return bytes(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

// A pixel value that differs between neighbouring records, channels, rows and columns.
inline std::uint8_t test_pixel(std::size_t record, std::size_t channel, std::size_t row, std::size_t column) {
    return static_cast<std::uint8_t>((record * 37 + channel * 101 + row * 13 + column * 3 + 1) % 256);
}

inline void append_big_endian_32(bytes& out, std::uint32_t value) {
    out.push_back(static_cast<std::uint8_t>(value >> 24));
    out.push_back(static_cast<std::uint8_t>(value >> 16));
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
}

// IDX images: magic 0x00000803, count, rows, columns, then the pixels row-major.
inline bytes idx_images(std::size_t count, std::size_t rows, std::size_t columns) {
    bytes out;
    append_big_endian_32(out, 0x00000803);
    append_big_endian_32(out, static_cast<std::uint32_t>(count));
    append_big_endian_32(out, static_cast<std::uint32_t>(rows));
    append_big_endian_32(out, static_cast<std::uint32_t>(columns));
    for (std::size_t record = 0; record < count; ++record)
        for (std::size_t row = 0; row < rows; ++row)
            for (std::size_t column = 0; column < columns; ++column) out.push_back(test_pixel(record, 0, row, column));
    return out;
}

// IDX labels: magic 0x00000801, count, then one byte per label.
inline bytes idx_labels(const std::vector<int>& labels) {
    bytes out;
    append_big_endian_32(out, 0x00000801);
    append_big_endian_32(out, static_cast<std::uint32_t>(labels.size()));
    for (int label : labels) out.push_back(static_cast<std::uint8_t>(label));
    return out;
}

// CIFAR records: the label bytes, then the 32x32 red, green and blue planes.
inline bytes cifar_file(const std::vector<std::vector<int>>& record_labels, std::size_t first_record = 0) {
    bytes out;
    for (std::size_t record = 0; record < record_labels.size(); ++record) {
        for (int label : record_labels[record]) out.push_back(static_cast<std::uint8_t>(label));
        for (std::size_t channel = 0; channel < 3; ++channel)
            for (std::size_t row = 0; row < 32; ++row)
                for (std::size_t column = 0; column < 32; ++column)
                    out.push_back(test_pixel(first_record + record, channel, row, column));
    }
    return out;
}

inline std::vector<int> cycling_labels(std::size_t count, int classes, int offset = 0) {
    std::vector<int> labels(count);
    for (std::size_t index = 0; index < count; ++index)
        labels[index] =
            static_cast<int>((index + static_cast<std::size_t>(offset)) % static_cast<std::size_t>(classes));
    return labels;
}

inline std::vector<std::vector<int>> one_label_each(const std::vector<int>& labels) {
    std::vector<std::vector<int>> out;
    for (int label : labels) out.push_back({label});
    return out;
}

// Writes the four MNIST-layout files (train: train_count images, test: test_count) into folder.
inline void write_idx_dataset(const std::filesystem::path& folder, std::size_t train_count, std::size_t test_count,
                              bool gzip, std::size_t side = 28) {
    const auto write = gzip ? write_gzip : write_plain;
    const std::string suffix = gzip ? ".gz" : "";
    write((folder / ("train-images-idx3-ubyte" + suffix)).string(), idx_images(train_count, side, side));
    write((folder / ("train-labels-idx1-ubyte" + suffix)).string(), idx_labels(cycling_labels(train_count, 10)));
    write((folder / ("t10k-images-idx3-ubyte" + suffix)).string(), idx_images(test_count, side, side));
    write((folder / ("t10k-labels-idx1-ubyte" + suffix)).string(), idx_labels(cycling_labels(test_count, 10, 3)));
}

}  // namespace fds::data::testing
