#define BOOST_TEST_MODULE autodiff_vector_math
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include <fds/autodiff/vector_math.hpp>

#include "test_support.hpp"

using fds::autodiff::vector_exp;

namespace {
// Position of x on the number line counted in representable steps (+0 and -0 both at 0), so
// the distance of two finite or infinite numbers is their difference in ulps.
template <class Scalar>
long long step_index(Scalar x) {
    using bits = std::conditional_t<sizeof(Scalar) == 4, std::uint32_t, std::uint64_t>;
    bits pattern;
    std::memcpy(&pattern, &x, sizeof pattern);
    const bits sign = bits(1) << (8 * sizeof(bits) - 1);
    const long long magnitude = static_cast<long long>(pattern & ~sign);
    return (pattern & sign) != 0 ? -magnitude : magnitude;
}

template <class Scalar>
long long ulps_between(Scalar a, Scalar b) {
    const long long difference = step_index(a) - step_index(b);
    return difference < 0 ? -difference : difference;
}

template <class Scalar>
Scalar from_pattern(std::uint64_t pattern) {
    Scalar x;
    if constexpr (sizeof(Scalar) == 4) {
        const auto narrow = static_cast<std::uint32_t>(pattern);
        std::memcpy(&x, &narrow, sizeof x);
    } else {
        std::memcpy(&x, &pattern, sizeof x);
    }
    return x;
}

// Worst ulp distance to std::exp over `inputs`, computed with the array form (the
// vectorized loop) as the library uses it.
template <class Scalar>
long long worst_ulps(const std::vector<Scalar>& inputs, Scalar& worst_input) {
    std::vector<Scalar> outputs(inputs.size());
    vector_exp(inputs.data(), outputs.data(), inputs.size());
    long long worst = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const long long distance = ulps_between(outputs[i], std::exp(inputs[i]));
        if (distance > worst) {
            worst = distance;
            worst_input = inputs[i];
        }
    }
    return worst;
}
}  // namespace

// Every 61st float of the whole line: all of [-87.3, 88.7] (normal results), the subnormal
// result range below it, the overflow threshold, infinities and the NaN patterns' neighbours.
// (Run once over all 2^32 floats when written: worst distance 1 as well.)
BOOST_AUTO_TEST_CASE(float_exp_is_within_one_ulp_of_std_exp_on_every_61st_float) {
    std::vector<float> inputs;
    long long worst = 0;
    float worst_input = 0.0f;
    std::size_t compared = 0;
    // compares the inputs gathered so far and keeps the worst
    const auto compare_batch = [&] {
        float batch_worst_input = 0.0f;
        const long long batch_worst = worst_ulps(inputs, batch_worst_input);
        if (batch_worst > worst) {
            worst = batch_worst;
            worst_input = batch_worst_input;
        }
        compared += inputs.size();
        inputs.clear();
    };
    for (std::uint64_t pattern = 0; pattern < (std::uint64_t(1) << 32); pattern += 61) {
        const float x = from_pattern<float>(pattern);
        if (!std::isnan(x)) {
            inputs.push_back(x);
        }
        if (inputs.size() == (1u << 20)) {
            compare_batch();
        }
    }
    compare_batch();
    BOOST_TEST_MESSAGE("float: " << compared << " inputs, worst " << worst << " ulp at " << worst_input);
    BOOST_TEST(compared > 60000000u);
    BOOST_TEST(worst <= 1);
}

// Evenly spaced and random doubles over the whole argument range, where results are normal
// ([-708.39, 709.78]) and beyond (subnormal results, overflow, underflow to 0).
BOOST_AUTO_TEST_CASE(double_exp_is_within_one_ulp_of_std_exp_from_minus_746_to_710) {
    const std::size_t count = 1u << 22;
    std::vector<double> inputs(count);
    for (std::size_t i = 0; i < count; ++i) {
        inputs[i] = -746.0 + 1456.0 * static_cast<double>(i) / static_cast<double>(count - 1);
    }
    double worst_input = 0.0;
    const long long evenly_spaced = worst_ulps(inputs, worst_input);
    BOOST_TEST_MESSAGE("double, evenly spaced: worst " << evenly_spaced << " ulp at " << worst_input);
    BOOST_TEST(evenly_spaced <= 1);

    fds::autodiff::testing::array_random_source random(31);
    for (auto& x : inputs) {
        x = random.uniform(-746.0, 710.0);
    }
    const long long random_points = worst_ulps(inputs, worst_input);
    BOOST_TEST_MESSAGE("double, random: worst " << random_points << " ulp at " << worst_input);
    BOOST_TEST(random_points <= 1);

    // Small arguments, where e^x - 1 ~ x is resolved in the last bits.
    for (auto& x : inputs) {
        x = random.uniform(-1e-3, 1e-3);
    }
    BOOST_TEST(worst_ulps(inputs, worst_input) <= 1);
}

