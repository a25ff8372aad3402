#define BOOST_TEST_MODULE data_augmentation
#include <boost/test/unit_test.hpp>

#include <fds/data/augmentation.hpp>
#include <fds/data/normalization.hpp>

#include <xtensor/xarray.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xpad.hpp>
#include <xtensor/xview.hpp>

#include <set>

using namespace fds::data;

namespace {
// A 3 x height x width image whose bytes are all distinct and non-zero.
xt::xarray<std::uint8_t> test_image(std::size_t height = 6, std::size_t width = 5) {
    xt::xarray<std::uint8_t> image = xt::xarray<std::uint8_t>::from_shape({3, height, width});
    for (std::size_t index = 0; index < image.size(); ++index)
        image.data()[index] = static_cast<std::uint8_t>(index + 1);
    return image;
}

// A look-up table mapping every byte to itself, so the output shows raw byte values.
std::vector<float> raw_table(std::size_t channels) {
    std::vector<float> table(channels * 256);
    for (std::size_t index = 0; index < table.size(); ++index) table[index] = static_cast<float>(index % 256);
    return table;
}

xt::xarray<float> augment(const xt::xarray<std::uint8_t>& image, const augmentation& settings,
                          const image_augmentation& choice) {
    const std::vector<float> table = raw_table(image.shape()[0]);
    xt::xarray<float> out = xt::xarray<float>::from_shape(image.shape());
    write_augmented_image(image.data(), image.shape()[0], image.shape()[1], image.shape()[2], table.data(), settings,
                          choice, out.data());
    return out;
}

// The obvious version: pad with zeros, cut the window, mirror it.
xt::xarray<float> augment_slowly(const xt::xarray<std::uint8_t>& image, std::size_t padding, std::size_t top,
                                 std::size_t left, bool flip) {
    xt::xarray<float> padded =
        xt::pad(xt::xarray<float>(xt::cast<float>(image)), {{0, 0}, {padding, padding}, {padding, padding}});
    const std::size_t height = image.shape()[1], width = image.shape()[2];
    xt::xarray<float> window = xt::view(padded, xt::all(), xt::range(top, top + height), xt::range(left, left + width));
    return flip ? xt::xarray<float>(xt::flip(window, 2)) : window;
}
}  // namespace

