#define BOOST_TEST_MODULE data_dataset
#include <boost/test/unit_test.hpp>

#include <fds/data/dataset.hpp>

#include "dataset_files.hpp"

#include <cstdlib>
#include <functional>

using namespace fds::data;
using namespace fds::data::testing;
namespace filesystem = std::filesystem;

namespace {
const char* fashion_mnist_directory = "/usr/share/datasets/fashion-mnist";

std::string cifar_subset_directory() {
    const char* path = std::getenv("FDS_CIFAR10_SUBSET");
    return path != nullptr ? path : "../shared/data/cifar-10-subset";
}

boost::test_tools::assertion_result fashion_mnist_installed(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result result(
        filesystem::exists(filesystem::path(fashion_mnist_directory) / "train-images-idx3-ubyte.gz"));
    result.message() << "skipped: " << fashion_mnist_directory
                     << " is absent (install the Debian package dataset-fashion-mnist)";
    return result;
}

boost::test_tools::assertion_result cifar_subset_present(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result result(
        filesystem::exists(filesystem::path(cifar_subset_directory()) / "data_batch_1.bin"));
    result.message() << "skipped: the CIFAR-10 subset directory " << cifar_subset_directory() << " is absent";
    return result;
}

void check_idx_dataset(const dataset& loaded, std::size_t train_count, std::size_t test_count) {
    BOOST_TEST(loaded.classes == 10u);
    BOOST_TEST(loaded.train_images.shape()[0] == train_count);
    BOOST_TEST(loaded.train_images.shape()[1] == 1u);
    BOOST_TEST(loaded.train_images.shape()[2] == 28u);
    BOOST_TEST(loaded.test_images.shape()[0] == test_count);
    BOOST_TEST(loaded.train_labels.size() == train_count);
    BOOST_TEST(loaded.test_labels.size() == test_count);
    BOOST_TEST(int{loaded.train_images(2, 0, 5, 7)} == int{test_pixel(2, 0, 5, 7)});
    BOOST_TEST(int{loaded.test_images(test_count - 1, 0, 27, 27)} == int{test_pixel(test_count - 1, 0, 27, 27)});
    BOOST_TEST(loaded.train_labels(train_count - 1) == static_cast<int>((train_count - 1) % 10));
    BOOST_TEST(loaded.test_labels(0) == 3);
}
}  // namespace

BOOST_AUTO_TEST_CASE(names_are_recognised_in_any_spelling) {
    BOOST_TEST(canonical_dataset_name("cifar-10") == "CIFAR10");
    BOOST_TEST(canonical_dataset_name("CIFAR100") == "CIFAR100");
    BOOST_TEST(canonical_dataset_name("fashion_mnist") == "FashionMNIST");
    BOOST_TEST(canonical_dataset_name("mnist") == "MNIST");
    const std::string message = message_of([] { load_dataset("ImageNet", "/tmp"); });
    BOOST_TEST(contains(message, "unknown dataset \"ImageNet\""));
    BOOST_TEST(contains(message, "CIFAR10, CIFAR100, MNIST, FashionMNIST"));
}

BOOST_AUTO_TEST_CASE(fashion_mnist_defaults_to_the_debian_package_directory) {
    BOOST_TEST(default_dataset_directory("FashionMNIST") == "/usr/share/datasets/fashion-mnist");
    BOOST_TEST(default_dataset_directory("CIFAR10") == "");
    const std::string message = message_of([] { load_dataset("CIFAR10", ""); });
    BOOST_TEST(contains(message, "no directory given"));
    BOOST_TEST(contains(message, "cifar-10-binary.tar.gz"));
}

BOOST_AUTO_TEST_CASE(mnist_is_loaded_from_plain_idx_files) {
    temporary_directory directory;
    write_idx_dataset(directory.path(), 23, 11, false);
    const dataset loaded = load_dataset("MNIST", directory.path().string());
    BOOST_TEST(loaded.name == "MNIST");
    BOOST_TEST(loaded.class_names[3] == "3");
    check_idx_dataset(loaded, 23, 11);
}

BOOST_AUTO_TEST_CASE(fashion_mnist_is_loaded_from_gzipped_idx_files_in_torchvision_layout) {
    temporary_directory directory;
    write_idx_dataset(directory.path() / "FashionMNIST" / "raw", 17, 9, true);
    const dataset loaded = load_dataset("FashionMNIST", directory.path().string());
    BOOST_TEST(loaded.name == "FashionMNIST");
    BOOST_TEST(loaded.class_names[9] == "Ankle boot");
    BOOST_TEST(loaded.directory == (directory.path() / "FashionMNIST" / "raw").string());
    check_idx_dataset(loaded, 17, 9);
}

