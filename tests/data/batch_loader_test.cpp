#define BOOST_TEST_MODULE data_batch_loader
#include <boost/test/unit_test.hpp>

#include <fds/data/batch_loader.hpp>
#include <fds/data/validation_split.hpp>

#include <algorithm>
#include <numeric>
#include <set>

using namespace fds::data;

namespace {
// A dataset built in memory: image i of the train part has every byte equal to i % 256 except
// pixel (0, 0, 0), which is 255 - i % 256; labels are i % classes.
dataset synthetic(const std::string& name, std::size_t train_count, std::size_t test_count, std::size_t channels,
                  std::size_t side) {
    dataset result;
    result.name = name;
    result.classes = 10;
    const auto fill = [&](std::size_t count, xt::xarray<std::uint8_t>& images, xt::xarray<int>& labels) {
        images = xt::xarray<std::uint8_t>::from_shape({count, channels, side, side});
        labels = xt::xarray<int>::from_shape({count});
        const std::size_t image_size = channels * side * side;
        for (std::size_t image = 0; image < count; ++image) {
            std::fill(images.data() + image * image_size, images.data() + (image + 1) * image_size,
                      static_cast<std::uint8_t>(image % 256));
            images.data()[image * image_size] = static_cast<std::uint8_t>(255 - image % 256);
            labels(image) = static_cast<int>(image % 10);
        }
    };
    fill(train_count, result.train_images, result.train_labels);
    fill(test_count, result.test_images, result.test_labels);
    return result;
}

std::vector<std::size_t> range_of(std::size_t count) {
    std::vector<std::size_t> values(count);
    std::iota(values.begin(), values.end(), std::size_t{0});
    return values;
}
}  // namespace

