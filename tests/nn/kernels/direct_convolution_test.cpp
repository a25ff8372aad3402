#define BOOST_TEST_MODULE nn_direct_convolution
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <vector>

#include <fds/nn/kernels/conv_layout.hpp>
#include <fds/nn/kernels/convolution_input_gradient.hpp>
#include <fds/nn/kernels/direct_convolution.hpp>
#include <fds/autodiff/random.hpp>

#include "../convolution_definitions.hpp"

using namespace fds::nn;
using namespace fds::nn::test;
using detail::conv_shape;

namespace {

// Shapes where the kernels apply, in float and double: 1-3 channels, kernels 1 to 5 (patches of
// 1 to 75 entries: every remainder of the 5-entry tiles), output rows of 1 to 3 vectors, one to
// nine images (groups of whole images in the weight gradient), weight rows 1 to 7 (the 4-row
// tiles' remainders).
template <class Scalar>
std::vector<conv_shape> shapes() {
    constexpr std::size_t lanes = detail::vector32_lanes<Scalar>;
    std::vector<conv_shape> result;
    for (std::size_t kernel : {1, 2, 3, 5}) {
        for (std::size_t channels : {1, 3}) {
            for (std::size_t vectors : {1, 3}) {
                const std::size_t out_width = vectors * lanes, out_height = 2 + kernel % 3;
                const std::size_t batch = kernel == 2 ? 9 : 2;
                result.push_back({batch, channels, out_height + kernel - 1, out_width + kernel - 1, 0, kernel, 1, 0,
                                  out_height, out_width});
            }
        }
    }
    return result;
}

template <class Scalar>
void check_products(double tolerance) {
    fds::autodiff::random_source random(17);
    for (const conv_shape& s : shapes<Scalar>()) {
        BOOST_REQUIRE(detail::algorithm_for<Scalar>(detail::convolution_product::forward, s) !=
                      detail::convolution_algorithm::columns);
        for (std::size_t rows : {1, 4, 7}) {
            BOOST_TEST_CONTEXT("images " << s.batch << ", channels " << s.channels << ", kernel " << s.kernel
                                         << ", output width " << s.out_width << ", rows " << rows) {
                const auto x = random_values<Scalar>(s.input_size(), random);
                const auto w = random_values<Scalar>(rows * s.patch(), random);
                const auto g = random_values<Scalar>(rows * s.columns(), random);
                const auto start = random_values<Scalar>(rows * s.columns(), random);
                const auto weight_start = random_values<Scalar>(rows * s.patch(), random);

                std::vector<Scalar> product(rows * s.columns(), Scalar(7));  // overwritten
                detail::direct_convolve(w.data(), rows, x.data(), s, false, product.data());
                const auto expected = convolution_by_definition(w, rows, x, s);
                check_close(product, expected, tolerance);

                std::vector<Scalar> accumulated = start;
                detail::direct_convolve(w.data(), rows, x.data(), s, true, accumulated.data());
                check_close(accumulated, added_to(expected, start), tolerance);

                std::vector<Scalar> weight_gradient = weight_start;
                detail::direct_weight_gradient_add(g.data(), rows, x.data(), s, weight_gradient.data());
                check_close(weight_gradient, added_to(weight_gradient_by_definition(g, rows, x, s), weight_start),
                            tolerance);
            }
        }
    }
}

// Row m of a product over stacked rows must have the bits of the product of row m alone: the
// kernels compute [W; dW_0; ...] at once, and K tangents at once must equal K runs of one.
template <class Scalar>
void check_rows_alone_and_stacked() {
    fds::autodiff::random_source random(23);
    const std::size_t rows = 7;
    for (const conv_shape& s : shapes<Scalar>()) {
        BOOST_TEST_CONTEXT("images " << s.batch << ", channels " << s.channels << ", kernel " << s.kernel
                                     << ", output width " << s.out_width) {
            const auto x = random_values<Scalar>(s.input_size(), random);
            const auto w = random_values<Scalar>(rows * s.patch(), random);
            const auto g = random_values<Scalar>(rows * s.columns(), random);
            std::vector<Scalar> stacked(rows * s.columns()), stacked_gradient(rows * s.patch(), Scalar(0));
            detail::direct_convolve(w.data(), rows, x.data(), s, false, stacked.data());
            detail::direct_weight_gradient_add(g.data(), rows, x.data(), s, stacked_gradient.data());
            for (std::size_t m = 0; m < rows; ++m) {
                std::vector<Scalar> alone(s.columns()), alone_gradient(s.patch(), Scalar(0));
                detail::direct_convolve(w.data() + m * s.patch(), 1, x.data(), s, false, alone.data());
                detail::direct_weight_gradient_add(g.data() + m * s.columns(), 1, x.data(), s, alone_gradient.data());
                BOOST_TEST((std::equal(alone.begin(), alone.end(), stacked.begin() + m * s.columns())), "row " << m);
                BOOST_TEST((std::equal(alone_gradient.begin(), alone_gradient.end(),
                                       stacked_gradient.begin() + m * s.patch())),
                           "gradient row " << m);
            }
        }
    }
}

template <class Scalar>
void check_input_gradient(double tolerance) {
    fds::autodiff::random_source random(29);
    constexpr std::size_t lanes = detail::vector32_lanes<Scalar>;
    // height 4 (even): the gradient of a 3x3 kernel runs by Winograd's algorithm; height 3 by the direct kernels
    for (std::size_t height : {3, 4}) {
        for (std::size_t kernel : {1, 3, 5}) {
            for (std::size_t padding = (kernel - 1 + 1) / 2; padding < kernel; ++padding) {
                for (std::size_t channels : {1, 3}) {
                    for (std::size_t rows : {1, 4, 7}) {
                        const std::size_t width = 2 * lanes;
                        const conv_shape s{{2, channels, height, width, rows, kernel, 1, padding,
                                            height + 2 * padding - kernel + 1, width + 2 * padding - kernel + 1}};
                        BOOST_TEST_CONTEXT("height " << height << ", kernel " << kernel << ", padding " << padding
                                                     << ", channels " << channels << ", rows " << rows) {
                            BOOST_REQUIRE(detail::algorithm_for<Scalar>(detail::convolution_product::input_gradient,
                                                                        s) != detail::convolution_algorithm::columns);
                            const auto w = random_values<Scalar>(rows * s.patch(), random);
                            const auto g = random_values<Scalar>(rows * s.columns(), random);
                            std::vector<Scalar> padded(detail::padded_gradient_size(s, rows), Scalar(-1));
                            std::vector<Scalar> gradient(s.input_size(), Scalar(7));  // overwritten
                            detail::direct_input_gradient(detail::flip_weights(w.data(), rows, s), g.data(), s,
                                                          padded.data(), gradient.data());
                            check_close(gradient, input_gradient_by_definition(w, rows, g, s), tolerance);
                        }
                    }
                }
            }
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(direct_input_gradient_equals_its_definition) {
    check_input_gradient<double>(1e-13);
    check_input_gradient<float>(2e-5);
}

BOOST_AUTO_TEST_CASE(direct_products_equal_their_definitions_in_double) { check_products<double>(1e-13); }

BOOST_AUTO_TEST_CASE(direct_products_equal_their_definitions_in_float) { check_products<float>(2e-5); }

BOOST_AUTO_TEST_CASE(direct_products_give_each_row_the_same_bits_alone_or_stacked) {
    check_rows_alone_and_stacked<double>();
    check_rows_alone_and_stacked<float>();
}

// A padded convolution runs the kernels on a copy of its images with a zero border.
BOOST_AUTO_TEST_CASE(padded_images_surround_each_plane_with_zeros) {
    //                N  C  H  W  O  K  stride padding OH OW
    const conv_shape s{{2, 3, 4, 5, 1, 3, 1, 2, 6, 7}};
    std::vector<double> x(s.input_size());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = double(i + 1);
    std::vector<double> padded(2 * 3 * 8 * 9, -1.0);
    const conv_shape unpadded = detail::padded_images(x.data(), s, padded.data());
    BOOST_TEST(unpadded.height == 8u);
    BOOST_TEST(unpadded.width == 9u);
    BOOST_TEST(unpadded.padding == 0u);
    BOOST_TEST(unpadded.out_height == 6u);
    BOOST_TEST(unpadded.out_width == 7u);
    for (std::size_t plane = 0; plane < 6; ++plane)
        for (std::size_t y = 0; y < 8; ++y)
            for (std::size_t x_position = 0; x_position < 9; ++x_position) {
                const bool inside = y >= 2 && y < 6 && x_position >= 2 && x_position < 7;
                const double expected = inside ? x[(plane * 4 + y - 2) * 5 + x_position - 2] : 0.0;
                BOOST_TEST(padded[(plane * 8 + y) * 9 + x_position] == expected,
                           "plane " << plane << ", y " << y << ", x " << x_position);
            }
}
