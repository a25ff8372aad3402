#define BOOST_TEST_MODULE data_cifar_reader
#include <boost/test/unit_test.hpp>

#include <fds/data/cifar_reader.hpp>
#include <fds/data/dataset_error.hpp>

#include "dataset_files.hpp"

#include <functional>

using namespace fds::data;
using namespace fds::data::testing;

namespace {
void check_pixels(const xt::xarray<std::uint8_t>& images, std::size_t count) {
    BOOST_TEST(images.dimension() == 4u);
    BOOST_TEST(images.shape()[0] == count);
    BOOST_TEST(images.shape()[1] == 3u);
    BOOST_TEST(images.shape()[2] == 32u);
    BOOST_TEST(images.shape()[3] == 32u);
    for (std::size_t record = 0; record < count; ++record)
        for (std::size_t channel = 0; channel < 3; ++channel)
            for (std::size_t row = 0; row < 32; ++row)
                for (std::size_t column = 0; column < 32; ++column)
                    BOOST_REQUIRE(images(record, channel, row, column) == test_pixel(record, channel, row, column));
}
}  // namespace

BOOST_AUTO_TEST_CASE(cifar10_records_give_red_green_blue_planes_and_labels) {
    temporary_directory directory;
    const std::vector<int> labels = {6, 9, 9, 4, 1, 0, 2};
    write_plain(directory.file("data_batch_1.bin"), cifar_file(one_label_each(labels)));
    const cifar_records records = read_cifar10_file(directory.file("data_batch_1.bin"));
    check_pixels(records.images, labels.size());
    for (std::size_t index = 0; index < labels.size(); ++index) BOOST_TEST(records.labels(index) == labels[index]);
}

BOOST_AUTO_TEST_CASE(first_pixel_bytes_land_in_the_expected_places) {
    // Record: label 7, then red plane 0..1023 mod 256, green all 200, blue all 50.
    bytes record = {7};
    for (int pixel = 0; pixel < 1024; ++pixel) record.push_back(static_cast<std::uint8_t>(pixel % 256));
    for (int pixel = 0; pixel < 1024; ++pixel) record.push_back(200);
    for (int pixel = 0; pixel < 1024; ++pixel) record.push_back(50);
    temporary_directory directory;
    write_plain(directory.file("one.bin"), record);
    const cifar_records records = read_cifar10_file(directory.file("one.bin"));
    BOOST_TEST(records.labels(0) == 7);
    BOOST_TEST(int{records.images(0, 0, 0, 5)} == 5);
    BOOST_TEST(int{records.images(0, 0, 1, 0)} == 32);  // row 1 starts at byte 32 of the plane
    BOOST_TEST(int{records.images(0, 0, 8, 3)} == (8 * 32 + 3) % 256);
    BOOST_TEST(int{records.images(0, 1, 31, 31)} == 200);
    BOOST_TEST(int{records.images(0, 2, 0, 0)} == 50);
}

BOOST_AUTO_TEST_CASE(gzipped_cifar10_file_is_read_the_same) {
    temporary_directory directory;
    write_gzip(directory.file("test_batch.bin.gz"), cifar_file(one_label_each({1, 2, 3})));
    const cifar_records records = read_cifar10_file(directory.file("test_batch.bin.gz"));
    check_pixels(records.images, 3);
    BOOST_TEST(records.labels(2) == 3);
}

BOOST_AUTO_TEST_CASE(cifar100_keeps_fine_labels_by_default_and_coarse_on_request) {
    temporary_directory directory;
    write_plain(directory.file("train.bin"), cifar_file({{3, 99}, {19, 0}, {0, 57}}));
    const cifar_records fine = read_cifar100_file(directory.file("train.bin"));
    const cifar_records coarse = read_cifar100_file(directory.file("train.bin"), cifar100_labels::coarse);
    check_pixels(fine.images, 3);
    check_pixels(coarse.images, 3);
    BOOST_TEST(fine.labels(0) == 99);
    BOOST_TEST(fine.labels(1) == 0);
    BOOST_TEST(fine.labels(2) == 57);
    BOOST_TEST(coarse.labels(0) == 3);
    BOOST_TEST(coarse.labels(1) == 19);
    BOOST_TEST(coarse.labels(2) == 0);
}

BOOST_AUTO_TEST_CASE(partial_record_is_rejected_with_sizes) {
    temporary_directory directory;
    bytes content = cifar_file(one_label_each({1, 2}));
    content.resize(3073 + 1000);
    write_plain(directory.file("cut.bin"), content);
    const std::string message = message_of([&] { read_cifar10_file(directory.file("cut.bin")); });
    BOOST_TEST(contains(message, directory.file("cut.bin")));
    BOOST_TEST(contains(message, "multiple of 3073 bytes, found 4073 bytes"));
    BOOST_TEST(contains(message, "1 whole records and 1000 bytes"));
}

BOOST_AUTO_TEST_CASE(cifar100_file_read_as_cifar10_is_rejected_by_its_record_size) {
    temporary_directory directory;
    write_plain(directory.file("train.bin"), cifar_file({{1, 2}, {3, 4}}));
    const std::string message = message_of([&] { read_cifar10_file(directory.file("train.bin")); });
    BOOST_TEST(contains(message, "multiple of 3073 bytes, found 6148 bytes"));
}

BOOST_AUTO_TEST_CASE(empty_file_is_rejected) {
    temporary_directory directory;
    write_plain(directory.file("empty.bin"), {});
    const std::string message = message_of([&] { read_cifar100_file(directory.file("empty.bin")); });
    BOOST_TEST(contains(message, "positive multiple of 3074 bytes, found 0 bytes"));
}

BOOST_AUTO_TEST_CASE(out_of_range_labels_are_rejected_with_record_and_value) {
    temporary_directory directory;
    write_plain(directory.file("ten.bin"), cifar_file(one_label_each({0, 10})));
    BOOST_TEST(contains(message_of([&] { read_cifar10_file(directory.file("ten.bin")); }),
                        "record 1 is out of range: expected 0..9, found 10"));
    write_plain(directory.file("hundred.bin"), cifar_file({{20, 5}}));
    BOOST_TEST(contains(message_of([&] { read_cifar100_file(directory.file("hundred.bin"), cifar100_labels::coarse); }),
                        "expected 0..19, found 20"));
    write_plain(directory.file("fine.bin"), cifar_file({{2, 100}}));
    BOOST_TEST(
        contains(message_of([&] { read_cifar100_file(directory.file("fine.bin")); }), "expected 0..99, found 100"));
}

BOOST_AUTO_TEST_CASE(only_whole_numbers_of_records_are_accepted) {
    temporary_directory directory;
    const bytes two_records = cifar_file(one_label_each({3, 4}));
    for (std::size_t length = 0; length <= two_records.size(); length += 97) {
        write_plain(directory.file("part.bin"),
                    bytes(two_records.begin(), two_records.begin() + static_cast<long>(length)));
        BOOST_CHECK_THROW(read_cifar10_file(directory.file("part.bin")), dataset_error);
    }
    for (std::size_t length : {std::size_t{3073}, two_records.size()}) {
        write_plain(directory.file("whole.bin"),
                    bytes(two_records.begin(), two_records.begin() + static_cast<long>(length)));
        BOOST_TEST(read_cifar10_file(directory.file("whole.bin")).labels.size() == length / 3073);
    }
}