BOOST_AUTO_TEST_CASE(drop_last_skips_the_partial_batch) {
    const dataset data = synthetic("MNIST", 103, 10, 1, 4);
    const batch_loader dropping(data, split_part::train, range_of(103), 10, true, true, {}, 0);
    const batch_loader keeping(data, split_part::train, range_of(103), 10, true, false, {}, 0);
    BOOST_TEST(dropping.batches_per_epoch() == 10u);
    BOOST_TEST(keeping.batches_per_epoch() == 11u);
    BOOST_TEST(keeping.load(0, 10).labels.size() == 3u);
    BOOST_CHECK_THROW(dropping.load(0, 10), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(an_epoch_visits_every_index_once_in_a_new_order_each_epoch) {
    const dataset data = synthetic("MNIST", 100, 10, 1, 4);
    const batch_loader loader(data, split_part::train, range_of(100), 8, true, false, {}, 5);
    std::vector<std::vector<std::size_t>> epochs;
    for (std::size_t epoch = 0; epoch < 3; ++epoch) {
        std::vector<std::size_t> seen;
        for (std::size_t index = 0; index < loader.batches_per_epoch(); ++index) {
            const batch next = loader.load(epoch, index);
            seen.insert(seen.end(), next.indices.begin(), next.indices.end());
        }
        BOOST_TEST(seen == loader.epoch_order(epoch), boost::test_tools::per_element());
        std::vector<std::size_t> sorted = seen;
        std::sort(sorted.begin(), sorted.end());
        BOOST_TEST(sorted == range_of(100), boost::test_tools::per_element());
        epochs.push_back(seen);
    }
    BOOST_TEST(epochs[0] != epochs[1]);
    BOOST_TEST(epochs[1] != epochs[2]);
    BOOST_TEST(epochs[0] != range_of(100));
}

BOOST_AUTO_TEST_CASE(without_shuffle_batches_follow_the_given_indices) {
    const dataset data = synthetic("MNIST", 50, 10, 1, 4);
    const std::vector<std::size_t> indices = {7, 3, 3, 40, 11};
    const batch_loader loader(data, split_part::train, indices, 2, false, false, {}, 0);
    BOOST_TEST(loader.load(0, 0).indices == (std::vector<std::size_t>{7, 3}), boost::test_tools::per_element());
    BOOST_TEST(loader.load(4, 2).indices == std::vector<std::size_t>{11}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(loaders_only_draw_from_the_given_indices) {
    const dataset data = synthetic("MNIST", 200, 10, 1, 4);
    const validation_split split = make_validation_split(200, 0.25, false, 3);
    const batch_loader train(data, split_part::train, split.train, 16, true, true, {}, 3);
    const std::set<std::size_t> validation(split.validation.begin(), split.validation.end());
    for (std::size_t index = 0; index < train.batches_per_epoch(); ++index)
        for (std::size_t image : train.load(1, index).indices) BOOST_REQUIRE(validation.count(image) == 0);
}

BOOST_AUTO_TEST_CASE(unaugmented_batch_holds_normalized_pixels_and_labels) {
    const dataset data = synthetic("FashionMNIST", 30, 12, 1, 28);
    const batch_loader loader(data, split_part::test, range_of(12), 5, true, true, augmentation_for("FashionMNIST"), 9);
    const batch next = loader.load(2, 1);
    BOOST_TEST(next.images.shape() == (std::vector<std::size_t>{5, 1, 28, 28}), boost::test_tools::per_element());
    BOOST_TEST(next.labels.shape()[0] == 5u);
    const normalization constants = normalization_for("FashionMNIST");
    for (std::size_t slot = 0; slot < 5; ++slot) {
        const std::size_t image = next.indices[slot];
        BOOST_TEST(next.labels(slot) == static_cast<int>(image % 10));
        BOOST_TEST(next.images(slot, 0, 0, 0) == normalize_pixel(constants, 0, data.test_images(image, 0, 0, 0)));
        BOOST_TEST(next.images(slot, 0, 27, 13) == normalize_pixel(constants, 0, data.test_images(image, 0, 27, 13)));
    }
}

BOOST_AUTO_TEST_CASE(augmented_cifar_batch_has_the_right_shape_and_moved_pixels) {
    const dataset data = synthetic("CIFAR10", 300, 10, 3, 32);
    const batch_loader loader(data, split_part::train, range_of(300), 128, true, true, augmentation_for("CIFAR10"), 11);
    const batch next = loader.load(0, 1);
    BOOST_TEST(next.images.shape() == (std::vector<std::size_t>{128, 3, 32, 32}), boost::test_tools::per_element());
    const normalization constants = normalization_for("CIFAR10");
    // The marked pixel (0, 0) of each image lands at the crop/flip position or falls off;
    // every value is either the image's fill, its marker, or black padding.
    std::size_t moved = 0;
    for (std::size_t slot = 0; slot < 128; ++slot) {
        const std::uint8_t fill = static_cast<std::uint8_t>(next.indices[slot] % 256);
        const float fill_value = normalize_pixel(constants, 0, fill);
        const float marker_value = normalize_pixel(constants, 0, static_cast<std::uint8_t>(255 - fill));
        const float black_value = normalize_pixel(constants, 0, 0);
        moved += next.images(slot, 0, 0, 0) != marker_value;
        for (std::size_t row = 0; row < 32; ++row)
            for (std::size_t column = 0; column < 32; ++column) {
                const float value = next.images(slot, 0, row, column);
                BOOST_REQUIRE((value == fill_value || value == marker_value || value == black_value));
            }
    }
    // Unmoved only for top = left = 4 without flip: probability 1/162 per image.
    BOOST_TEST(moved > 120u);
}

BOOST_AUTO_TEST_CASE(same_seed_same_batches_in_any_loading_order) {
    const dataset data = synthetic("CIFAR10", 300, 10, 3, 32);
    const augmentation settings = augmentation_for("CIFAR10", true, 16, 0.5);
    const batch_loader first(data, split_part::train, range_of(300), 32, true, true, settings, 77);
    const batch_loader second(data, split_part::train, range_of(300), 32, true, true, settings, 77);
    const batch_loader other(data, split_part::train, range_of(300), 32, true, true, settings, 78);
    const batch late = first.load(3, 4);
    const batch early = first.load(0, 2);
    BOOST_TEST((second.load(0, 2).images == early.images));
    BOOST_TEST((second.load(3, 4).images == late.images));
    BOOST_TEST(second.load(3, 4).indices == late.indices, boost::test_tools::per_element());
    BOOST_TEST((first.load(3, 4).images == late.images));  // after the cache moved to epoch 0
    BOOST_TEST(other.load(3, 4).indices != late.indices);
    const batch_loader copy = first;
    BOOST_TEST((copy.load(0, 2).images == early.images));
}

BOOST_AUTO_TEST_CASE(epoch_order_from_a_seed_matches_the_recorded_one_on_any_machine) {
    const dataset data = synthetic("MNIST", 12, 1, 1, 2);
    const batch_loader loader(data, split_part::train, range_of(12), 4, true, true, {}, 2021);
    const std::vector<std::size_t> recorded = {3, 2, 6, 1, 4, 5, 9, 0, 7, 8, 11, 10};
    BOOST_TEST(loader.epoch_order(1) == recorded, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_rejected_with_the_numbers) {
    const dataset data = synthetic("MNIST", 10, 5, 1, 4);
    BOOST_CHECK_THROW(batch_loader(data, split_part::train, range_of(10), 0, true, true, {}, 0), std::invalid_argument);
    try {
        batch_loader(data, split_part::test, {1, 5}, 2, true, true, {}, 0);
        BOOST_FAIL("no error");
    } catch (const std::invalid_argument& error) {
        BOOST_TEST(std::string(error.what()).find("index 5 is past the end of the test split (5 images)") !=
                   std::string::npos);
    }
    dataset gray_cifar = synthetic("CIFAR10", 10, 5, 1, 4);
    BOOST_CHECK_THROW(batch_loader(gray_cifar, split_part::train, range_of(10), 2, true, true, {}, 0),
                      std::invalid_argument);
}
