// The noise statistics of hypergradient_noise.hpp on synthetic hypergradients whose noise and
// drift are known: independent noise shrinks as 1 / W, perfectly correlated noise does not
// shrink, a linear drift costs eps^2 (W^2 - 1) / 12, and the theorem's bound holds.
#define BOOST_TEST_MODULE fds_hypergradient_noise
#include <boost/test/included/unit_test.hpp>

#include <cmath>
#include <stdexcept>
#include <vector>

#include <fds/autodiff/random.hpp>
#include <fds/hypergradient_noise.hpp>

namespace {

using runs_of = std::vector<std::vector<double>>;

// R runs of T steps: mean(t) + noise, noise drawn from N(0, sigma^2), independently per step
// or one draw per run for all its steps (perfectly correlated).
runs_of synthetic_runs(std::size_t runs, std::size_t steps, double sigma, double drift, bool correlated,
                       std::uint64_t seed) {
    fds::autodiff::random_source random(seed);
    runs_of result(runs, std::vector<double>(steps));
    for (auto& run : result) {
        const double shared_noise = random.normal(0.0, sigma);
        for (std::size_t t = 0; t < steps; ++t)
            run[t] = 3.0 + drift * static_cast<double>(t) + (correlated ? shared_noise : random.normal(0.0, sigma));
    }
    return result;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_shared_hypergradient_is_its_bucket_sum_over_the_mean_steps_per_bucket) {
    const std::vector<double> per_step = {1, 2, 3, 4, 5, 6, 7};
    // 7 steps in 2 buckets: floor(2 t / 7) puts steps 0-3 in bucket 0 and 4-6 in bucket 1
    const std::vector<double> shared = fds::shared_hypergradients(per_step, 2);
    BOOST_TEST(shared.size() == 2u);
    BOOST_TEST(shared[0] == (1 + 2 + 3 + 4) / 3.5, boost::test_tools::tolerance(1e-15));
    BOOST_TEST(shared[1] == (5 + 6 + 7) / 3.5, boost::test_tools::tolerance(1e-15));
    // a bucket per step is the step itself; one bucket is the mean
    BOOST_TEST(fds::shared_hypergradients(per_step, 7) == per_step);
    BOOST_TEST(fds::shared_hypergradients(per_step, 1)[0] == 4.0, boost::test_tools::tolerance(1e-15));
    BOOST_CHECK_THROW(fds::shared_hypergradients(per_step, 8), std::invalid_argument);
    BOOST_CHECK_THROW(fds::shared_hypergradients(per_step, 0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(windows_become_the_nearest_bucket_count_and_the_default_windows_end_at_the_run) {
    BOOST_TEST(fds::buckets_for_window(1, 100) == 100u);
    BOOST_TEST(fds::buckets_for_window(25, 100) == 4u);
    BOOST_TEST(fds::buckets_for_window(30, 100) == 3u);
    BOOST_TEST(fds::buckets_for_window(100, 100) == 1u);
    BOOST_TEST(fds::buckets_for_window(70, 100) == 1u);
    BOOST_CHECK_THROW(fds::buckets_for_window(0, 100), std::invalid_argument);
    BOOST_CHECK_THROW(fds::buckets_for_window(101, 100), std::invalid_argument);
    BOOST_TEST(fds::default_noise_windows(250) == (std::vector<std::size_t>{1, 2, 5, 10, 25, 50, 100, 250}));
    BOOST_TEST(fds::default_noise_windows(100) == (std::vector<std::size_t>{1, 2, 5, 10, 25, 50, 100}));
    BOOST_TEST(fds::default_noise_windows(1) == (std::vector<std::size_t>{1}));
}

BOOST_AUTO_TEST_CASE(independent_noise_shrinks_as_one_over_the_window_and_stays_below_the_bound) {
    const double sigma = 2.0;
    const auto runs = synthetic_runs(2000, 60, sigma, 0.0, false, 1);
    const auto noise = fds::measure_hypergradient_noise(runs, {}, {1, 2, 5, 10, 30, 60});
    BOOST_TEST(noise.mse_per_step == sigma * sigma, boost::test_tools::tolerance(0.03));
    for (const auto& window : noise.windows) {
        const double expected = sigma * sigma / static_cast<double>(window.window);
        BOOST_TEST(window.mse == expected, boost::test_tools::tolerance(0.08));
        BOOST_TEST(window.independent == noise.mse_per_step / static_cast<double>(window.window),
                   boost::test_tools::tolerance(1e-12));
        BOOST_TEST(window.mse <= window.bound);
        BOOST_TEST(std::abs(window.correlation_mean) < 0.01);
        BOOST_TEST(window.mse == window.variance + window.bias_squared, boost::test_tools::tolerance(1e-12));
    }
    BOOST_TEST(noise.windows.front().bias_squared == 0.0);
    BOOST_TEST(noise.measured_best_window == 60u);
    // no drift: what the block means of the mean over runs still differ by is noise
    BOOST_TEST(noise.drift_block == 8u);  // round(sqrt(60))
    BOOST_TEST(noise.drift_max > 0.0);
    BOOST_TEST(noise.drift_rms < noise.drift_max / 2);
}

BOOST_AUTO_TEST_CASE(perfectly_correlated_noise_is_not_reduced_by_sharing) {
    const auto runs = synthetic_runs(400, 40, 1.5, 0.0, true, 2);
    const auto noise = fds::measure_hypergradient_noise(runs, {}, {1, 4, 40});
    for (const auto& window : noise.windows) {
        BOOST_TEST(window.mse == noise.mse_per_step, boost::test_tools::tolerance(1e-9));
        if (window.window > 1) BOOST_TEST(window.correlation_max == 1.0, boost::test_tools::tolerance(1e-9));
        // c = 1: the bound's noise term is MSE_1 whatever the window
        BOOST_TEST(window.bound >= window.mse * (1 - 1e-12));
    }
}

BOOST_AUTO_TEST_CASE(a_linear_drift_costs_eps_squared_times_w_squared_minus_one_over_twelve) {
    const double eps = 0.3;
    const auto runs = synthetic_runs(3, 60, 0.0, eps, false, 3);  // no noise: every run the same line
    const auto noise = fds::measure_hypergradient_noise(runs, {}, {1, 2, 3, 10, 60});
    BOOST_TEST(noise.mse_per_step < 1e-25);  // rounding of the mean only
    BOOST_TEST(noise.drift_max == eps, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(noise.drift_rms == eps, boost::test_tools::tolerance(1e-12));
    for (const auto& window : noise.windows) {
        const double w = static_cast<double>(window.window);
        BOOST_TEST(window.variance == 0.0, boost::test_tools::tolerance(1e-20));
        BOOST_TEST(window.bias_squared == eps * eps * (w * w - 1) / 12, boost::test_tools::tolerance(1e-10));
        BOOST_TEST(window.bound == window.bias_squared, boost::test_tools::tolerance(1e-10));
    }
    BOOST_TEST(noise.measured_best_window == 1u);
}

BOOST_AUTO_TEST_CASE(noise_and_drift_trade_off_with_the_best_window_near_the_predicted_one) {
    // sigma^2 = 4, eps = 0.02: (6 sigma^2 / eps^2)^(1/3) = 41.6 steps
    const auto runs = synthetic_runs(1000, 400, 2.0, 0.02, false, 4);
    const auto noise = fds::measure_hypergradient_noise(runs, {}, {1, 5, 10, 20, 40, 80, 200, 400});
    BOOST_TEST(noise.measured_best_window >= 20u);
    BOOST_TEST(noise.measured_best_window <= 80u);
    // eps is measured on the noisy mean over runs: at least the true drift
    BOOST_TEST(noise.drift_max >= 0.02);
    for (const auto& window : noise.windows) BOOST_TEST(window.mse <= window.bound);
    // the large windows pay for the drift
    BOOST_TEST(noise.windows.back().mse > noise.windows[4].mse);
}

BOOST_AUTO_TEST_CASE(greedy_hypergradients_get_their_variance_and_signal) {
    const auto per_step = synthetic_runs(500, 20, 1.0, 0.0, false, 5);
    const auto greedy = synthetic_runs(500, 20, 6.0, 0.0, false, 6);  // mean 3, variance 36
    const auto noise = fds::measure_hypergradient_noise(per_step, greedy, {1});
    BOOST_TEST(noise.has_greedy);
    BOOST_TEST(noise.greedy.variance == 36.0, boost::test_tools::tolerance(0.05));
    BOOST_TEST(noise.greedy.signal == 9.0, boost::test_tools::tolerance(0.05));
    BOOST_TEST(noise.greedy.relative_mse == noise.greedy.variance / noise.greedy.signal,
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(!fds::measure_hypergradient_noise(per_step, {}, {1}).has_greedy);
}

BOOST_AUTO_TEST_CASE(too_few_runs_unequal_runs_and_non_finite_values_are_refused) {
    const auto runs = synthetic_runs(3, 10, 1.0, 0.0, false, 7);
    BOOST_CHECK_THROW(fds::measure_hypergradient_noise({runs[0]}, {}, {1}), std::invalid_argument);
    auto uneven = runs;
    uneven[1].pop_back();
    BOOST_CHECK_THROW(fds::measure_hypergradient_noise(uneven, {}, {1}), std::invalid_argument);
    auto broken = runs;
    broken[2][4] = std::nan("");
    BOOST_CHECK_THROW(fds::measure_hypergradient_noise(broken, {}, {1}), std::invalid_argument);
    BOOST_CHECK_THROW(fds::measure_hypergradient_noise(runs, {runs[0], runs[1]}, {1}), std::invalid_argument);
    BOOST_CHECK_THROW(fds::measure_hypergradient_noise(runs, {}, {11}), std::invalid_argument);
}