template <class Scalar>
void check_special_values() {
    using limits = std::numeric_limits<Scalar>;
    BOOST_TEST(vector_exp(Scalar(0)) == Scalar(1));
    BOOST_TEST(vector_exp(-Scalar(0)) == Scalar(1));
    BOOST_TEST(vector_exp(limits::denorm_min()) == Scalar(1));
    BOOST_TEST(vector_exp(-limits::denorm_min()) == Scalar(1));
    BOOST_TEST(ulps_between(vector_exp(Scalar(1)), std::exp(Scalar(1))) <= 1);
    BOOST_TEST(vector_exp(limits::infinity()) == limits::infinity());
    BOOST_TEST(vector_exp(-limits::infinity()) == Scalar(0));
    BOOST_TEST(vector_exp(limits::max()) == limits::infinity());
    BOOST_TEST(vector_exp(limits::lowest()) == Scalar(0));
    BOOST_TEST(std::isnan(vector_exp(limits::quiet_NaN())));
    BOOST_TEST(std::isnan(vector_exp(-limits::quiet_NaN())));
    BOOST_TEST(std::isnan(vector_exp(limits::signaling_NaN())));
    // The overflow threshold: the largest argument with a finite result and the next one.
    Scalar largest_finite = std::log(limits::max());
    while (std::isinf(std::exp(largest_finite))) {
        largest_finite = std::nextafter(largest_finite, Scalar(0));
    }
    BOOST_TEST(std::isinf(std::exp(std::nextafter(largest_finite, limits::infinity()))));
    BOOST_TEST(std::isfinite(vector_exp(largest_finite)));
    BOOST_TEST(ulps_between(vector_exp(largest_finite), std::exp(largest_finite)) <= 1);
    BOOST_TEST(std::isinf(vector_exp(std::nextafter(largest_finite, limits::infinity()))));
    // Subnormal results: e^x at the smallest normal and at the smallest subnormal.
    const Scalar smallest_normal_argument = std::log(limits::min());
    BOOST_TEST(ulps_between(vector_exp(smallest_normal_argument), std::exp(smallest_normal_argument)) <= 1);
    const Scalar subnormal_argument = std::log(limits::denorm_min());
    BOOST_TEST(vector_exp(subnormal_argument) > Scalar(0));
    BOOST_TEST(ulps_between(vector_exp(subnormal_argument), std::exp(subnormal_argument)) <= 1);
    BOOST_TEST(vector_exp(subnormal_argument - Scalar(1)) == Scalar(0));
}

BOOST_AUTO_TEST_CASE(exp_of_special_values_float) { check_special_values<float>(); }

BOOST_AUTO_TEST_CASE(exp_of_special_values_double) { check_special_values<double>(); }

// The vectorized loop and the one-number function compute the same bits (plain and dual exp
// use each in different loops and must agree exactly); lengths cover the loop's remainders.
// The array form takes a shortcut on chunks whose every |x| gives a normal result (below 86 for
// float, 708 for double): drawn from [-limit, limit] every chunk takes it, from [-120, 100] or
// [-800, 800] almost none does, and from just inside and outside the limit chunks go both ways.
template <class Scalar>
void check_array_form_equals_scalar_form() {
    fds::autodiff::testing::array_random_source random(5);
    const double limit = sizeof(Scalar) == 4 ? 86.0 : 708.0;
    const double wide = sizeof(Scalar) == 4 ? 120.0 : 800.0;
    const std::pair<double, double> ranges[] = {
        {-wide, 100.0}, {-limit, limit}, {limit - 0.01, limit + 0.01}, {-limit - 0.01, -limit + 0.01}};
    for (const auto& [low, high] : ranges) {
        for (std::size_t length : {1u, 3u, 7u, 8u, 15u, 17u, 1000u, 1031u}) {
            std::vector<Scalar> x(length);
            for (auto& entry : x) {
                entry = static_cast<Scalar>(random.uniform(low, high));
            }
            std::vector<Scalar> y(length);
            vector_exp(x.data(), y.data(), length);
            bool equal = true;
            for (std::size_t i = 0; i < length; ++i) {
                const Scalar single = vector_exp(x[i]);
                equal = equal && std::memcmp(&single, &y[i], sizeof single) == 0;
            }
            BOOST_TEST(equal, "length " << length << " in [" << low << ", " << high << "]");
            // In place (x and y the same array).
            std::vector<Scalar> in_place = x;
            vector_exp(in_place.data(), in_place.data(), length);
            BOOST_TEST(std::memcmp(in_place.data(), y.data(), length * sizeof(Scalar)) == 0);
        }
    }
}

BOOST_AUTO_TEST_CASE(array_form_equals_one_number_form_float) { check_array_form_equals_scalar_form<float>(); }

BOOST_AUTO_TEST_CASE(array_form_equals_one_number_form_double) { check_array_form_equals_scalar_form<double>(); }
