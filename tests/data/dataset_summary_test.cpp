#define BOOST_TEST_MODULE data_dataset_summary
#include <boost/test/unit_test.hpp>

#include <fds/data/dataset_summary.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>

using namespace fds::data;

namespace {
std::string cifar_subset_directory() {
    const char* path = std::getenv("FDS_CIFAR10_SUBSET");
    return path != nullptr ? path : "../shared/data/cifar-10-subset";
}

boost::test_tools::assertion_result cifar_subset_present(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result result(
        std::filesystem::exists(std::filesystem::path(cifar_subset_directory()) / "data_batch_1.bin"));
    result.message() << "skipped: the CIFAR-10 subset directory " << cifar_subset_directory() << " is absent";
    return result;
}
}  // namespace

BOOST_AUTO_TEST_CASE(summary_counts_images_per_split_and_class) {
    dataset data;
    data.name = "MNIST";
    data.classes = 3;
    data.class_names = {"a", "b", "c"};
    data.train_images = xt::zeros<std::uint8_t>({5, 1, 2, 2});
    data.train_labels = xt::xarray<int>{2, 0, 2, 2, 1};
    data.test_images = xt::zeros<std::uint8_t>({2, 1, 2, 2});
    data.test_labels = xt::xarray<int>{1, 1};
    const nlohmann::json summary = dataset_summary(data);
    BOOST_TEST(summary["dataset"] == "MNIST");
    BOOST_TEST(summary["classes"] == 3);
    BOOST_TEST(summary["image_shape"] == nlohmann::json({1, 2, 2}));
    BOOST_TEST(summary["class_names"] == nlohmann::json({"a", "b", "c"}));
    BOOST_TEST(summary["train"]["images"] == 5);
    BOOST_TEST(summary["train"]["class_counts"] == nlohmann::json({1, 1, 3}));
    BOOST_TEST(summary["test"]["images"] == 2);
    BOOST_TEST(summary["test"]["class_counts"] == nlohmann::json({0, 2, 0}));
}

BOOST_AUTO_TEST_CASE(summary_with_a_validation_fraction_reports_the_part_sizes) {
    dataset data;
    data.name = "MNIST";
    data.classes = 10;
    data.train_images = xt::zeros<std::uint8_t>({41, 1, 2, 2});
    data.train_labels = xt::zeros<int>({41});
    data.test_images = xt::zeros<std::uint8_t>({1, 1, 2, 2});
    data.test_labels = xt::zeros<int>({1});
    const nlohmann::json held_out = dataset_summary(data, 0.1, false)["validation_split"];
    BOOST_TEST(held_out["train"] == 37);
    BOOST_TEST(held_out["validation"] == 4);
    const nlohmann::json overlapping = dataset_summary(data, 0.1, true)["validation_split"];
    BOOST_TEST(overlapping["train"] == 41);
    BOOST_TEST(overlapping["val_train_overlap"] == true);
    BOOST_TEST(dataset_summary(data).count("validation_split") == 0u);
}

BOOST_AUTO_TEST_CASE(channel_mean_and_std_are_those_of_the_pixels_scaled_to_the_unit_interval) {
    // Channel 0 holds 0 and 255 equally: mean 1/2, std 1/2. Channel 1 is constant 51: mean 0.2, std 0.
    dataset data;
    data.name = "CIFAR10";
    data.classes = 10;
    data.train_images = xt::xarray<std::uint8_t>::from_shape({2, 2, 1, 2});
    data.train_images(0, 0, 0, 0) = 0;
    data.train_images(0, 0, 0, 1) = 255;
    data.train_images(1, 0, 0, 0) = 255;
    data.train_images(1, 0, 0, 1) = 0;
    for (std::size_t image = 0; image < 2; ++image)
        for (std::size_t column = 0; column < 2; ++column) data.train_images(image, 1, 0, column) = 51;
    data.train_labels = xt::xarray<int>{0, 1};
    data.test_images = xt::xarray<std::uint8_t>::from_shape({0, 2, 1, 2});
    data.test_labels = xt::xarray<int>::from_shape({0});
    const nlohmann::json summary = dataset_summary(data);
    BOOST_TEST(summary["train"]["channel_mean"][0].get<double>() == 0.5, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(summary["train"]["channel_std"][0].get<double>() == 0.5, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(summary["train"]["channel_mean"][1].get<double>() == 0.2, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(summary["train"]["channel_std"][1].get<double>() == 0.0);
    BOOST_TEST(summary["test"]["images"] == 0);
    BOOST_TEST(summary["test"]["channel_mean"][0].get<double>() == 0.0);
}

BOOST_AUTO_TEST_CASE(real_cifar10_subset_summary_has_the_known_counts_and_means,
                     *boost::unit_test::precondition(cifar_subset_present)) {
    const nlohmann::json summary = dataset_summary(load_dataset("CIFAR10", cifar_subset_directory()));
    BOOST_TEST(summary["train"]["images"] == 10000);
    BOOST_TEST(summary["test"]["images"] == 1000);
    int class_total = 0;
    for (const auto& count : summary["train"]["class_counts"]) class_total += count.get<int>();
    BOOST_TEST(class_total == 10000);
    const std::vector<double> expected_means = {0.49, 0.48, 0.45};
    for (std::size_t channel = 0; channel < 3; ++channel) {
        const double mean = summary["train"]["channel_mean"][channel].get<double>();
        BOOST_TEST(std::abs(mean - expected_means[channel]) < 0.01);
        // Full-set std is 0.247, 0.243, 0.262; one batch is close.
        const double deviation = summary["train"]["channel_std"][channel].get<double>();
        BOOST_TEST((deviation > 0.23 && deviation < 0.28));
    }
}
