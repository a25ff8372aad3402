#define BOOST_TEST_MODULE autodiff_matmul
#include <boost/test/unit_test.hpp>

#include <string>
#include <type_traits>

#include <xtensor/xarray.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xview.hpp>

#include <fds/autodiff/matmul.hpp>

#include "test_support.hpp"

using namespace fds::autodiff;
using fds::autodiff::testing::array_random_source;
using xt::xarray;

namespace {
// The slow, obvious product the GEMM path must agree with.
xarray<double> naive_product(const xarray<double>& a, const xarray<double>& b) {
    xarray<double> c = xt::zeros<double>({a.shape()[0], b.shape()[1]});
    for (std::size_t i = 0; i < a.shape()[0]; ++i) {
        for (std::size_t j = 0; j < b.shape()[1]; ++j) {
            for (std::size_t k = 0; k < a.shape()[1]; ++k) {
                c(i, j) += a(i, k) * b(k, j);
            }
        }
    }
    return c;
}

xarray<double> transposed(const xarray<double>& x) { return xt::transpose(x); }

// Stored shape of an operand whose op() has `rows` x `columns`.
std::vector<std::size_t> stored_shape(std::size_t rows, std::size_t columns, bool transpose) {
    return transpose ? std::vector<std::size_t>{columns, rows} : std::vector<std::size_t>{rows, columns};
}
}  // namespace

BOOST_AUTO_TEST_CASE(plain_matmul_agrees_with_naive_product_for_every_transpose) {
    array_random_source random(1);
    for (bool transpose_a : {false, true}) {
        for (bool transpose_b : {false, true}) {
            const xarray<double> a = random.normal_array(stored_shape(7, 5, transpose_a));
            const xarray<double> b = random.normal_array(stored_shape(5, 3, transpose_b));
            const xarray<double> expected =
                naive_product(transpose_a ? transposed(a) : a, transpose_b ? transposed(b) : b);
            BOOST_TEST(testing::relative_error(matmul(a, b, transpose_a, transpose_b), expected) <= 1e-14);
        }
    }
}

BOOST_AUTO_TEST_CASE(matmul_tangent_matches_central_difference) {
    array_random_source random(2);
    for (bool transpose_a : {false, true}) {
        for (bool transpose_b : {false, true}) {
            const xarray<double> a = random.normal_array(stored_shape(6, 4, transpose_a));
            const xarray<double> b = random.normal_array(stored_shape(4, 5, transpose_b));
            const auto function = [=](const auto& in) { return matmul(in[0], in[1], transpose_a, transpose_b); };
            const auto check = testing::check_against_central_differences(function, {a, b}, 3, random);
            BOOST_TEST(check.tangent_error <= 1e-7);
            BOOST_TEST(check.value_error == 0.0);
        }
    }
}

BOOST_AUTO_TEST_CASE(matmul_with_a_plain_factor_matches_central_difference) {
    array_random_source random(3);
    const xarray<double> a = random.normal_array({5, 4});
    const xarray<double> b = random.normal_array({4, 6});
    const auto left_plain = [&](const auto& in) { return matmul(a, in[0]); };
    const auto right_plain = [&](const auto& in) { return matmul(in[0], b, false, false); };
    BOOST_TEST(testing::check_against_central_differences(left_plain, {b}, 3, random).tangent_error <= 1e-7);
    BOOST_TEST(testing::check_against_central_differences(right_plain, {a}, 3, random).tangent_error <= 1e-7);
}

BOOST_AUTO_TEST_CASE(matmul_all_tangents_at_once_equal_one_tangent_at_a_time_exactly) {
    // Bitwise: double GEMMs sum every entry in one fixed order wherever it sits in the stacked
    // product (blas.hpp). OpenBLAS would not: it sums edge tiles and thread partitions in other
    // orders, and stacked tangents then differ from one-slot runs by up to 5e-16 of the largest
    // entry. The shapes cover edge tiles (33x17x9) and all four transpose combinations.
    array_random_source random(4);
    for (bool transpose_a : {false, true}) {
        for (bool transpose_b : {false, true}) {
            const xarray<double> a = random.normal_array(stored_shape(33, 17, transpose_a));
            const xarray<double> b = random.normal_array(stored_shape(17, 9, transpose_b));
            const auto function = [=](const auto& in) { return matmul(in[0], in[1], transpose_a, transpose_b); };
            BOOST_TEST(testing::all_at_once_versus_one_at_a_time(function, {a, b}, 5, random) == 0.0);
        }
    }
}

