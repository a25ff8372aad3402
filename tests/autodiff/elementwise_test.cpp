#define BOOST_TEST_MODULE autodiff_elementwise
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>

#include <fds/autodiff/elementwise.hpp>

#include "test_support.hpp"

using namespace fds::autodiff;
using fds::autodiff::testing::array_random_source;
using xt::xarray;

namespace {
constexpr std::size_t slots = 4;
constexpr double tolerance = 1e-7;

// Evaluates to the tensor type of the inputs (plain expressions become xarrays).
template <class Inputs, class Expression>
auto as_tensor(const Inputs&, Expression&& e) {
    using tensor = std::decay_t<typename Inputs::value_type>;
    return tensor(std::forward<Expression>(e));
}

#define CHECK_DERIVATIVE(function, ...)                                                                        \
    do {                                                                                                       \
        array_random_source random(__LINE__);                                                                  \
        const auto check =                                                                                     \
            fds::autodiff::testing::check_against_central_differences(function, {__VA_ARGS__}, slots, random); \
        BOOST_TEST(check.tangent_error <= tolerance);                                                          \
        BOOST_TEST(check.value_error == 0.0);                                                                  \
    } while (false)
}  // namespace

BOOST_AUTO_TEST_CASE(arithmetic_tangents_match_central_differences) {
    array_random_source random(1);
    const xarray<double> a = random.uniform_array({3, 4}, 0.5, 2.0);
    const xarray<double> b = random.uniform_array({3, 4}, 0.5, 2.0);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, in[0] + in[1]); }, a, b);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, in[0] - in[1]); }, a, b);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, in[0] * in[1]); }, a, b);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, in[0] / in[1]); }, a, b);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, -in[0]); }, a);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, 2.5 * in[0] - 1.0); }, a);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, 3.0 / in[0] + in[0] / 4.0); }, a);
}

BOOST_AUTO_TEST_CASE(functions_tangents_match_central_differences) {
    array_random_source random(2);
    const xarray<double> positive = random.uniform_array({2, 3, 5}, 0.5, 2.0);
    const xarray<double> signed_values = random.uniform_array({2, 3, 5}, -2.0, 2.0);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, exp(in[0])); }, signed_values);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, log(in[0])); }, positive);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, sqrt(in[0])); }, positive);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, pow(in[0], 2.7)); }, positive);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, tanh(in[0])); }, signed_values);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, sigmoid(in[0])); }, signed_values);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, square(in[0])); }, signed_values);
}

BOOST_AUTO_TEST_CASE(kinked_functions_tangents_match_central_differences_away_from_kinks) {
    // Values kept at least 0.1 away from the kinks at 0 and at the clamp bounds.
    array_random_source random(3);
    xarray<double> x = random.uniform_array({40}, 0.1, 2.0);
    for (std::size_t i = 0; i < x.size(); i += 2) {
        x(i) = -x(i);
    }
    const xarray<double> other = x * 0.5 + 0.3 * xt::sign(x);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, relu(in[0])); }, x);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, abs(in[0])); }, x);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, clamp(in[0], -1.05, 1.05)); }, x);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, fds::autodiff::maximum(in[0], in[1])); }, x, other);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, fds::autodiff::minimum(in[0], in[1])); }, x, other);
}

BOOST_AUTO_TEST_CASE(broadcast_tangents_match_central_differences) {
    array_random_source random(4);
    const xarray<double> matrix = random.uniform_array({4, 3}, 0.5, 2.0);
    const xarray<double> row = random.uniform_array({3}, 0.5, 2.0);
    const xarray<double> column = random.uniform_array({4, 1}, 0.5, 2.0);
    const xarray<double> single = random.uniform_array({1}, 0.5, 2.0);
    const xarray<double> outer_left = random.uniform_array({2, 1, 3}, 0.5, 2.0);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, in[0] + in[1]); }, matrix, row);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, in[1] * in[0]); }, matrix, column);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, in[0] / in[1]); }, matrix, single);
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, in[1] - in[0]); }, column, row);
    // [2, 1, 3] with [4, 3] -> [2, 4, 3]: both operands broadcast, one gains a leading axis.
    CHECK_DERIVATIVE([](const auto& in) { return as_tensor(in, in[0] * in[1]); }, outer_left, matrix);
}

