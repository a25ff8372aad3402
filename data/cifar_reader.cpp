#include <fds/data/cifar_reader.hpp>

#include <fds/data/dataset_error.hpp>
#include <fds/data/file_bytes.hpp>

#include <algorithm>
#include <vector>

namespace fds::data {

namespace detail {

// label_bytes: bytes before the pixels; label_position: which of them is kept.
cifar_records read_cifar_records(const std::string& path, std::size_t label_bytes, std::size_t label_position,
                                 std::size_t classes, const std::string& format) {
    const std::vector<std::uint8_t> bytes = read_file_bytes(path);
    const std::size_t record_size = label_bytes + cifar_pixel_bytes;
    const std::size_t count = bytes.size() / record_size;
    const std::size_t left_over = bytes.size() % record_size;
    if (bytes.empty() || left_over != 0) {
        throw dataset_error(format + " file " + path + " is not a whole number of " + std::to_string(record_size) +
                            "-byte records: expected a positive " + "multiple of " + std::to_string(record_size) +
                            " bytes, found " + std::to_string(bytes.size()) + " bytes (" + std::to_string(count) +
                            " whole records and " + std::to_string(left_over) + " bytes of a partial record)");
    }
    cifar_records records{xt::xarray<std::uint8_t>::from_shape({count, cifar_channels, cifar_side, cifar_side}),
                          xt::xarray<int>::from_shape({count})};
    for (std::size_t record = 0; record < count; ++record) {
        const std::uint8_t* start = bytes.data() + record * record_size;
        const std::uint8_t label = start[label_position];
        if (label >= classes) {
            throw dataset_error(format + " file " + path + ": label of record " + std::to_string(record) +
                                " is out of range: expected 0.." + std::to_string(classes - 1) + ", found " +
                                std::to_string(int{label}));
        }
        records.labels(record) = label;
        std::copy(start + label_bytes, start + record_size, records.images.data() + record * cifar_pixel_bytes);
    }
    return records;
}

}  // namespace detail

cifar_records read_cifar10_file(const std::string& path) {
    return detail::read_cifar_records(path, 1, 0, 10, "CIFAR-10");
}

cifar_records read_cifar100_file(const std::string& path, cifar100_labels kind) {
    return kind == cifar100_labels::fine ? detail::read_cifar_records(path, 2, 1, 100, "CIFAR-100")
                                         : detail::read_cifar_records(path, 2, 0, 20, "CIFAR-100");
}

}  // namespace fds::data
