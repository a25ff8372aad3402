#define BOOST_TEST_MODULE data_file_bytes
#include <boost/test/unit_test.hpp>

#include <fds/data/dataset_error.hpp>
#include <fds/data/file_bytes.hpp>

#include "dataset_files.hpp"

using namespace fds::data;
using namespace fds::data::testing;

namespace {
bytes sample_content() {
    bytes content;
    for (int index = 0; index < 100000; ++index) content.push_back(static_cast<std::uint8_t>((index * 7919) % 251));
    return content;
}

std::string message_of(const std::string& path) {
    try {
        read_file_bytes(path);
    } catch (const dataset_error& error) {
        return error.what();
    }
    return "no error";
}
}  // namespace

BOOST_AUTO_TEST_CASE(plain_file_is_returned_byte_for_byte) {
    temporary_directory directory;
    write_plain(directory.file("plain.bin"), sample_content());
    BOOST_TEST(read_file_bytes(directory.file("plain.bin")) == sample_content());
}

BOOST_AUTO_TEST_CASE(gzip_file_is_inflated_byte_for_byte) {
    temporary_directory directory;
    write_gzip(directory.file("packed.gz"), sample_content());
    BOOST_TEST(read_plain(directory.file("packed.gz")) != sample_content());
    BOOST_TEST(read_file_bytes(directory.file("packed.gz")) == sample_content());
}

BOOST_AUTO_TEST_CASE(empty_file_gives_no_bytes) {
    temporary_directory directory;
    write_plain(directory.file("empty"), {});
    BOOST_TEST(read_file_bytes(directory.file("empty")).empty());
}

BOOST_AUTO_TEST_CASE(missing_file_is_an_error_naming_it) {
    temporary_directory directory;
    const std::string message = message_of(directory.file("absent.bin"));
    BOOST_TEST(message.find(directory.file("absent.bin")) != std::string::npos);
    BOOST_TEST(message.find("No such file") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(truncated_gzip_stream_is_an_error_naming_the_file) {
    temporary_directory directory;
    write_gzip(directory.file("whole.gz"), sample_content());
    bytes packed = read_plain(directory.file("whole.gz"));
    packed.resize(packed.size() / 2);
    write_plain(directory.file("cut.gz"), packed);
    const std::string message = message_of(directory.file("cut.gz"));
    BOOST_TEST(message.find(directory.file("cut.gz")) != std::string::npos);
    BOOST_TEST(message.find("truncated") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(corrupted_gzip_stream_is_an_error_naming_the_file) {
    temporary_directory directory;
    write_gzip(directory.file("whole.gz"), sample_content());
    bytes packed = read_plain(directory.file("whole.gz"));
    for (std::size_t index = 20; index < 60; ++index) packed[index] ^= 0x5A;
    write_plain(directory.file("bad.gz"), packed);
    const std::string message = message_of(directory.file("bad.gz"));
    BOOST_TEST(message.find(directory.file("bad.gz")) != std::string::npos);
    BOOST_TEST(message.find("gzip") != std::string::npos);
}
