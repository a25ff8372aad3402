#define BOOST_TEST_MODULE data_class_names
#include <boost/test/unit_test.hpp>

#include <fds/data/class_names.hpp>
#include <fds/data/dataset_error.hpp>

#include "dataset_files.hpp"

#include <set>

using namespace fds::data;
using namespace fds::data::testing;

namespace {
bytes text(const std::string& content) { return bytes(content.begin(), content.end()); }
}  // namespace

BOOST_AUTO_TEST_CASE(built_in_lists_have_one_distinct_name_per_class) {
    const std::vector<std::pair<std::vector<std::string>, std::size_t>> lists = {{cifar10_class_names(), 10},
                                                                                 {cifar100_fine_class_names(), 100},
                                                                                 {cifar100_coarse_class_names(), 20},
                                                                                 {mnist_class_names(), 10},
                                                                                 {fashion_mnist_class_names(), 10}};
    for (const auto& [names, count] : lists) {
        BOOST_TEST(names.size() == count);
        BOOST_TEST(std::set<std::string>(names.begin(), names.end()).size() == count);
    }
}

BOOST_AUTO_TEST_CASE(built_in_lists_follow_the_official_label_order) {
    BOOST_TEST(cifar10_class_names()[0] == "airplane");
    BOOST_TEST(cifar10_class_names()[9] == "truck");
    BOOST_TEST(cifar100_fine_class_names()[0] == "apple");
    BOOST_TEST(cifar100_fine_class_names()[99] == "worm");
    BOOST_TEST(cifar100_coarse_class_names()[19] == "vehicles_2");
    BOOST_TEST(fashion_mnist_class_names()[0] == "T-shirt/top");
    BOOST_TEST(fashion_mnist_class_names()[9] == "Ankle boot");
}

BOOST_AUTO_TEST_CASE(names_file_is_read_one_per_line_trimmed_skipping_blank_lines) {
    temporary_directory directory;
    write_plain(directory.file("batches.meta.txt"), text("airplane\n automobile \r\nbird\n\n\n"));
    const std::vector<std::string> names = read_class_names_file(directory.file("batches.meta.txt"), 3);
    BOOST_TEST(names == (std::vector<std::string>{"airplane", "automobile", "bird"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(names_file_with_the_wrong_count_is_an_error_naming_it) {
    temporary_directory directory;
    write_plain(directory.file("batches.meta.txt"), text("a\nb\n"));
    try {
        read_class_names_file(directory.file("batches.meta.txt"), 10);
        BOOST_FAIL("no error");
    } catch (const dataset_error& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find(directory.file("batches.meta.txt")) != std::string::npos);
        BOOST_TEST(message.find("expected 10, found 2") != std::string::npos);
    }
}
