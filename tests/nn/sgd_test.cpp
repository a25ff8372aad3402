#define BOOST_TEST_MODULE nn_sgd
#include <boost/test/unit_test.hpp>

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/sgd.hpp>

#include "layer_check.hpp"

using namespace fds::nn;
using plain = xt::xarray<double>;
using fds::autodiff::dual_scalar;

BOOST_AUTO_TEST_CASE(sgd_step_is_the_reference_update) {
    plain theta{1.0, 2.0}, velocity{0.5, -1.0};
    const plain gradient{0.1, 0.2};
    sgd_step(theta, velocity, gradient, 0.1, 0.9, 0.01);
    // v = 0.9 v + g + 0.01 theta ; theta -= 0.1 v
    BOOST_CHECK_CLOSE(velocity(0), 0.45 + 0.1 + 0.01, 1e-12);
    BOOST_CHECK_CLOSE(velocity(1), -0.9 + 0.2 + 0.02, 1e-12);
    BOOST_CHECK_CLOSE(theta(0), 1.0 - 0.1 * 0.56, 1e-12);
    BOOST_CHECK_CLOSE(theta(1), 2.0 - 0.1 * -0.68, 1e-12);
    plain short_velocity{0.0};
    BOOST_CHECK_THROW(sgd_step(theta, short_velocity, gradient, 0.1, 0.9, 0.0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(sgd_step_tangents_match_central_difference_in_every_input) {
    // slot 0: learning rate, slot 1: momentum, slot 2: weight decay; theta, v and g carry
    // tangents in all three slots too (as Z in FDS).
    fds::autodiff::random_source random(1);
    const std::size_t count = 6, slots = 3;
    const plain theta = testing::random_array({count}, random), velocity = testing::random_array({count}, random);
    const plain gradient = testing::random_array({count}, random);
    std::vector<plain> theta_directions, velocity_directions, gradient_directions;
    for (std::size_t k = 0; k < slots; ++k) {
        theta_directions.push_back(testing::random_array({count}, random));
        velocity_directions.push_back(testing::random_array({count}, random));
        gradient_directions.push_back(testing::random_array({count}, random));
    }
    const double lr = 0.1, mom = 0.8, wd = 0.05;
    auto dual_theta = testing::make_dual(theta, theta_directions, slots);
    auto dual_velocity = testing::make_dual(velocity, velocity_directions, slots);
    const auto dual_gradient = testing::make_dual(gradient, gradient_directions, slots);
    sgd_step(dual_theta, dual_velocity, dual_gradient, dual_scalar<double>::variable(lr, slots, 0),
             dual_scalar<double>::variable(mom, slots, 1), dual_scalar<double>::variable(wd, slots, 2));
    const double step = 1e-6;
    for (std::size_t k = 0; k < slots; ++k) {
        auto run = [&](double sign) {
            plain t = theta + sign * step * theta_directions[k];
            plain v = velocity + sign * step * velocity_directions[k];
            const plain g = gradient + sign * step * gradient_directions[k];
            sgd_step(t, v, g, lr + (k == 0 ? sign * step : 0.0), mom + (k == 1 ? sign * step : 0.0),
                     wd + (k == 2 ? sign * step : 0.0));
            return std::make_pair(t, v);
        };
        const auto plus = run(1.0), minus = run(-1.0);
        testing::check_close(fds::autodiff::tangent(dual_theta, k), plain((plus.first - minus.first) / (2 * step)),
                             1e-7, "theta tangent " + std::to_string(k));
        testing::check_close(fds::autodiff::tangent(dual_velocity, k), plain((plus.second - minus.second) / (2 * step)),
                             1e-7, "velocity tangent " + std::to_string(k));
    }
}

BOOST_AUTO_TEST_CASE(sgd_step_on_duals_with_plain_numbers_keeps_the_plain_values) {
    fds::autodiff::random_source random(2);
    plain theta = testing::random_array({5}, random), velocity = testing::random_array({5}, random);
    const plain gradient = testing::random_array({5}, random);
    auto dual_theta = fds::autodiff::constant(theta, 2);
    auto dual_velocity = fds::autodiff::constant(velocity, 2);
    sgd_step(dual_theta, dual_velocity, fds::autodiff::constant(gradient, 2), 0.1, 0.9, 1e-3);
    sgd_step(theta, velocity, gradient, 0.1, 0.9, 1e-3);
    testing::check_close(fds::autodiff::value(dual_theta), theta, 1e-15, "theta");
    testing::check_close(fds::autodiff::value(dual_velocity), velocity, 1e-15, "velocity");
}

BOOST_AUTO_TEST_CASE(clamp_gradient_clamps_value_and_zeroes_clamped_tangents) {
    const plain gradient{-5.0, 0.5, 4.0};
    testing::check_close(clamp_gradient(gradient, 3.0), plain{-3.0, 0.5, 3.0}, 0.0, "clamped");
    const auto dual = testing::make_dual(gradient, {plain{1.0, 1.0, 1.0}}, 1);
    testing::check_close(fds::autodiff::tangent(clamp_gradient(dual, 3.0), 0), plain{0.0, 1.0, 0.0}, 0.0, "tangent");
}

namespace {

using single = fds::autodiff::dual_tensor<float>;

// value and `live` random tangent rows out of `slots`
single random_dual(std::size_t count, std::size_t live, std::size_t slots, fds::autodiff::random_source& random) {
    return single(testing::random_values<float>({count}, random), testing::random_values<float>({live, count}, random),
                  slots);
}

// The update as the dual operators write it: sgd_step's single pass must round every number the same way.
template <class LearningRate, class Momentum, class WeightDecay>
void composed_sgd_step(single& theta, single& velocity, const single& gradient, const LearningRate& lr,
                       const Momentum& mom, const WeightDecay& wd) {
    velocity = mom * velocity + gradient + wd * theta;
    theta = theta - lr * velocity;
}

template <class LearningRate, class Momentum, class WeightDecay>
void check_equals_composed_step(std::size_t theta_live, std::size_t velocity_live, std::size_t gradient_live,
                                const LearningRate& lr, const Momentum& mom, const WeightDecay& wd,
                                const std::string& what) {
    // Enough elements for several chunks on both threads, and a tail.
    const std::size_t count = 20011, slots = 5;
    fds::autodiff::random_source random(3);
    single theta = random_dual(count, theta_live, slots, random);
    single velocity = random_dual(count, velocity_live, slots, random);
    const single gradient = random_dual(count, gradient_live, slots, random);
    single expected_theta = theta, expected_velocity = velocity;
    for (int step = 0; step < 2; ++step) {
        sgd_step(theta, velocity, gradient, lr, mom, wd);
        composed_sgd_step(expected_theta, expected_velocity, gradient, lr, mom, wd);
    }
    testing::check_identical(theta, expected_theta, what + ": theta");
    testing::check_identical(velocity, expected_velocity, what + ": velocity");
}

}  // namespace

BOOST_AUTO_TEST_CASE(dual_sgd_step_rounds_as_the_dual_operators) {
    using dual_number = dual_scalar<float>;
    const std::size_t slots = 5;
    const auto lr = dual_number::variable(0.1f, slots, 0), mom = dual_number::variable(0.9f, slots, 3);
    const auto wd = dual_number::variable(5e-4f, slots, 4);
    check_equals_composed_step(5, 5, 5, lr, mom, wd, "all slots live");
    check_equals_composed_step(2, 1, 3, lr, mom, wd, "tensors with fewer live slots than the numbers");
    check_equals_composed_step(5, 4, 0, lr, mom, wd, "a gradient without tangents");
    check_equals_composed_step(3, 3, 3, lr, 0.9f, 5e-4f, "plain momentum and weight decay");
    check_equals_composed_step(2, 0, 1, 0.1f, 0.9f, 5e-4f, "plain numbers");
    check_equals_composed_step(0, 0, 0, 0.1f, 0.9f, 5e-4f, "no live slot");
}

BOOST_AUTO_TEST_CASE(dual_sgd_step_rejects_mismatched_tangent_counts) {
    fds::autodiff::random_source random(4);
    single theta = random_dual(7, 1, 3, random), velocity = random_dual(7, 1, 3, random);
    const single gradient = random_dual(7, 1, 4, random);
    BOOST_CHECK_THROW(sgd_step(theta, velocity, gradient, 0.1f, 0.9f, 0.0f), std::invalid_argument);
    const single matching_gradient = random_dual(7, 1, 3, random);
    BOOST_CHECK_THROW(
        sgd_step(theta, velocity, matching_gradient, dual_scalar<float>::variable(0.1f, 4, 0), 0.9f, 0.0f),
        std::invalid_argument);
}
