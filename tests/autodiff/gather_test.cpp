#define BOOST_TEST_MODULE autodiff_gather
#include <boost/test/unit_test.hpp>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/gather.hpp>

#include "test_support.hpp"

using namespace fds::autodiff;
using fds::autodiff::testing::array_random_source;
using xt::xarray;

BOOST_AUTO_TEST_CASE(gather_and_scatter_tangents_match_central_differences) {
    array_random_source random(1);
    const xarray<double> x = random.normal_array({3, 4});
    const xarray<std::size_t> indices = {{0, 5}, {11, 5}, {7, 2}};
    const auto gather_f = [&](const auto& in) { return gather_flat(in[0], indices); };
    const xarray<double> values = random.normal_array({3, 2});
    const auto scatter_f = [&](const auto& in) { return scatter_add_flat(in[0], indices, {3, 4}); };
    const auto gather_check = testing::check_against_central_differences(gather_f, {x}, 3, random);
    const auto scatter_check = testing::check_against_central_differences(scatter_f, {values}, 3, random);
    BOOST_TEST(gather_check.tangent_error <= 1e-7);
    BOOST_TEST(scatter_check.tangent_error <= 1e-7);
    BOOST_TEST(gather_check.value_error == 0.0);
    BOOST_TEST(scatter_check.value_error == 0.0);
}

BOOST_AUTO_TEST_CASE(scatter_add_is_the_adjoint_of_gather) {
    // <gather(x), v> = <x, scatter_add(v)> for every x, v: repeated indices add up.
    array_random_source random(2);
    const xarray<double> x = random.normal_array({5, 2});
    const xarray<std::size_t> indices = {3, 3, 9, 0, 4, 3};
    const xarray<double> v = random.normal_array({6});
    const double left = xt::sum(gather_flat(x, indices) * v)();
    const double right = xt::sum(x * scatter_add_flat(v, indices, {5, 2}))();
    BOOST_TEST(std::abs(left - right) <= 1e-13);
    BOOST_TEST(gather_flat(x, indices)(1) == x(1, 1));
}

BOOST_AUTO_TEST_CASE(gather_live_prefix_equals_dense) {
    array_random_source random(3);
    const xarray<double> x = random.normal_array({10});
    const xarray<std::size_t> indices = {9, 0, 0, 4};
    const auto f = [&](const auto& in) { return scatter_add_flat(gather_flat(in[0], indices), indices, {10}); };
    BOOST_TEST(testing::live_prefix_equals_dense(f, {x}, 4, {2}, random));
    BOOST_TEST(testing::all_at_once_versus_one_at_a_time(f, {x}, 4, random) == 0.0);
}

BOOST_AUTO_TEST_CASE(out_of_range_indices_raise_an_error_naming_the_shape) {
    const dual_tensor<double> x(xt::ones<double>({2, 3}), 2);
    try {
        (void)gather_flat(x, xarray<std::size_t>{6});
        BOOST_FAIL("no exception");
    } catch (const std::out_of_range& error) {
        BOOST_TEST(std::string(error.what()).find("[2, 3]") != std::string::npos);
    }
    BOOST_CHECK_THROW((void)scatter_add_flat(x, xarray<std::size_t>{0, 1}, {6}), std::invalid_argument);
}