BOOST_AUTO_TEST_CASE(broadcast_result_shapes_follow_xtensor) {
    const dual_tensor<double> a(xt::ones<double>({2, 1, 3}), 2);
    const xarray<double> b = xt::ones<double>({4, 3});
    const xarray<double> expected = xarray<double>(xt::ones<double>({2, 1, 3}) + b);
    BOOST_TEST((((a + b).shape()) == expected.shape()));
    BOOST_TEST((((b * a).shape()) == expected.shape()));
}

BOOST_AUTO_TEST_CASE(dual_scalar_operands_carry_their_tangents) {
    // y = lr * x with lr = 0.3 + e_1: dy_1 = x, dy_k = lr dx_k otherwise.
    array_random_source random(5);
    const xarray<double> x_value = random.normal_array({5});
    const xarray<double> direction = random.normal_array({5});
    dual_tensor<double> x(x_value, 3);
    x.seed(0, direction);
    const auto lr = dual_scalar<double>::variable(0.3, 3, 1);
    const dual_tensor<double> y = lr * x;
    BOOST_TEST(y.live_tangents() == 2u);
    BOOST_TEST(testing::relative_error(tangent(y, 0), 0.3 * direction) <= 1e-15);
    BOOST_TEST(testing::exactly_equal(tangent(y, 1), x_value));
    BOOST_TEST(testing::exactly_equal(tangent(y, 2), xt::zeros<double>({5})));
    const dual_tensor<double> z = x / lr - lr;
    // d(x / lr - lr)/d slot 1 = -x / lr^2 - 1
    BOOST_TEST(testing::relative_error(tangent(z, 1), -x_value / 0.09 - 1.0) <= 1e-14);
}

BOOST_AUTO_TEST_CASE(all_tangents_at_once_equal_one_tangent_at_a_time) {
    array_random_source random(6);
    const xarray<double> a = random.uniform_array({3, 5}, 0.5, 2.0);
    const xarray<double> b = random.uniform_array({5}, 0.5, 2.0);
    const auto function = [](const auto& in) {
        using tensor = std::decay_t<decltype(in[0])>;
        const tensor product = in[0] * in[1];
        const tensor quotient = product / (in[0] + 1.0);
        return tensor(sigmoid(quotient) - exp(log(in[0])) + relu(quotient - 0.5) +
                      fds::autodiff::maximum(tanh(in[0]), in[1]));
    };
    BOOST_TEST(testing::all_at_once_versus_one_at_a_time(function, {a, b}, 5, random) == 0.0);
}

BOOST_AUTO_TEST_CASE(live_prefix_computation_equals_dense_computation) {
    array_random_source random(7);
    const xarray<double> a = random.uniform_array({4, 6}, 0.5, 2.0);
    const xarray<double> b = random.uniform_array({4, 6}, 0.5, 2.0);
    const xarray<double> c = random.uniform_array({6}, 0.5, 2.0);
    const auto function = [](const auto& in) {
        using tensor = std::decay_t<decltype(in[0])>;
        return tensor(sqrt(in[0] * in[1] + in[2]) / in[1] - clamp(in[2] - in[0], -0.5, 0.5));
    };
    BOOST_TEST(testing::live_prefix_equals_dense(function, {a, b, c}, 6, {2, 5, 0}, random));
    BOOST_TEST(testing::live_prefix_equals_dense(function, {a, b, c}, 6, {0, 0, 3}, random));
    BOOST_TEST(testing::live_prefix_equals_dense(function, {a, b, c}, 6, {0, 0, 0}, random));
}