BOOST_AUTO_TEST_CASE(cifar10_is_loaded_from_its_archive_folder_with_some_train_batches) {
    temporary_directory directory;
    const filesystem::path folder = directory.path() / "cifar-10-batches-bin";
    // Batches 1 and 3 only: 4 + 2 records, numbered consecutively across the batches.
    write_plain((folder / "data_batch_1.bin").string(), cifar_file(one_label_each({0, 1, 2, 3}), 0));
    write_plain((folder / "data_batch_3.bin").string(), cifar_file(one_label_each({8, 9}), 4));
    write_plain((folder / "test_batch.bin").string(), cifar_file(one_label_each({5, 6, 7}), 0));
    const dataset loaded = load_dataset("CIFAR10", directory.path().string());
    BOOST_TEST(loaded.classes == 10u);
    BOOST_TEST(loaded.train_images.shape()[0] == 6u);
    BOOST_TEST(loaded.test_images.shape()[0] == 3u);
    for (std::size_t record = 0; record < 6; ++record) {
        BOOST_TEST(loaded.train_labels(record) ==
                   (record < 4 ? static_cast<int>(record) : static_cast<int>(record + 4)));
        BOOST_TEST(int{loaded.train_images(record, 2, 31, 30)} == int{test_pixel(record, 2, 31, 30)});
    }
    BOOST_TEST(loaded.test_labels(2) == 7);
    BOOST_TEST(loaded.class_names[0] == "airplane");
}

BOOST_AUTO_TEST_CASE(cifar10_class_names_come_from_batches_meta_when_present) {
    temporary_directory directory;
    write_plain(directory.file("data_batch_1.bin"), cifar_file(one_label_each({0})));
    write_plain(directory.file("test_batch.bin"), cifar_file(one_label_each({1})));
    const std::string names = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
    write_plain(directory.file("batches.meta.txt"), bytes(names.begin(), names.end()));
    BOOST_TEST(load_dataset("CIFAR10", directory.path().string()).class_names[9] == "j");
}

BOOST_AUTO_TEST_CASE(cifar100_is_loaded_with_fine_or_coarse_labels) {
    temporary_directory directory;
    const filesystem::path folder = directory.path() / "cifar-100-binary";
    write_plain((folder / "train.bin").string(), cifar_file({{1, 42}, {19, 99}}));
    write_plain((folder / "test.bin").string(), cifar_file({{4, 7}}));
    const dataset fine = load_dataset("CIFAR100", directory.path().string());
    BOOST_TEST(fine.classes == 100u);
    BOOST_TEST(fine.train_labels(0) == 42);
    BOOST_TEST(fine.test_labels(0) == 7);
    BOOST_TEST(fine.class_names[99] == "worm");
    const dataset coarse = load_dataset("CIFAR100", directory.path().string(), cifar100_labels::coarse);
    BOOST_TEST(coarse.classes == 20u);
    BOOST_TEST(coarse.train_labels(1) == 19);
    BOOST_TEST(coarse.class_names[19] == "vehicles_2");
    BOOST_TEST(int{coarse.train_images(1, 1, 3, 4)} == int{test_pixel(1, 1, 3, 4)});
}

BOOST_AUTO_TEST_CASE(missing_directory_is_named_with_where_to_get_the_dataset) {
    const std::string message = message_of([] { load_dataset("CIFAR100", "/nonexistent/place"); });
    BOOST_TEST(contains(message, "/nonexistent/place"));
    BOOST_TEST(contains(message, "cifar-100-binary.tar.gz"));
}

BOOST_AUTO_TEST_CASE(missing_files_name_the_file_the_folders_searched_and_the_source) {
    temporary_directory directory;
    const std::string empty_message = message_of([&] { load_dataset("CIFAR10", directory.path().string()); });
    BOOST_TEST(contains(empty_message, "test_batch.bin"));
    BOOST_TEST(contains(empty_message, (directory.path() / "cifar-10-batches-bin").string()));
    BOOST_TEST(contains(empty_message, "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"));

    write_plain(directory.file("data_batch_1.bin"), cifar_file(one_label_each({0})));
    const std::string test_message = message_of([&] { load_dataset("CIFAR10", directory.path().string()); });
    BOOST_TEST(contains(test_message, "test_batch.bin not found in " + directory.path().string()));

    write_idx_dataset(directory.path(), 3, 2, true);
    filesystem::remove(directory.path() / "t10k-labels-idx1-ubyte.gz");
    const std::string fashion_message = message_of([&] { load_dataset("FashionMNIST", directory.path().string()); });
    BOOST_TEST(contains(fashion_message, "t10k-labels-idx1-ubyte"));
    BOOST_TEST(contains(fashion_message, directory.path().string()));
    BOOST_TEST(contains(fashion_message, "dataset-fashion-mnist"));

    write_plain(directory.file("train.bin"), cifar_file({{1, 2}}));
    const std::string cifar100_message = message_of([&] { load_dataset("CIFAR100", directory.path().string()); });
    BOOST_TEST(contains(cifar100_message, "test.bin not found"));
}

