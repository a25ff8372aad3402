#define BOOST_TEST_MODULE autodiff_reduction
#include <boost/test/unit_test.hpp>

#include <string>
#include <type_traits>

#include <xtensor/xarray.hpp>
#include <xtensor/xreducer.hpp>

#include <fds/autodiff/reduction.hpp>

#include "test_support.hpp"

using namespace fds::autodiff;
using fds::autodiff::testing::array_random_source;
using xt::xarray;

BOOST_AUTO_TEST_CASE(sum_and_mean_tangents_match_central_differences) {
    array_random_source random(1);
    const xarray<double> x = random.normal_array({3, 4, 5});
    const std::vector<std::vector<std::size_t>> axes_cases = {{0}, {1}, {2}, {0, 2}, {1, 2}, {0, 1, 2}};
    for (const auto& axes : axes_cases) {
        for (bool keep_dims : {false, true}) {
            const auto sum_f = [&](const auto& in) { return sum(in[0], axes, keep_dims); };
            const auto mean_f = [&](const auto& in) { return mean(in[0], axes, keep_dims); };
            const auto sum_check = testing::check_against_central_differences(sum_f, {x}, 3, random);
            const auto mean_check = testing::check_against_central_differences(mean_f, {x}, 3, random);
            BOOST_TEST(sum_check.tangent_error <= 1e-7);
            BOOST_TEST(mean_check.tangent_error <= 1e-7);
            BOOST_TEST(sum_check.value_error == 0.0);
            BOOST_TEST(mean_check.value_error == 0.0);
        }
    }
    const auto whole_sum = [](const auto& in) { return sum(in[0]); };
    const auto whole_mean = [](const auto& in) { return mean(in[0]); };
    BOOST_TEST(testing::check_against_central_differences(whole_sum, {x}, 3, random).tangent_error <= 1e-7);
    BOOST_TEST(testing::check_against_central_differences(whole_mean, {x}, 3, random).tangent_error <= 1e-7);
}

BOOST_AUTO_TEST_CASE(reduction_shapes_follow_xtensor) {
    const dual_tensor<double> x(xt::ones<double>({3, 4, 5}), 2);
    BOOST_TEST(sum(x).dimension() == 0u);
    BOOST_TEST((sum(x, {1}).shape() == std::vector<std::size_t>{3, 5}));
    BOOST_TEST((mean(x, {0, 2}, true).shape() == std::vector<std::size_t>{1, 4, 1}));
    const xarray<double> plain = array_random_source(2).normal_array({3, 4, 5});
    BOOST_TEST(testing::exactly_equal(fds::autodiff::sum(plain, {1}), xarray<double>(xt::sum(plain, {1}))));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::mean(plain, {0, 2}, true),
                                      xarray<double>(xt::mean(plain, {0, 2}, xt::keep_dims))));
    // all axes at once: xtensor's lazy sum adds in another order, so equal up to rounding
    BOOST_TEST(testing::relative_error(fds::autodiff::sum(plain), xarray<double>(xt::sum(plain))) < 1e-14);
}

BOOST_AUTO_TEST_CASE(reduction_all_at_once_equals_one_at_a_time_and_live_prefix_equals_dense) {
    array_random_source random(3);
    const xarray<double> x = random.normal_array({6, 7});
    const auto f = [](const auto& in) { return mean(sum(in[0], {1}, true), {0}); };
    BOOST_TEST(testing::all_at_once_versus_one_at_a_time(f, {x}, 4, random) == 0.0);
    BOOST_TEST(testing::live_prefix_equals_dense(f, {x}, 4, {2}, random));
}

BOOST_AUTO_TEST_CASE(project_tangents_is_the_dot_product_of_every_slot) {
    array_random_source random(4);
    dual_tensor<double> x(random.normal_array({4, 5}), 4);
    x.seed(0, random.normal_array({4, 5}));
    x.seed(1, random.normal_array({4, 5}));
    const xarray<double> direction = random.normal_array({4, 5});
    const xarray<double> projected = project_tangents(x, direction);
    BOOST_TEST((projected.shape() == std::vector<std::size_t>{4}));
    for (std::size_t k = 0; k < 4; ++k) {
        const double expected = xt::sum(tangent(x, k) * direction)();
        BOOST_TEST(std::abs(projected(k) - expected) <= 1e-13);
    }
    BOOST_TEST(projected(3) == 0.0);
    BOOST_CHECK_THROW((void)project_tangents(x, xarray<double>(xt::ones<double>({3}))), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(invalid_axes_raise_an_error_naming_axes_and_shape) {
    const dual_tensor<double> x(xt::ones<double>({3, 4}), 2);
    try {
        (void)sum(x, {2});
        BOOST_FAIL("no exception");
    } catch (const std::invalid_argument& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find("[2]") != std::string::npos);
        BOOST_TEST(message.find("[3, 4]") != std::string::npos);
    }
    BOOST_CHECK_THROW((void)mean(x, {0, 0}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(axes_may_be_listed_in_any_order) {
    array_random_source random(5);
    dual_tensor<double> x(random.normal_array({4, 5, 6}), 2);
    x.seed(1, random.normal_array({4, 5, 6}));
    BOOST_TEST(testing::exactly_equal(sum(x, {2, 0}).value(), sum(x, {0, 2}).value()));
    BOOST_TEST(testing::exactly_equal(tangents(mean(x, {2, 1}, true)), tangents(mean(x, {1, 2}, true))));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::sum(x.value(), {1, 0}),
                                      xarray<double>(xt::sum(x.value(), {0, 1}, xt::evaluation_strategy::immediate))));
}

BOOST_AUTO_TEST_CASE(sum_and_mean_along_axes_of_a_dual_without_live_tangents_give_the_plain_value) {
    // Reported crash: the empty live block [0, Sh...] went to xtensor's reducer.
    const xarray<float> x = array_random_source(5).normal_array<float>({4, 3, 5, 5});
    for (std::size_t tangent_count : {std::size_t(0), std::size_t(9)}) {
        const dual_tensor<float> constant_x(x, tangent_count);
        for (bool keep_dims : {false, true}) {
            for (const std::vector<std::size_t>& axes :
                 {std::vector<std::size_t>{0, 2, 3}, std::vector<std::size_t>{0}, std::vector<std::size_t>{}}) {
                const dual_tensor<float> total = fds::autodiff::sum(constant_x, axes, keep_dims);
                const dual_tensor<float> average = fds::autodiff::mean(constant_x, axes, keep_dims);
                BOOST_TEST(total.live_tangents() == 0u);
                BOOST_TEST(total.tangent_count() == tangent_count);
                BOOST_TEST((total.value() == fds::autodiff::sum(x, axes, keep_dims)));
                BOOST_TEST((average.value() == fds::autodiff::mean(x, axes, keep_dims)));
            }
        }
    }
}
