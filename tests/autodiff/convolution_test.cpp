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
    const std::size_t batch = x.shape()[0];
    const std::size_t filters = weights.shape()[0];
    xarray<double> y = xt::zeros<double>({batch, filters, g.output_h(), g.output_w()});
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t f = 0; f < filters; ++f)
            for (std::size_t oy = 0; oy < g.output_h(); ++oy)
                for (std::size_t ox = 0; ox < g.output_w(); ++ox)
                    for (std::size_t c = 0; c < g.channels; ++c)
                        for (std::size_t ky = 0; ky < g.kernel_h; ++ky)
                            for (std::size_t kx = 0; kx < g.kernel_w; ++kx) {
                                const long iy = long(oy * g.stride + ky) - long(g.padding);
                                const long ix = long(ox * g.stride + kx) - long(g.padding);
                                if (iy >= 0 && ix >= 0 && iy < long(g.height) && ix < long(g.width)) {
                                    y(n, f, oy, ox) += x(n, c, iy, ix) * weights(f, c, ky, kx);
                                }
                            }
    return y;
}

const conv_geometry geometries[] = {
    {2, 5, 6, 3, 3, 1, 1},
    {3, 7, 7, 3, 2, 2, 0},
    {1, 4, 4, 4, 4, 1, 2},
};
}  // namespace

BOOST_AUTO_TEST_CASE(im2col_times_weights_equals_direct_convolution) {
    array_random_source random(1);
    for (const auto& g : geometries) {
        const xarray<double> x = random.normal_array({2, g.channels, g.height, g.width});
        const xarray<double> weights = random.normal_array({4, g.channels, g.kernel_h, g.kernel_w});
        const xarray<double> cols = im2col(x, g);
        BOOST_TEST((cols.shape() == std::vector<std::size_t>{2 * g.output_h() * g.output_w(), g.patch_size()}));
        xarray<double> w2 = weights;
        w2.reshape({4, g.patch_size()});
        // [N*OH*OW, F] -> [N, OH, OW, F] -> [N, F, OH, OW]
        xarray<double> product = matmul(cols, w2, false, true);
        product.reshape({2, g.output_h(), g.output_w(), 4});
        const xarray<double> y = xt::transpose(product, {0, 3, 1, 2});
        BOOST_TEST(testing::relative_error(y, direct_convolution(x, weights, g)) <= 1e-14);
    }
}

BOOST_AUTO_TEST_CASE(col2im_is_the_adjoint_of_im2col) {
    // <im2col(x), c> = <x, col2im(c)>
    array_random_source random(2);
    for (const auto& g : geometries) {
        const xarray<double> x = random.normal_array({3, g.channels, g.height, g.width});
        const xarray<double> c = random.normal_array({3 * g.output_h() * g.output_w(), g.patch_size()});
        const double left = xt::sum(im2col(x, g) * c)();
        const double right = xt::sum(x * col2im(c, g, 3))();
        BOOST_TEST(std::abs(left - right) <= 1e-12 * std::max(1.0, std::abs(left)));
    }
}

BOOST_AUTO_TEST_CASE(im2col_and_col2im_tangents_match_central_differences) {
    array_random_source random(3);
    const conv_geometry g = geometries[0];
    const xarray<double> x = random.normal_array({2, g.channels, g.height, g.width});
    const xarray<double> c = random.normal_array({2 * g.output_h() * g.output_w(), g.patch_size()});
    const auto forward = [&](const auto& in) { return im2col(in[0], g); };
    const auto backward = [&](const auto& in) { return col2im(in[0], g, 2); };
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
    const conv_geometry g{3, 8, 8, 3, 3, 1, 1};
    try {
        (void)im2col(xarray<double>(xt::ones<double>({2, 1, 8, 8})), g);
        BOOST_FAIL("no exception");
    } catch (const std::invalid_argument& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find("[2, 1, 8, 8]") != std::string::npos);
        BOOST_TEST(message.find("[0, 3, 8, 8]") != std::string::npos);
    }
    BOOST_CHECK_THROW((void)col2im(xarray<double>(xt::ones<double>({10, 27})), g, 1), std::invalid_argument);
    const conv_geometry too_big{1, 2, 2, 5, 5, 1, 0};
    BOOST_CHECK_THROW((void)too_big.output_h(), std::invalid_argument);
}