BOOST_AUTO_TEST_CASE(exp_of_log_is_identity_including_tangents) {
    array_random_source random(8);
    dual_tensor<double> x(random.uniform_array({100}, 0.1, 10.0), 3);
    for (std::size_t k = 0; k < 3; ++k) {
        x.seed(k, random.normal_array({100}));
    }
    const dual_tensor<double> y = exp(log(x));
    BOOST_TEST(testing::relative_error(y.value(), x.value()) <= 1e-15);
    BOOST_TEST(testing::relative_error(tangents(y), tangents(x)) <= 1e-14);
    // tanh(x) = 2 sigmoid(2x) - 1, tangents included
    const dual_tensor<double> t = tanh(x * 0.1);
    const dual_tensor<double> s = 2.0 * sigmoid(x * 0.2) - 1.0;
    BOOST_TEST(testing::relative_error(tangents(t), tangents(s)) <= 1e-13);
    // sqrt(x)^2 = x and |x| = relu(x) + relu(-x)
    BOOST_TEST(testing::relative_error(tangents(square(sqrt(x))), tangents(x)) <= 1e-14);
    const dual_tensor<double> z = x - 5.0;
    BOOST_TEST(testing::exactly_equal(tangents(abs(z)), tangents(relu(z) + relu(-z))));
}

BOOST_AUTO_TEST_CASE(clamp_zeroes_tangents_where_clamped_and_clamp_tangents_leaves_value) {
    dual_tensor<double> x(xarray<double>{-2.0, -1.0, 0.5, 1.0, 3.0}, 2);
    x.seed(1, xarray<double>{10.0, 20.0, 30.0, 40.0, 50.0});
    const dual_tensor<double> y = clamp(x, -1.0, 1.0);
    BOOST_TEST(testing::exactly_equal(y.value(), xarray<double>{-1.0, -1.0, 0.5, 1.0, 1.0}));
    BOOST_TEST(testing::exactly_equal(tangent(y, 1), xarray<double>{0.0, 20.0, 30.0, 40.0, 0.0}));
    const dual_tensor<double> z = clamp_tangents(x, -25.0, 35.0);
    BOOST_TEST(testing::exactly_equal(z.value(), x.value()));
    BOOST_TEST(testing::exactly_equal(tangent(z, 1), xarray<double>{10.0, 20.0, 30.0, 35.0, 35.0}));
    BOOST_TEST(testing::exactly_equal(positive_mask(x), xarray<double>{0.0, 0.0, 1.0, 1.0, 1.0}));
}

BOOST_AUTO_TEST_CASE(plain_overloads_agree_with_xtensor) {
    array_random_source random(9);
    const xarray<double> x = random.uniform_array({3, 7}, -2.0, 2.0);
    const xarray<double> p = random.uniform_array({3, 7}, 0.5, 2.0);
    // exp is the library's vectorized one (tests/autodiff/vector_math_test.cpp: within 1 ulp).
    BOOST_TEST(testing::relative_error(fds::autodiff::exp(x), xarray<double>(xt::exp(x))) <= 3e-16);
    BOOST_TEST(testing::exactly_equal(fds::autodiff::log(p), xarray<double>(xt::log(p))));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::sqrt(p), xarray<double>(xt::sqrt(p))));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::pow(p, 1.5), xarray<double>(xt::pow(p, 1.5))));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::tanh(x), xarray<double>(xt::tanh(x))));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::abs(x), xarray<double>(xt::abs(x))));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::relu(x), xarray<double>(xt::maximum(x, 0.0))));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::clamp(x, -1.0, 1.0), xarray<double>(xt::clip(x, -1.0, 1.0))));
    BOOST_TEST(testing::exactly_equal(fds::autodiff::maximum(x, p), xarray<double>(xt::maximum(x, p))));
    // The dual value is the plain result (float as well as double).
    const xarray<float> f = random.uniform_array<float>({50}, -3.0, 3.0);
    const dual_tensor<float> fd(f, 1);
    BOOST_TEST((fds::autodiff::sigmoid(fd).value() == fds::autodiff::sigmoid(f)));
    BOOST_TEST((fds::autodiff::exp(fd).value() == fds::autodiff::exp(f)));
    BOOST_TEST(((fd * f).value() == xarray<float>(f * f)));
}

