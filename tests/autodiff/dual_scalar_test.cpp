#define BOOST_TEST_MODULE autodiff_dual_scalar
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>

#include <fds/autodiff/dual_scalar.hpp>

using fds::autodiff::dual_scalar;

namespace {
using dual = dual_scalar<double>;

// Central difference of f at x along slot `slot` of a 3-slot input with tangents (1, 2, -1).
template <class Function>
void check_derivative(Function f, double x) {
    const dual input(x, {1.0, 2.0, -1.0}, 3);
    const dual output = f(input);
    const double step = 1e-6;
    const double slope = (f(dual(x + step, 3)).value() - f(dual(x - step, 3)).value()) / (2 * step);
    for (std::size_t k = 0; k < 3; ++k) {
        const double expected = slope * input.tangent(k);
        BOOST_TEST(std::abs(output.tangent(k) - expected) <= 1e-7 * std::max(1.0, std::abs(expected)));
    }
    BOOST_TEST(output.value() == f(dual(x, 3)).value());
}
}  // namespace

BOOST_AUTO_TEST_CASE(variable_has_a_unit_tangent_in_its_slot) {
    const dual x = dual::variable(0.5, 4, 2);
    BOOST_TEST(x.value() == 0.5);
    BOOST_TEST(x.tangent_count() == 4u);
    BOOST_TEST(x.live_tangents() == 3u);
    BOOST_TEST(x.tangent(0) == 0.0);
    BOOST_TEST(x.tangent(2) == 1.0);
    BOOST_TEST(x.tangent(3) == 0.0);
    BOOST_CHECK_THROW(dual::variable(0.5, 4, 4), std::invalid_argument);
    BOOST_CHECK_THROW((void)x.tangent(4), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(dual_scalar_tangents_match_central_differences) {
    const dual other(0.7, {0.3, -0.2, 0.5}, 3);
    check_derivative([&](const dual& x) { return x * x + 3.0 * x - 1.0; }, 1.3);
    check_derivative([&](const dual& x) { return 2.0 / x - x / 4.0; }, 1.3);
    check_derivative([&](const dual& x) { return exp(x) * log(x); }, 1.3);
    check_derivative([&](const dual& x) { return sqrt(x) + pow(x, 3.5); }, 1.3);
    check_derivative([&](const dual& x) { return -x + (1.0 - x); }, 1.3);
    // a second dual operand: d(x * c)/dk = c dx_k + x dc_k
    const dual x(1.3, {1.0, 2.0, -1.0}, 3);
    const dual product = x * other;
    const dual quotient = x / other;
    for (std::size_t k = 0; k < 3; ++k) {
        BOOST_TEST(product.tangent(k) == 0.7 * x.tangent(k) + 1.3 * other.tangent(k));
        const double expected = x.tangent(k) / 0.7 - 1.3 / (0.7 * 0.7) * other.tangent(k);
        BOOST_TEST(std::abs(quotient.tangent(k) - expected) <= 1e-15);
    }
}

BOOST_AUTO_TEST_CASE(exp_of_log_is_identity_including_tangents) {
    const dual x(2.5, {1.0, -3.0}, 4);
    const dual y = exp(log(x));
    BOOST_TEST(std::abs(y.value() - 2.5) <= 1e-15);
    for (std::size_t k = 0; k < 4; ++k) {
        BOOST_TEST(std::abs(y.tangent(k) - x.tangent(k)) <= 1e-15);
    }
    const dual z = sqrt(x) * sqrt(x);
    BOOST_TEST(std::abs(z.tangent(1) + 3.0) <= 1e-14);
}

BOOST_AUTO_TEST_CASE(live_tangents_are_the_longer_prefix) {
    const dual a(1.0, {1.0}, 5);
    const dual b(2.0, {0.0, 0.0, 1.0}, 5);
    BOOST_TEST((a + b).live_tangents() == 3u);
    BOOST_TEST((a * 2.0).live_tangents() == 1u);
    BOOST_TEST(dual(1.0, 5).live_tangents() == 0u);
    dual c = a;
    c *= b;
    BOOST_TEST(c.tangent(2) == 1.0);
    BOOST_TEST(c.tangent(0) == 2.0);
}

BOOST_AUTO_TEST_CASE(mismatched_tangent_counts_raise_an_error_naming_both) {
    try {
        (void)(dual(1.0, 3) + dual(1.0, 4));
        BOOST_FAIL("no exception");
    } catch (const std::invalid_argument& error) {
        BOOST_TEST(std::string(error.what()).find("tangent counts 3 and 4") != std::string::npos);
    }
    BOOST_CHECK_THROW(dual(1.0, {1.0, 2.0}, 1), std::invalid_argument);
}
