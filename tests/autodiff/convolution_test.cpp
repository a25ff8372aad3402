#define BOOST_TEST_MODULE autodiff_convolution
#include <boost/test/unit_test.hpp>

#include <xtensor/xarray.hpp>
#include <xtensor/xmanipulation.hpp>

#include <fds/autodiff/convolution.hpp>
#include <fds/autodiff/matmul.hpp>

#include "test_support.hpp"

using namespace fds::autodiff;
using fds::autodiff::testing::array_random_source;
using xt::xarray;

namespace {
// The slow, obvious convolution (cross-correlation, zero padding) the im2col path must match.
xarray<double> direct_convolution(const xarray<double>& x, const xarray<double>& weights, const conv_geometry& g) {
    xarray<double> y = xt::zeros<double>({g.batch, g.out_channels, g.out_height, g.out_width});
    for (std::size_t n = 0; n < g.batch; ++n)
        for (std::size_t f = 0; f < g.out_channels; ++f)
            for (std::size_t oy = 0; oy < g.out_height; ++oy)
                for (std::size_t ox = 0; ox < g.out_width; ++ox)
                    for (std::size_t c = 0; c < g.channels; ++c)
                        for (std::size_t ky = 0; ky < g.kernel; ++ky)
                            for (std::size_t kx = 0; kx < g.kernel; ++kx) {
                                const long iy = long(oy * g.stride + ky) - long(g.padding);
                                const long ix = long(ox * g.stride + kx) - long(g.padding);
                                if (iy >= 0 && ix >= 0 && iy < long(g.height) && ix < long(g.width)) {
                                    y(n, f, oy, ox) += x(n, c, iy, ix) * weights(f, c, ky, kx);
                                }
                            }
    return y;
}

// batch, channels, height, width, filters, kernel, stride, padding
const conv_geometry geometries[] = {
    make_conv_geometry(2, 2, 5, 6, 4, 3, 1, 1),
    make_conv_geometry(2, 3, 7, 7, 4, 3, 2, 0),
    make_conv_geometry(2, 3, 7, 6, 4, 2, 2, 1),
    make_conv_geometry(2, 1, 4, 4, 4, 4, 1, 2),
};
}  // namespace

BOOST_AUTO_TEST_CASE(im2col_times_weights_equals_direct_convolution) {
    array_random_source random(1);
    for (const auto& g : geometries) {
        const xarray<double> x = random.normal_array({g.batch, g.channels, g.height, g.width});
        const xarray<double> weights = random.normal_array({g.out_channels, g.channels, g.kernel, g.kernel});
        const xarray<double> cols = im2col(x, g);
        BOOST_TEST((cols.shape() == std::vector<std::size_t>{g.batch * g.out_height * g.out_width, g.patch()}));
        xarray<double> w2 = weights;
        w2.reshape({g.out_channels, g.patch()});
        // [N*OH*OW, F] -> [N, OH, OW, F] -> [N, F, OH, OW]
        xarray<double> product = matmul(cols, w2, false, true);
        product.reshape({g.batch, g.out_height, g.out_width, g.out_channels});
        const xarray<double> y = xt::transpose(product, {0, 3, 1, 2});
        BOOST_TEST(testing::relative_error(y, direct_convolution(x, weights, g)) <= 1e-14);
    }
}

BOOST_AUTO_TEST_CASE(col2im_is_the_adjoint_of_im2col) {
    // <im2col(x), c> = <x, col2im(c)>
    array_random_source random(2);
    for (const auto& geometry : geometries) {
        const conv_geometry g = geometry.with_batch(3);
        const xarray<double> x = random.normal_array({3, g.channels, g.height, g.width});
        const xarray<double> c = random.normal_array({3 * g.out_height * g.out_width, g.patch()});
        const double left = xt::sum(im2col(x, g) * c)();
        const double right = xt::sum(x * col2im(c, g))();
        BOOST_TEST(std::abs(left - right) <= 1e-12 * std::max(1.0, std::abs(left)));
    }
}

BOOST_AUTO_TEST_CASE(im2col_and_col2im_tangents_match_central_differences) {
    array_random_source random(3);
    const conv_geometry g = geometries[0];
    const xarray<double> x = random.normal_array({2, g.channels, g.height, g.width});
    const xarray<double> c = random.normal_array({2 * g.out_height * g.out_width, g.patch()});
    const auto forward = [&](const auto& in) { return im2col(in[0], g); };
    const auto backward = [&](const auto& in) { return col2im(in[0], g); };
    const auto forward_check = testing::check_against_central_differences(forward, {x}, 3, random);
    const auto backward_check = testing::check_against_central_differences(backward, {c}, 3, random);
    BOOST_TEST(forward_check.tangent_error <= 1e-7);
    BOOST_TEST(backward_check.tangent_error <= 1e-7);
    BOOST_TEST(forward_check.value_error == 0.0);
    BOOST_TEST(backward_check.value_error == 0.0);
    BOOST_TEST(testing::all_at_once_versus_one_at_a_time(forward, {x}, 3, random) == 0.0);
    BOOST_TEST(testing::live_prefix_equals_dense(backward, {c}, 3, {1}, random));
}

BOOST_AUTO_TEST_CASE(wrong_image_shapes_raise_an_error_naming_the_shapes) {
    const conv_geometry g = make_conv_geometry(2, 3, 8, 8, 4, 3, 1, 1);
    try {
        (void)im2col(xarray<double>(xt::ones<double>({2, 1, 8, 8})), g);
        BOOST_FAIL("no exception");
    } catch (const std::invalid_argument& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find("[2, 1, 8, 8]") != std::string::npos);
        BOOST_TEST(message.find("[2, 3, 8, 8]") != std::string::npos);
    }
    BOOST_CHECK_THROW((void)col2im(xarray<double>(xt::ones<double>({10, 27})), g), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_geometry_whose_kernel_does_not_fit_or_whose_output_size_is_wrong_is_refused) {
    try {
        (void)make_conv_geometry(1, 2, 2, 3, 4, 5, 1, 1);
        BOOST_FAIL("no exception");
    } catch (const std::invalid_argument& error) {
        BOOST_TEST(std::string(error.what()) ==
                   "conv_geometry: kernel 5 does not fit height 2 with padding 1 and stride 1");
    }
    BOOST_CHECK_THROW((void)make_conv_geometry(1, 2, 8, 8, 4, 3, 0, 1), std::invalid_argument);
    conv_geometry wrong = make_conv_geometry(1, 2, 8, 8, 4, 3, 1, 1);
    wrong.out_width = 7;  // 8 with padding 1
    BOOST_CHECK_THROW((void)im2col(xarray<double>(xt::ones<double>({1, 2, 8, 8})), wrong), std::invalid_argument);
    const conv_geometry strided = make_conv_geometry(1, 2, 9, 8, 4, 3, 2, 1);
    BOOST_TEST(strided.out_height == 5u);  // (9 + 2 - 3) / 2 + 1
    BOOST_TEST(strided.out_width == 4u);  // (8 + 2 - 3) / 2 + 1, rounded down
}