// exp and sigmoid run vector_exp in the dual rule's chunked loop and in the plain overload's
// loop; both must give the value vector_exp gives one number at a time, bit for bit, whatever
// the length (vectorized body and remainder).
template <class Scalar>
void check_plain_and_dual_exp_agree_exactly() {
    array_random_source random(12);
    // shorter than a chunk of the dual loops, exactly one, one and a bit, several and a remainder
    const std::size_t chunk = fds::autodiff::detail::elementwise_chunk;
    for (std::size_t length : {std::size_t{1}, std::size_t{5}, std::size_t{13}, chunk, chunk + 5, 2 * chunk + 3001}) {
        const xarray<Scalar> x = random.uniform_array<Scalar>({length}, -30.0, 30.0);
        dual_tensor<Scalar> dual(x, 2);
        dual.seed(0, random.uniform_array<Scalar>({length}, -1.0, 1.0));
        const xarray<Scalar> plain_exp = fds::autodiff::exp(x);
        const xarray<Scalar> plain_sigmoid = fds::autodiff::sigmoid(x);
        xarray<Scalar> one_at_a_time = x;
        for (auto& entry : one_at_a_time) {
            entry = vector_exp(entry);
        }
        BOOST_TEST((plain_exp == one_at_a_time), "length " << length);
        BOOST_TEST((fds::autodiff::exp(dual).value() == plain_exp), "length " << length);
        BOOST_TEST((fds::autodiff::sigmoid(dual).value() == plain_sigmoid), "length " << length);
        for (std::size_t i = 0; i < length; ++i) {
            one_at_a_time(i) = Scalar(1) / (Scalar(1) + vector_exp(Scalar(-x(i))));
        }
        BOOST_TEST((plain_sigmoid == one_at_a_time), "length " << length);
    }
}

BOOST_AUTO_TEST_CASE(plain_and_dual_exp_and_sigmoid_agree_exactly_float) {
    check_plain_and_dual_exp_agree_exactly<float>();
}

BOOST_AUTO_TEST_CASE(plain_and_dual_exp_and_sigmoid_agree_exactly_double) {
    check_plain_and_dual_exp_agree_exactly<double>();
}

BOOST_AUTO_TEST_CASE(in_place_add_and_subtract_grow_live_tangents) {
    dual_tensor<double> target(xarray<double>{1.0, 2.0, 3.0}, 3);
    dual_tensor<double> x(xarray<double>{1.0, 1.0, 1.0}, 3);
    x.seed(2, xarray<double>{1.0, 2.0, 3.0});
    target += x;
    BOOST_TEST(target.live_tangents() == 3u);
    BOOST_TEST(testing::exactly_equal(target.value(), xarray<double>{2.0, 3.0, 4.0}));
    target -= xarray<double>{2.0};
    BOOST_TEST(testing::exactly_equal(target.value(), xarray<double>{0.0, 1.0, 2.0}));
    BOOST_TEST(testing::exactly_equal(tangent(target, 2), xarray<double>{1.0, 2.0, 3.0}));
    BOOST_CHECK_THROW(target += dual_tensor<double>(xt::ones<double>({2, 3}), 3), std::invalid_argument);
}

// Large enough for its elements to be cut over two threads, value and tangent rows alike.
BOOST_AUTO_TEST_CASE(in_place_add_over_threads_equals_the_out_of_place_sum) {
    const std::size_t previous_threads = fds::autodiff::thread_count();
    fds::autodiff::set_thread_count(2);
    const std::size_t count = 100003, slots = 4;
    xarray<double> a_value = xt::zeros<double>({count}), b_value = xt::zeros<double>({count});
    xarray<double> a_block = xt::zeros<double>({slots, count}), b_block = xt::zeros<double>({slots, count});
    for (std::size_t i = 0; i < count; ++i) {
        a_value(i) = std::sin(0.1 * double(i));
        b_value(i) = std::cos(0.3 * double(i));
        for (std::size_t k = 0; k < slots; ++k) {
            a_block(k, i) = std::sin(double(i + k));
            b_block(k, i) = std::cos(0.7 * double(i * (k + 1)));
        }
    }
    const dual_tensor<double> a(a_value, a_block, slots), b(b_value, b_block, slots);
    const dual_tensor<double> sum = a + b, difference = a - b;
    dual_tensor<double> in_place_sum = a, in_place_difference = a;
    in_place_sum += b;
    in_place_difference -= b;
    fds::autodiff::set_thread_count(previous_threads);
    BOOST_TEST(testing::exactly_equal(in_place_sum.value(), sum.value()));
    BOOST_TEST(testing::exactly_equal(in_place_sum.live_tangent_block(), sum.live_tangent_block()));
    BOOST_TEST(testing::exactly_equal(in_place_difference.value(), difference.value()));
    BOOST_TEST(testing::exactly_equal(in_place_difference.live_tangent_block(), difference.live_tangent_block()));
}

