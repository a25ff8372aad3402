#define BOOST_TEST_MODULE data_idx_reader
#include <boost/test/unit_test.hpp>

#include <fds/data/dataset_error.hpp>
#include <fds/data/idx_reader.hpp>

#include "dataset_files.hpp"

#include <functional>

using namespace fds::data;
using namespace fds::data::testing;

namespace {
void check_images(const xt::xarray<std::uint8_t>& images, std::size_t count, std::size_t rows, std::size_t columns) {
    BOOST_TEST(images.dimension() == 4u);
    BOOST_TEST(images.shape()[0] == count);
    BOOST_TEST(images.shape()[1] == 1u);
    BOOST_TEST(images.shape()[2] == rows);
    BOOST_TEST(images.shape()[3] == columns);
    for (std::size_t record = 0; record < count; ++record)
        for (std::size_t row = 0; row < rows; ++row)
            for (std::size_t column = 0; column < columns; ++column)
                BOOST_REQUIRE(images(record, 0, row, column) == test_pixel(record, 0, row, column));
}
}  // namespace

BOOST_AUTO_TEST_CASE(plain_idx_images_are_read_pixel_for_pixel) {
    temporary_directory directory;
    write_plain(directory.file("images"), idx_images(5, 28, 28));
    check_images(read_idx_images(directory.file("images")), 5, 28, 28);
}

BOOST_AUTO_TEST_CASE(gzipped_idx_images_of_any_size_are_read_pixel_for_pixel) {
    temporary_directory directory;
    write_gzip(directory.file("images.gz"), idx_images(4, 3, 7));
    check_images(read_idx_images(directory.file("images.gz")), 4, 3, 7);
}

BOOST_AUTO_TEST_CASE(plain_and_gzipped_idx_labels_are_read_exactly) {
    temporary_directory directory;
    const std::vector<int> labels = {3, 0, 9, 9, 1, 4};
    write_plain(directory.file("labels"), idx_labels(labels));
    write_gzip(directory.file("labels.gz"), idx_labels(labels));
    for (const char* name : {"labels", "labels.gz"}) {
        const xt::xarray<int> read = read_idx_labels(directory.file(name), 10);
        BOOST_TEST(read.size() == labels.size());
        for (std::size_t index = 0; index < labels.size(); ++index) BOOST_TEST(read(index) == labels[index]);
    }
}

BOOST_AUTO_TEST_CASE(labels_file_read_as_images_reports_the_magic_numbers) {
    temporary_directory directory;
    write_plain(directory.file("labels"), idx_labels({1, 2}));
    const std::string message = message_of([&] { read_idx_images(directory.file("labels")); });
    BOOST_TEST(contains(message, directory.file("labels")));
    BOOST_TEST(contains(message, "expected 0x00000803, found 0x00000801"));
}

BOOST_AUTO_TEST_CASE(garbage_magic_is_reported_for_labels) {
    temporary_directory directory;
    write_plain(directory.file("garbage"), {0xDE, 0xAD, 0xBE, 0xEF, 0, 0, 0, 0});
    const std::string message = message_of([&] { read_idx_labels(directory.file("garbage"), 10); });
    BOOST_TEST(contains(message, directory.file("garbage")));
    BOOST_TEST(contains(message, "expected 0x00000801, found 0xdeadbeef"));
}

BOOST_AUTO_TEST_CASE(truncated_images_report_expected_and_found_sizes) {
    temporary_directory directory;
    bytes content = idx_images(3, 28, 28);  // 16 + 3 * 784 = 2368 bytes
    content.resize(2000);
    write_gzip(directory.file("cut.gz"), content);
    const std::string message = message_of([&] { read_idx_images(directory.file("cut.gz")); });
    BOOST_TEST(contains(message, directory.file("cut.gz")));
    BOOST_TEST(contains(message, "expected 2368 bytes, found 2000"));
    BOOST_TEST(contains(message, "truncated"));
}

BOOST_AUTO_TEST_CASE(trailing_bytes_after_the_images_are_reported) {
    temporary_directory directory;
    bytes content = idx_images(2, 4, 4);  // 16 + 32 = 48 bytes
    content.push_back(0);
    write_plain(directory.file("long"), content);
    const std::string message = message_of([&] { read_idx_images(directory.file("long")); });
    BOOST_TEST(contains(message, "expected 48 bytes, found 49"));
}