BOOST_AUTO_TEST_CASE(matmul_live_prefix_equals_dense_computation) {
    array_random_source random(5);
    const xarray<double> a = random.normal_array({8, 6});
    const xarray<double> b = random.normal_array({6, 7});
    for (bool transpose_b : {false, true}) {
        const xarray<double> b_stored = transpose_b ? transposed(b) : b;
        const auto function = [=](const auto& in) { return matmul(in[0], in[1], false, transpose_b); };
        BOOST_TEST(testing::live_prefix_equals_dense(function, {a, b_stored}, 5, {1, 4}, random));
        BOOST_TEST(testing::live_prefix_equals_dense(function, {a, b_stored}, 5, {4, 1}, random));
        BOOST_TEST(testing::live_prefix_equals_dense(function, {a, b_stored}, 5, {0, 2}, random));
        BOOST_TEST(testing::live_prefix_equals_dense(function, {a, b_stored}, 5, {3, 0}, random));
    }
}

BOOST_AUTO_TEST_CASE(matmul_product_rule_agrees_with_naive_products_per_slot) {
    // dC_k = dA_k B + A dB_k, computed slot by slot with the naive product.
    array_random_source random(6);
    const xarray<double> a = random.normal_array({9, 4});
    const xarray<double> b = random.normal_array({4, 11});
    dual_tensor<double> x(a, 3);
    dual_tensor<double> y(b, 3);
    for (std::size_t k = 0; k < 3; ++k) {
        x.seed(k, random.normal_array({9, 4}));
        y.seed(k, random.normal_array({4, 11}));
    }
    const dual_tensor<double> c = matmul(x, y);
    for (std::size_t k = 0; k < 3; ++k) {
        const xarray<double> expected = naive_product(tangent(x, k), b) + naive_product(a, tangent(y, k));
        BOOST_TEST(testing::relative_error(tangent(c, k), expected) <= 1e-14);
    }
}

BOOST_AUTO_TEST_CASE(batched_matmul_matches_central_difference_and_per_entry_products) {
    array_random_source random(7);
    const xarray<double> a = random.normal_array({3, 4, 5});
    const xarray<double> b = random.normal_array({3, 5, 2});
    const auto function = [](const auto& in) { return batched_matmul(in[0], in[1]); };
    const auto check = testing::check_against_central_differences(function, {a, b}, 3, random);
    BOOST_TEST(check.tangent_error <= 1e-7);
    BOOST_TEST(check.value_error == 0.0);
    const xarray<double> plain = batched_matmul(a, b);
    for (std::size_t index = 0; index < 3; ++index) {
        const xarray<double> a_entry = xt::view(a, index);
        const xarray<double> b_entry = xt::view(b, index);
        BOOST_TEST(testing::relative_error(xarray<double>(xt::view(plain, index)), naive_product(a_entry, b_entry)) <=
                   1e-14);
    }
    const auto mixed = [&](const auto& in) { return batched_matmul(a, in[0]); };
    BOOST_TEST(testing::check_against_central_differences(mixed, {b}, 3, random).tangent_error <= 1e-7);
    BOOST_TEST(testing::live_prefix_equals_dense(function, {a, b}, 4, {1, 3}, random));
}

BOOST_AUTO_TEST_CASE(float_matmul_agrees_with_double) {
    array_random_source random(8);
    const xarray<double> a = random.normal_array({16, 32});
    const xarray<double> b = random.normal_array({32, 8});
    dual_tensor<float> x(xt::cast<float>(a), 2);
    dual_tensor<double> x_double(a, 2);
    const xarray<double> direction = random.normal_array({16, 32});
    x.seed(1, xt::cast<float>(direction));
    x_double.seed(1, direction);
    const dual_tensor<float> c = matmul(x, xarray<float>(xt::cast<float>(b)));
    const dual_tensor<double> c_double = matmul(x_double, b);
    BOOST_TEST(testing::relative_error(xt::cast<double>(tangent(c, 1)), tangent(c_double, 1)) <= 1e-5);
}

BOOST_AUTO_TEST_CASE(matmul_with_mismatched_shapes_raises_an_error_naming_both_shapes) {
    const dual_tensor<double> a(xt::ones<double>({3, 4}), 2);
    const dual_tensor<double> b(xt::ones<double>({5, 2}), 2);
    try {
        (void)matmul(a, b);
        BOOST_FAIL("no exception");
    } catch (const std::invalid_argument& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find("matmul: shapes [3, 4] and [5, 2] do not match") != std::string::npos);
    }
    BOOST_CHECK_THROW((void)matmul(a, dual_tensor<double>(xt::ones<double>({4, 2}), 3)), std::invalid_argument);
    BOOST_CHECK_THROW((void)matmul(xarray<double>(xt::ones<double>({3})), xarray<double>(xt::ones<double>({3, 1}))),
                      std::invalid_argument);
    BOOST_CHECK_THROW(
        (void)batched_matmul(xarray<double>(xt::ones<double>({2, 3, 4})), xarray<double>(xt::ones<double>({3, 4, 2}))),
        std::invalid_argument);
}