BOOST_AUTO_TEST_CASE(mismatched_shapes_raise_an_error_naming_both_shapes) {
    const dual_tensor<double> a(xt::ones<double>({3, 4}), 2);
    const dual_tensor<double> b(xt::ones<double>({5, 2}), 2);
    try {
        (void)(a * b);
        BOOST_FAIL("no exception");
    } catch (const std::invalid_argument& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find("[3, 4]") != std::string::npos);
        BOOST_TEST(message.find("[5, 2]") != std::string::npos);
        BOOST_TEST(message.find("multiply") != std::string::npos);
    }
    const dual_tensor<double> c(xt::ones<double>({3, 4}), 5);
    try {
        (void)(a + c);
        BOOST_FAIL("no exception");
    } catch (const std::invalid_argument& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find("tangent counts 2 and 5") != std::string::npos);
    }
    BOOST_CHECK_THROW((void)(a - xarray<double>(xt::ones<double>({2}))), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(operators_with_plain_tensors_return_dual_tensors) {
    dual_tensor<float> x(xt::ones<float>({2}), 1);
    xarray<float> plain = xt::ones<float>({2});
    const xarray<float> const_plain = plain;
    static_assert(std::is_same_v<decltype(x * plain), dual_tensor<float>>);
    static_assert(std::is_same_v<decltype(const_plain - x), dual_tensor<float>>);
    static_assert(std::is_same_v<decltype(std::move(x) + xarray<float>(plain)), dual_tensor<float>>);
    static_assert(std::is_same_v<decltype(x * 2.0), dual_tensor<float>>);
    static_assert(std::is_same_v<decltype(2 / x), dual_tensor<float>>);
    BOOST_TEST(((x * 2.0).value() == xarray<float>{2.0f, 2.0f}));
}

BOOST_AUTO_TEST_CASE(float_tensors_agree_with_double_tensors) {
    // The training type is float: every rule runs on it and stays within float rounding of double.
    array_random_source random(10);
    const xarray<double> a = random.uniform_array({6, 5}, 0.5, 2.0);
    const xarray<double> b = random.uniform_array({5}, 0.5, 2.0);
    const xarray<double> da = random.normal_array({6, 5});
    const auto run = [&](auto zero) {
        using scalar = decltype(zero);
        dual_tensor<scalar> x(xt::cast<scalar>(a), 2);
        x.seed(1, xt::cast<scalar>(da));
        const xarray<scalar> plain = xt::cast<scalar>(b);
        const auto lr = dual_scalar<scalar>::variable(scalar(0.3), 2, 0);
        const dual_tensor<scalar> y = sigmoid(x * plain) + tanh(x) - sqrt(x) / lr +
                                      fds::autodiff::pow(x, scalar(1.5)) * exp(-x) + log(x) * relu(x - scalar(1)) +
                                      clamp(square(x), scalar(0.5), scalar(2)) - abs(-x) +
                                      fds::autodiff::maximum(x, plain) - fds::autodiff::minimum(plain, x);
        return std::make_pair(xarray<double>(xt::cast<double>(y.value())),
                              xarray<double>(xt::cast<double>(tangents(y))));
    };
    const auto single = run(0.0f);
    const auto full = run(0.0);
    BOOST_TEST(testing::relative_error(single.first, full.first) <= 1e-5);
    BOOST_TEST(testing::relative_error(single.second, full.second) <= 1e-5);
}