BOOST_AUTO_TEST_CASE(file_cut_inside_the_header_is_reported) {
    temporary_directory directory;
    bytes content = idx_images(2, 4, 4);
    content.resize(9);
    write_plain(directory.file("header"), content);
    const std::string message = message_of([&] { read_idx_images(directory.file("header")); });
    BOOST_TEST(contains(message, "expected 16 header bytes, found 9"));
    write_plain(directory.file("tiny"), {0, 0});
    BOOST_TEST(contains(message_of([&] { read_idx_labels(directory.file("tiny"), 10); }), "found 2"));
}

BOOST_AUTO_TEST_CASE(huge_sizes_in_a_corrupt_header_are_reported_not_allocated) {
    temporary_directory directory;
    bytes content;
    append_big_endian_32(content, 0x00000803);
    for (int dimension = 0; dimension < 3; ++dimension) append_big_endian_32(content, 0xFFFFFFFF);
    write_plain(directory.file("huge"), content);
    const std::string message = message_of([&] { read_idx_images(directory.file("huge")); });
    BOOST_TEST(contains(message, "4294967295 x 4294967295 x 4294967295"));
    BOOST_TEST(contains(message, "found 16"));
}

BOOST_AUTO_TEST_CASE(an_empty_dimension_beside_huge_ones_is_reported_not_allocated) {
    // found by the fuzzer (tests/fuzz/idx_reader_fuzz.cpp): 0 x 4143840507 x 4278452992 images
    // fit a 16-byte file, and the array's strides overflowed
    temporary_directory directory;
    bytes content;
    append_big_endian_32(content, 0x00000803);
    for (std::uint32_t size : {0u, 4143840507u, 4278452992u}) append_big_endian_32(content, size);
    write_plain(directory.file("empty"), content);
    const std::string message = message_of([&] { read_idx_images(directory.file("empty")); });
    BOOST_TEST(contains(message, "announces no images: dimension 1 of its header is 0"));
}

BOOST_AUTO_TEST_CASE(label_out_of_range_names_the_record_and_the_value) {
    temporary_directory directory;
    write_plain(directory.file("labels"), idx_labels({1, 2, 10, 3}));
    const std::string message = message_of([&] { read_idx_labels(directory.file("labels"), 10); });
    BOOST_TEST(contains(message, directory.file("labels")));
    BOOST_TEST(contains(message, "record 2"));
    BOOST_TEST(contains(message, "expected 0..9, found 10"));
}

BOOST_AUTO_TEST_CASE(every_truncation_of_an_idx_file_is_a_dataset_error) {
    temporary_directory directory;
    const bytes images = idx_images(2, 3, 3);  // 34 bytes
    const bytes labels = idx_labels({1, 2});  // 10 bytes
    for (std::size_t length = 0; length < images.size(); ++length) {
        write_plain(directory.file("images"), bytes(images.begin(), images.begin() + static_cast<long>(length)));
        BOOST_CHECK_THROW(read_idx_images(directory.file("images")), dataset_error);
    }
    for (std::size_t length = 0; length < labels.size(); ++length) {
        write_gzip(directory.file("labels.gz"), bytes(labels.begin(), labels.begin() + static_cast<long>(length)));
        BOOST_CHECK_THROW(read_idx_labels(directory.file("labels.gz"), 10), dataset_error);
    }
}

BOOST_AUTO_TEST_CASE(any_single_corrupted_byte_of_a_gzipped_idx_file_reads_exactly_or_fails_cleanly) {
    // Every byte of the compressed file flipped in turn: the reader either returns the exact
    // original labels (the byte was not significant, e.g. the timestamp) or raises dataset_error.
    temporary_directory directory;
    const std::vector<int> original = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2};
    write_gzip(directory.file("whole.gz"), idx_labels(original));
    const bytes packed = read_plain(directory.file("whole.gz"));
    std::size_t rejected = 0;
    for (std::size_t position = 0; position < packed.size(); ++position) {
        bytes damaged = packed;
        damaged[position] ^= 0xFF;
        write_plain(directory.file("damaged.gz"), damaged);
        try {
            const xt::xarray<int> labels = read_idx_labels(directory.file("damaged.gz"), 10);
            BOOST_REQUIRE(labels.size() == original.size());
            for (std::size_t index = 0; index < original.size(); ++index)
                BOOST_REQUIRE(labels(index) == original[index]);
        } catch (const dataset_error&) {
            ++rejected;
        }
    }
    BOOST_TEST(rejected > packed.size() / 2);
}
