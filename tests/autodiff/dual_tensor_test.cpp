#define BOOST_TEST_MODULE autodiff_dual_tensor
#include <boost/test/unit_test.hpp>

#include <string>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/dual_tensor.hpp>

#include "test_support.hpp"

using fds::autodiff::dual_tensor;
using xt::xarray;
namespace testing = fds::autodiff::testing;

BOOST_AUTO_TEST_CASE(constant_has_no_live_tangents_and_zero_tangents) {
    const xarray<double> v = {{1.0, 2.0}, {3.0, 4.0}};
    const dual_tensor<double> x = fds::autodiff::constant(v, 3);
    BOOST_TEST(x.tangent_count() == 3u);
    BOOST_TEST(x.live_tangents() == 0u);
    BOOST_TEST(x.dimension() == 2u);
    BOOST_TEST(x.size() == 4u);
    BOOST_TEST((x.live_tangent_block().shape() == std::vector<std::size_t>{0, 2, 2}));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::tangent(x, 2), xt::zeros<double>({2, 2})));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::tangents(x), xt::zeros<double>({3, 2, 2})));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::value(x), v));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::value(v), v));
}

BOOST_AUTO_TEST_CASE(seed_grows_the_live_prefix_with_zero_slots_below) {
    dual_tensor<double> x(xarray<double>{1.0, 2.0, 3.0}, 5);
    x.seed(2, xarray<double>{7.0, 8.0, 9.0});
    BOOST_TEST(x.live_tangents() == 3u);
    BOOST_TEST(testing::exactly_equal(fds::autodiff::tangent(x, 0), xt::zeros<double>({3})));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::tangent(x, 2), xarray<double>{7.0, 8.0, 9.0}));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::tangent(x, 4), xt::zeros<double>({3})));
    x.seed(0, xarray<double>{1.0, 1.0, 1.0});
    BOOST_TEST(x.live_tangents() == 3u);
    BOOST_TEST(testing::exactly_equal(fds::autodiff::tangent(x, 2), xarray<double>{7.0, 8.0, 9.0}));
    const xarray<double> dense = fds::autodiff::tangents(x);
    BOOST_TEST((dense.shape() == std::vector<std::size_t>{5, 3}));
    BOOST_TEST(dense(0, 1) == 1.0);
    BOOST_TEST(dense(2, 2) == 9.0);
    BOOST_TEST(dense(4, 0) == 0.0);
}

BOOST_AUTO_TEST_CASE(block_constructor_checks_the_block_shape) {
    const xarray<double> v = xt::ones<double>({2, 3});
    const dual_tensor<double> x(v, xt::ones<double>({2, 2, 3}), 4);
    BOOST_TEST(x.live_tangents() == 2u);
    try {
        dual_tensor<double>(v, xt::ones<double>({2, 3, 2}), 4);
        BOOST_FAIL("no exception");
    } catch (const std::invalid_argument& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find("[2, 3]") != std::string::npos);
        BOOST_TEST(message.find("[2, 3, 2]") != std::string::npos);
    }
    BOOST_CHECK_THROW(dual_tensor<double>(v, xt::ones<double>({5, 2, 3}), 4), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(seed_rejects_bad_slots_and_shapes) {
    dual_tensor<float> x(xt::ones<float>({4}), 2);
    BOOST_CHECK_THROW(x.seed(2, xt::ones<float>({4})), std::invalid_argument);
    BOOST_CHECK_THROW(x.seed(0, xt::ones<float>({5})), std::invalid_argument);
    BOOST_CHECK_THROW((void)fds::autodiff::tangent(x, 2), std::out_of_range);
    BOOST_CHECK_THROW(x.grow_live_tangents(3), std::invalid_argument);
}