BOOST_AUTO_TEST_CASE(cifar_gets_crop_and_flip_mnist_types_do_not) {
    BOOST_TEST(augmentation_for("CIFAR10").random_crop_flip);
    BOOST_TEST(augmentation_for("CIFAR100").random_crop_flip);
    BOOST_TEST(!augmentation_for("MNIST").random_crop_flip);
    BOOST_TEST(!augmentation_for("FashionMNIST").random_crop_flip);
    const augmentation with_cutout = augmentation_for("FashionMNIST", true, 8, 0.5);
    BOOST_TEST(with_cutout.cutout);
    BOOST_TEST(with_cutout.cutout_length == 8u);
    BOOST_TEST(with_cutout.cutout_prob == 0.5);
    BOOST_TEST(augmentation_for("CIFAR10").crop_padding == 4u);
    BOOST_CHECK_THROW(augmentation_for("CIFAR10", true, 16, 1.5), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(identity_choice_copies_the_image) {
    const xt::xarray<std::uint8_t> image = test_image();
    const augmentation settings = augmentation_for("CIFAR10");
    BOOST_TEST(augment(image, settings, identity_augmentation(settings)) == xt::cast<float>(image));
}

BOOST_AUTO_TEST_CASE(every_crop_and_flip_matches_padding_then_cutting_then_mirroring) {
    // Also on an image narrower than the padding, where some crops hold no image pixel at all.
    const augmentation settings = augmentation_for("CIFAR10");
    for (const xt::xarray<std::uint8_t>& image : {test_image(6, 5), test_image(2, 3), test_image(32, 32)})
        for (std::size_t top = 0; top <= 8; ++top)
            for (std::size_t left = 0; left <= 8; ++left)
                for (bool flip : {false, true}) {
                    image_augmentation choice;
                    choice.top = top;
                    choice.left = left;
                    choice.flip = flip;
                    BOOST_REQUIRE(augment(image, settings, choice) == augment_slowly(image, 4, top, left, flip));
                }
}

BOOST_AUTO_TEST_CASE(flip_mirrors_columns_and_keeps_rows) {
    const xt::xarray<std::uint8_t> image = test_image();
    const augmentation settings = augmentation_for("CIFAR10");
    image_augmentation choice = identity_augmentation(settings);
    choice.flip = true;
    const xt::xarray<float> flipped = augment(image, settings, choice);
    for (std::size_t channel = 0; channel < 3; ++channel)
        for (std::size_t row = 0; row < 6; ++row)
            for (std::size_t column = 0; column < 5; ++column)
                BOOST_REQUIRE(flipped(channel, row, column) == image(channel, row, 4 - column));
}

BOOST_AUTO_TEST_CASE(crop_at_the_corner_shifts_the_image_and_pads_with_black) {
    // top = left = 0 in the padded image: the output starts 4 rows and 4 columns before the image.
    const xt::xarray<std::uint8_t> image = test_image();
    const augmentation settings = augmentation_for("CIFAR10");
    image_augmentation choice;
    const xt::xarray<float> shifted = augment(image, settings, choice);
    for (std::size_t channel = 0; channel < 3; ++channel)
        for (std::size_t row = 0; row < 6; ++row)
            for (std::size_t column = 0; column < 5; ++column) {
                const bool inside = row >= 4 && column >= 4;
                BOOST_REQUIRE(shifted(channel, row, column) == (inside ? image(channel, row - 4, column - 4) : 0.0f));
            }
}

BOOST_AUTO_TEST_CASE(padding_takes_the_normalized_value_of_a_black_pixel) {
    const xt::xarray<std::uint8_t> image = test_image();
    const normalization constants = normalization_for("CIFAR10");
    const std::vector<float> table = normalization_table(constants);
    const augmentation settings = augmentation_for("CIFAR10");
    image_augmentation choice;  // corner crop: row 0 is padding
    xt::xarray<float> out = xt::xarray<float>::from_shape({3, 6, 5});
    write_augmented_image(image.data(), 3, 6, 5, table.data(), settings, choice, out.data());
    for (std::size_t channel = 0; channel < 3; ++channel)
        BOOST_TEST(out(channel, 0, 2) == (0.0f - constants.mean[channel]) / constants.standard_deviation[channel]);
    BOOST_TEST(out(1, 5, 4) == normalize_pixel(constants, 1, image(1, 1, 0)));
}

BOOST_AUTO_TEST_CASE(cutout_zeroes_exactly_its_rectangle_in_every_channel) {
    const xt::xarray<std::uint8_t> image = test_image();
    const augmentation settings = augmentation_for("CIFAR10", true, 4, 1.0);
    image_augmentation choice = identity_augmentation(settings);
    choice.hole_row_begin = 1;
    choice.hole_row_end = 3;
    choice.hole_column_begin = 2;
    choice.hole_column_end = 5;
    const xt::xarray<float> out = augment(image, settings, choice);
    for (std::size_t channel = 0; channel < 3; ++channel)
        for (std::size_t row = 0; row < 6; ++row)
            for (std::size_t column = 0; column < 5; ++column) {
                const bool hole = row >= 1 && row < 3 && column >= 2;
                BOOST_REQUIRE(out(channel, row, column) == (hole ? 0.0f : image(channel, row, column)));
            }
}

BOOST_AUTO_TEST_CASE(drawn_crops_cover_all_nine_offsets_and_both_flips) {
    const augmentation settings = augmentation_for("CIFAR10");
    fds::autodiff::random_source random(1);
    std::set<std::size_t> tops, lefts;
    int flips = 0;
    for (int draw = 0; draw < 2000; ++draw) {
        const image_augmentation choice = draw_image_augmentation(settings, 32, 32, random);
        tops.insert(choice.top);
        lefts.insert(choice.left);
        flips += choice.flip;
        BOOST_REQUIRE(choice.hole_row_begin == choice.hole_row_end);
    }
    BOOST_TEST(tops.size() == 9u);
    BOOST_TEST(*tops.rbegin() == 8u);
    BOOST_TEST(lefts.size() == 9u);
    BOOST_TEST(std::abs(flips - 1000) < 140);  // Binomial(2000, 1/2): sd ~22
}

BOOST_AUTO_TEST_CASE(mnist_draws_nothing_but_cutout_when_asked) {
    fds::autodiff::random_source random(2);
    const augmentation plain = augmentation_for("MNIST");
    const image_augmentation none = draw_image_augmentation(plain, 28, 28, random);
    BOOST_TEST(none.top == 4u);
    BOOST_TEST(none.left == 4u);
    BOOST_TEST(!none.flip);
    BOOST_TEST(none.hole_row_begin == none.hole_row_end);

    // Cutout of length 16 centred uniformly: the clipped hole spans at most 16 rows and columns,
    // exactly 16 when the centre is at least 8 away from the edges.
    const augmentation cutout = augmentation_for("MNIST", true, 16, 1.0);
    int full_holes = 0;
    for (int draw = 0; draw < 500; ++draw) {
        const image_augmentation choice = draw_image_augmentation(cutout, 28, 28, random);
        BOOST_REQUIRE(choice.hole_row_end <= 28u);
        BOOST_REQUIRE(choice.hole_column_end <= 28u);
        BOOST_REQUIRE(choice.hole_row_end - choice.hole_row_begin <= 16u);
        BOOST_REQUIRE(choice.hole_row_end > choice.hole_row_begin);
        full_holes += choice.hole_row_end - choice.hole_row_begin == 16 &&
                      choice.hole_column_end - choice.hole_column_begin == 16;
    }
    // Centre rows 8..20 give a full 16-row span: probability (13/28)^2 ~ 0.22 for both axes.
    BOOST_TEST(full_holes > 60);
    BOOST_TEST(full_holes < 160);
}

BOOST_AUTO_TEST_CASE(cutout_probability_zero_never_cuts) {
    fds::autodiff::random_source random(3);
    const augmentation never = augmentation_for("CIFAR10", true, 16, 0.0);
    for (int draw = 0; draw < 200; ++draw) {
        const image_augmentation choice = draw_image_augmentation(never, 32, 32, random);
        BOOST_REQUIRE(choice.hole_row_begin == choice.hole_row_end);
    }
}
