#define BOOST_TEST_MODULE nn_winograd_convolution
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <vector>

#include <fds/autodiff/random.hpp>
#include <fds/nn/kernels/convolution_algorithm.hpp>
#include <fds/nn/kernels/winograd_convolution.hpp>
#include <fds/nn/kernels/winograd_weight_gradient.hpp>

#include "../convolution_definitions.hpp"

using namespace fds::nn;
using namespace fds::nn::test;
using detail::conv_shape;

namespace {

// 3x3 convolutions of unpadded images where Winograd's algorithm applies, in float and double:
// 1, 3 or 17 channels; output rows of 1 or 3 vectors, 2 or 4 of them; 1 to 3 images, so the
// number of tile groups is odd (the last tile vector half used) or even.
template <class Scalar>
std::vector<conv_shape> shapes() {
    constexpr std::size_t lanes = detail::vector32_lanes<Scalar>;
    std::vector<conv_shape> result;
    for (std::size_t channels : {1, 3, 17}) {
        for (std::size_t vectors : {1, 3}) {
            for (std::size_t out_height : {2, 4}) {
                for (std::size_t batch : {1, 2, 3}) {
                    const std::size_t out_width = vectors * lanes;
                    result.push_back(
                        {batch, channels, out_height + 2, out_width + 2, 0, 3, 1, 0, out_height, out_width});
                }
            }
        }
    }
    return result;
}

// In both layouts the kernels write: rows [rows, n * positions] and NCHW [n, rows, positions];
// stored and added (accumulate); weight rows 1 to 13 (every remainder of the 4-row tiles).
template <class Scalar>
void check_products(double tolerance) {
    fds::autodiff::random_source random(31);
    for (const conv_shape& s : shapes<Scalar>()) {
        BOOST_REQUIRE(detail::algorithm_for<Scalar>(detail::convolution_product::forward, s) ==
                      detail::convolution_algorithm::winograd);
        for (std::size_t rows : {1, 4, 7, 13}) {
            BOOST_TEST_CONTEXT("images " << s.batch << ", channels " << s.channels << ", output " << s.out_height << "x"
                                         << s.out_width << ", rows " << rows) {
                const auto x = random_values<Scalar>(s.input_size(), random);
                const auto w = random_values<Scalar>(rows * s.patch(), random);
                const auto start = random_values<Scalar>(rows * s.columns(), random);
                const auto filters = detail::transform_filters(w.data(), rows, s.channels);
                const auto expected = convolution_by_definition(w, rows, x, s);  // [rows, n * positions]

                std::vector<Scalar> product(rows * s.columns(), Scalar(7));  // overwritten
                detail::winograd_convolve(filters, x.data(), s, false, product.data(), s.columns(), s.positions());
                check_close(product, expected, tolerance);

                std::vector<Scalar> accumulated = start;
                detail::winograd_convolve(filters, x.data(), s, true, accumulated.data(), s.columns(), s.positions());
                check_close(accumulated, added_to(expected, start), tolerance);

                std::vector<Scalar> nchw(rows * s.columns(), Scalar(7));
                detail::winograd_convolve(filters, x.data(), s, false, nchw.data(), s.positions(),
                                          rows * s.positions());
                std::vector<long double> expected_nchw(expected.size());
                for (std::size_t m = 0; m < rows; ++m)
                    for (std::size_t n = 0; n < s.batch; ++n)
                        for (std::size_t p = 0; p < s.positions(); ++p)
                            expected_nchw[(n * rows + m) * s.positions() + p] =
                                expected[m * s.columns() + n * s.positions() + p];
                check_close(nchw, expected_nchw, tolerance);
            }
        }
    }
}

// target += g x^T from its definition, for the shapes above with 16 or 17 channels (where
// winograd_weight_gradient_add applies; 17 leaves a channel block mostly empty), unpadded and
// padded by 1 (the kernel adds the border itself), and 1 to 18 gradient rows (blocks of 12 in
// tiles of 6: every kind of remainder)
template <class Scalar>
void check_weight_gradients(double tolerance) {
    fds::autodiff::random_source random(41);
    for (conv_shape unpadded : shapes<Scalar>()) {
        unpadded.channels = unpadded.channels == 17 ? 17 : 16;
        conv_shape padded = unpadded;
        padded.height = unpadded.out_height;
        padded.width = unpadded.out_width;
        padded.padding = 1;
        for (const conv_shape& s : {unpadded, padded}) {
            BOOST_REQUIRE(detail::algorithm_for<Scalar>(detail::convolution_product::weight_gradient, s) ==
                          detail::convolution_algorithm::winograd);
            for (std::size_t rows : {1, 4, 7, 13, 18}) {
                BOOST_TEST_CONTEXT("images " << s.batch << ", channels " << s.channels << ", output " << s.out_height
                                             << "x" << s.out_width << ", padding " << s.padding << ", rows " << rows) {
                    const auto x = random_values<Scalar>(s.input_size(), random);
                    const auto g = random_values<Scalar>(rows * s.columns(), random);
                    const auto start = random_values<Scalar>(rows * s.patch(), random);
                    std::vector<Scalar> gradient = start;
                    detail::winograd_weight_gradient_add(g.data(), rows, x.data(), s, gradient.data());
                    check_close(gradient, added_to(weight_gradient_by_definition(g, rows, x, s), start), tolerance);
                }
            }
        }
    }
}

// Row m of a product over stacked rows has the bits of row m alone: [W; dW_0; ...] at once must
// equal K runs of one.
template <class Scalar>
void check_rows_alone_and_stacked() {
    fds::autodiff::random_source random(37);
    const std::size_t rows = 7;
    for (const conv_shape& s : shapes<Scalar>()) {
        BOOST_TEST_CONTEXT("images " << s.batch << ", channels " << s.channels << ", output " << s.out_height << "x"
                                     << s.out_width) {
            const auto x = random_values<Scalar>(s.input_size(), random);
            const auto w = random_values<Scalar>(rows * s.patch(), random);
            std::vector<Scalar> stacked(rows * s.columns());
            detail::winograd_convolve(detail::transform_filters(w.data(), rows, s.channels), x.data(), s, false,
                                      stacked.data(), s.columns(), s.positions());
            const auto g = random_values<Scalar>(rows * s.columns(), random);
            std::vector<Scalar> stacked_gradient(rows * s.patch(), Scalar(0));
            detail::winograd_weight_gradient_add(g.data(), rows, x.data(), s, stacked_gradient.data());
            for (std::size_t m = 0; m < rows; ++m) {
                std::vector<Scalar> alone(s.columns()), alone_gradient(s.patch(), Scalar(0));
                detail::winograd_convolve(detail::transform_filters(w.data() + m * s.patch(), 1, s.channels), x.data(),
                                          s, false, alone.data(), s.columns(), s.positions());
                detail::winograd_weight_gradient_add(g.data() + m * s.columns(), 1, x.data(), s, alone_gradient.data());
                BOOST_TEST((std::equal(alone.begin(), alone.end(), stacked.begin() + m * s.columns())), "row " << m);
                BOOST_TEST((std::equal(alone_gradient.begin(), alone_gradient.end(),
                                       stacked_gradient.begin() + m * s.patch())),
                           "gradient row " << m);
            }
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(winograd_products_equal_their_definitions_in_double) { check_products<double>(1e-13); }

BOOST_AUTO_TEST_CASE(winograd_products_equal_their_definitions_in_float) { check_products<float>(2e-5); }

BOOST_AUTO_TEST_CASE(winograd_weight_gradients_equal_their_definitions_in_double) {
    check_weight_gradients<double>(1e-13);
}

BOOST_AUTO_TEST_CASE(winograd_weight_gradients_equal_their_definitions_in_float) {
    check_weight_gradients<float>(2e-5);
}

BOOST_AUTO_TEST_CASE(winograd_products_give_each_row_the_same_bits_alone_or_stacked) {
    check_rows_alone_and_stacked<double>();
    check_rows_alone_and_stacked<float>();
}