BOOST_AUTO_TEST_CASE(image_and_label_count_mismatch_names_both_files) {
    temporary_directory directory;
    write_idx_dataset(directory.path(), 5, 4, false);
    write_plain(directory.file("train-labels-idx1-ubyte"), idx_labels(cycling_labels(6, 10)));
    const std::string message = message_of([&] { load_dataset("MNIST", directory.path().string()); });
    BOOST_TEST(contains(message, directory.file("train-images-idx3-ubyte") + " holds 5 images"));
    BOOST_TEST(contains(message, directory.file("train-labels-idx1-ubyte") + " holds 6 labels"));
}

BOOST_AUTO_TEST_CASE(train_and_test_image_sizes_must_agree) {
    temporary_directory directory;
    write_idx_dataset(directory.path(), 5, 4, false);
    write_plain(directory.file("t10k-images-idx3-ubyte"), idx_images(4, 20, 20));
    const std::string message = message_of([&] { load_dataset("MNIST", directory.path().string()); });
    BOOST_TEST(contains(message, "28x28"));
    BOOST_TEST(contains(message, "20x20"));
}

BOOST_AUTO_TEST_CASE(real_fashion_mnist_has_60000_train_and_10000_test_images_6000_per_class,
                     *boost::unit_test::precondition(fashion_mnist_installed)) {
    const dataset fashion = load_dataset("FashionMNIST", "");
    BOOST_TEST(fashion.train_images.shape()[0] == 60000u);
    BOOST_TEST(fashion.test_images.shape()[0] == 10000u);
    BOOST_TEST(fashion.train_images.shape()[2] == 28u);
    BOOST_TEST(fashion.train_images.shape()[3] == 28u);
    std::vector<int> train_counts(10, 0), test_counts(10, 0);
    for (int label : fashion.train_labels) ++train_counts[static_cast<std::size_t>(label)];
    for (int label : fashion.test_labels) ++test_counts[static_cast<std::size_t>(label)];
    for (std::size_t label = 0; label < 10; ++label) {
        BOOST_TEST(train_counts[label] == 6000);
        BOOST_TEST(test_counts[label] == 1000);
    }
    // The first training image of Fashion-MNIST is an ankle boot (label 9).
    BOOST_TEST(fashion.train_labels(0) == 9);
}

BOOST_AUTO_TEST_CASE(real_cifar10_subset_has_10000_train_and_1000_test_images,
                     *boost::unit_test::precondition(cifar_subset_present)) {
    const dataset cifar = load_dataset("CIFAR10", cifar_subset_directory());
    BOOST_TEST(cifar.train_images.shape()[0] == 10000u);
    BOOST_TEST(cifar.test_images.shape()[0] == 1000u);
    BOOST_TEST(cifar.class_names[1] == "automobile");
    // Official data_batch_1 starts with a frog (6) and a truck (9); the test set with a cat (3).
    BOOST_TEST(cifar.train_labels(0) == 6);
    BOOST_TEST(cifar.train_labels(1) == 9);
    BOOST_TEST(cifar.test_labels(0) == 3);
}

BOOST_AUTO_TEST_CASE(a_directory_or_a_symlink_loop_in_place_of_a_file_is_named_as_such_not_as_missing) {
    temporary_directory directory;
    filesystem::create_directory(directory.file("train-images-idx3-ubyte"));
    const std::string directory_message = message_of([&] { load_dataset("FashionMNIST", directory.path().string()); });
    BOOST_TEST(
        contains(directory_message, directory.file("train-images-idx3-ubyte") + " cannot be read: it is a directory"));
    filesystem::remove(directory.file("train-images-idx3-ubyte"));
    filesystem::create_symlink(directory.file("train-images-idx3-ubyte"), directory.file("train-images-idx3-ubyte"));
    const std::string loop_message = message_of([&] { load_dataset("FashionMNIST", directory.path().string()); });
    BOOST_TEST(contains(loop_message, directory.file("train-images-idx3-ubyte") + " cannot be read: "));
    BOOST_TEST(!contains(loop_message, "not found"));
}
