#define BOOST_TEST_MODULE autodiff_shape
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>

#include <xtensor/xarray.hpp>
#include <xtensor/xmanipulation.hpp>

#include <fds/autodiff/shape.hpp>

#include "test_support.hpp"

using namespace fds::autodiff;
using fds::autodiff::testing::array_random_source;
using xt::xarray;

BOOST_AUTO_TEST_CASE(shape_operations_tangents_match_central_differences) {
    array_random_source random(1);
    const xarray<double> x = random.normal_array({2, 3, 4});
    const auto reshape_f = [](const auto& in) { return reshape(in[0], {4, 6}); };
    const auto flatten_f = [](const auto& in) { return flatten(in[0]); };
    const auto transpose_f = [](const auto& in) { return transpose(in[0], {2, 0, 1}); };
    const auto slice_f = [](const auto& in) { return slice_flat(in[0], 5, {3, 2}); };
    for (const auto& check : {testing::check_against_central_differences(reshape_f, {x}, 3, random),
                              testing::check_against_central_differences(flatten_f, {x}, 3, random),
                              testing::check_against_central_differences(transpose_f, {x}, 3, random),
                              testing::check_against_central_differences(slice_f, {x}, 3, random)}) {
        BOOST_TEST(check.tangent_error <= 1e-7);
        BOOST_TEST(check.value_error == 0.0);
    }
}

BOOST_AUTO_TEST_CASE(transpose_moves_tangents_with_values) {
    array_random_source random(2);
    dual_tensor<double> x(random.normal_array({2, 3, 4}), 3);
    x.seed(1, random.normal_array({2, 3, 4}));
    const dual_tensor<double> y = transpose(x, {1, 2, 0});
    BOOST_TEST((y.shape() == std::vector<std::size_t>{3, 4, 2}));
    BOOST_TEST(testing::exactly_equal(tangent(y, 1), xarray<double>(xt::transpose(tangent(x, 1), {1, 2, 0}))));
    BOOST_TEST(testing::exactly_equal(transpose(x.value(), {1, 2, 0}), y.value()));
}

BOOST_AUTO_TEST_CASE(add_into_flat_accumulates_values_and_grows_tangents) {
    dual_tensor<double> target(xt::zeros<double>({6}), 4);
    target.seed(0, xarray<double>{1, 1, 1, 1, 1, 1});
    dual_tensor<double> part(xarray<double>{{1, 2}, {3, 4}}, 4);
    part.seed(2, xarray<double>{{5, 6}, {7, 8}});
    add_into_flat(target, 1, part);
    add_into_flat(target, 2, part);
    BOOST_TEST(target.live_tangents() == 3u);
    BOOST_TEST(testing::exactly_equal(target.value(), xarray<double>{0, 1, 3, 5, 7, 4}));
    BOOST_TEST(testing::exactly_equal(tangent(target, 0), xarray<double>{1, 1, 1, 1, 1, 1}));
    BOOST_TEST(testing::exactly_equal(tangent(target, 2), xarray<double>{0, 5, 11, 13, 15, 8}));
    BOOST_CHECK_THROW(add_into_flat(target, 3, part), std::invalid_argument);
    xarray<double> plain = xt::zeros<double>({6});
    add_into_flat(plain, 1, part.value());
    BOOST_TEST(testing::exactly_equal(plain, xarray<double>{0, 1, 2, 3, 4, 0}));
}

BOOST_AUTO_TEST_CASE(slice_flat_then_add_into_flat_round_trips_a_parameter_vector) {
    array_random_source random(3);
    dual_tensor<double> parameters(random.normal_array({20}), 3);
    parameters.seed(0, random.normal_array({20}));
    parameters.seed(2, random.normal_array({20}));
    const dual_tensor<double> weight = slice_flat(parameters, 0, {3, 4});
    const dual_tensor<double> bias = slice_flat(parameters, 12, {8});
    const dual_tensor<double> joined = concatenate_flat(std::vector<dual_tensor<double>>{weight, bias});
    BOOST_TEST(testing::exactly_equal(joined.value(), parameters.value()));
    BOOST_TEST(testing::exactly_equal(tangents(joined), tangents(parameters)));
    const xarray<double> plain_joined = concatenate_flat(std::vector<xarray<double>>{weight.value(), bias.value()});
    BOOST_TEST(testing::exactly_equal(plain_joined, parameters.value()));
}

BOOST_AUTO_TEST_CASE(bad_shapes_raise_errors_naming_them) {
    const dual_tensor<double> x(xt::ones<double>({2, 3}), 2);
    try {
        (void)reshape(x, {4, 2});
        BOOST_FAIL("no exception");
    } catch (const std::invalid_argument& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find("[2, 3]") != std::string::npos);
        BOOST_TEST(message.find("[4, 2]") != std::string::npos);
    }
    BOOST_CHECK_THROW((void)transpose(x, {0, 0}), std::invalid_argument);
    BOOST_CHECK_THROW((void)slice_flat(x, 4, {3}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(transpose_agrees_with_xtensor_for_every_permutation) {
    // Unit extents and axes that stay adjacent exercise the merging; 17 and 33 cross tile edges.
    array_random_source random(4);
    const std::vector<std::vector<std::size_t>> shapes = {{3, 17, 1, 33}, {2, 5, 7, 4}, {1, 1, 6, 1}};
    for (const auto& shape : shapes) {
        const xarray<double> x = random.normal_array(shape);
        std::vector<std::size_t> permutation{0, 1, 2, 3};
        do {
            const xarray<double> expected = xt::transpose(x, permutation);
            BOOST_TEST(testing::exactly_equal(fds::autodiff::transpose(x, permutation), expected));
        } while (std::next_permutation(permutation.begin(), permutation.end()));
    }
    const xarray<double> matrix = random.normal_array({40, 50});
    BOOST_TEST(testing::exactly_equal(fds::autodiff::transpose(matrix, {1, 0}), xarray<double>(xt::transpose(matrix))));
}
