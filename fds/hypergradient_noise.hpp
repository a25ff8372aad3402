#pragma once
// How noisy hypergradients are, with and without sharing: the paper's Theorem 4.1 measured.
// From R runs r (each its own data order and initialization) of the per-step learning-rate
// hypergradients h_r(t) = dL_val(theta_T) / dlr_t, t = 0..T-1, with mu(t) = mean_r h_r(t):
//
//     shared s_r(t)  = (sum of h_r over t's bucket) / (T / n)      n = round(T / W) buckets, as
//                      hypertrain normalizes a bucket of n_lrs = n (the mean of the bucket's h)
//     MSE_W          = variance_W + bias_W^2, against mu, the per-step expectation:
//     variance_W     = 1/(R - 1) sum_r mean_t (s_r(t) - sbar(t))^2        (sbar = mean_r s_r)
//     bias_W^2       = mean_t (sbar(t) - mu(t))^2                          (drift inside a bucket)
//
// MSE_1 = variance_1 is the per-step noise. The theorem bounds sharing over W steps by
//
//     MSE_W <= ((1 + c (W - 1)) / W) MSE_1 + eps^2 (W^2 - 1) / 12
//
// with c the largest |correlation| (over runs) of two steps of one bucket and eps the largest
// drift of mu per step, measured between blocks of B = round(sqrt(T)) steps (a step-to-step
// difference of mu is mostly noise); W is T / n. `predicted` is the same formula with the mean
// correlation and the root-mean-square drift with mu's noise removed, the typical rather than the
// worst case; its minimum lies near W = (6 MSE_1 / eps_rms^2)^(1/3). The greedy hypergradients g_r(t) = dL_val(theta_{t+1}) / dlr_t (one step
// of horizon) get the variance of the same estimator; since they differentiate another objective,
// they and the shared ones are compared relative to their mean square signal mean_t mean_r(.)^2.
//
//   fds::hypergradient_noise noise = fds::measure_hypergradient_noise(per_step, greedy, {1, 5, 25});

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace fds {

struct window_noise {
    std::size_t window = 1;  // as requested
    std::size_t buckets = 1;  // n = round(T / window), at least 1
    double steps_per_bucket = 1.0;  // T / n: the W of the theorem
    double mse = 0.0, variance = 0.0, bias_squared = 0.0;
    double mse_standard_error = 0.0;  // of mean_r mean_t (s_r(t) - mu(t))^2 over the runs
    double relative_mse = 0.0;  // mse / signal
    double correlation_max = 0.0, correlation_mean = 0.0;  // over pairs of steps of one bucket (0: none)
    double bound = 0.0;  // the theorem's right-hand side
    double predicted = 0.0;  // the same with the mean correlation and the rms drift
    double independent = 0.0;  // MSE_1 / W: independent noise and no drift
};

struct greedy_noise {
    double variance = 0.0;  // 1/(R - 1) sum_r mean_t (g_r(t) - gbar(t))^2
    double signal = 0.0;  // mean_t gbar(t)^2
    double relative_mse = 0.0;  // variance / signal
};

struct hypergradient_noise {
    std::size_t runs = 0, steps = 0;
    double mse_per_step = 0.0;  // MSE_1
    double signal = 0.0;  // mean_t mu(t)^2
    std::size_t drift_block = 1;  // B: steps per block of the drift's differences
    double drift_max = 0.0;  // eps: max_k |mean of block k + 1 - mean of block k| / B, over mu
    double drift_rms = 0.0;  // the root mean square of the same, less its noise (at least 0)
    double predicted_best_window = 0.0;  // (6 MSE_1 / drift_rms^2)^(1/3); 0 without drift
    std::size_t measured_best_window = 1;  // the requested window of the smallest MSE
    std::vector<window_noise> windows;
    bool has_greedy = false;
    greedy_noise greedy;
};

// Buckets of a window: round(T / window), at least 1. Throws for window 0 or above T.
std::size_t buckets_for_window(std::size_t window, std::size_t steps);

// The shared hypergradient of every bucket of `bucket_count` (bucket of t = floor(n t / T)),
// normalized as hypertrain: the bucket's sum over T / n.
std::vector<double> shared_hypergradients(const std::vector<double>& per_step, std::size_t bucket_count);

// 1, 2, 5, 10, 25, 50, 100, 250, 500, ... below T, then T.
std::vector<std::size_t> default_noise_windows(std::size_t steps);

// per_step[r][t] of R >= 2 runs of equal length; greedy the same shape or empty (not measured).
// Throws std::invalid_argument naming what does not fit.
hypergradient_noise measure_hypergradient_noise(const std::vector<std::vector<double>>& per_step,
                                                const std::vector<std::vector<double>>& greedy,
                                                const std::vector<std::size_t>& windows);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline std::size_t buckets_for_window(std::size_t window, std::size_t steps) {
    if (window == 0 || window > steps)
        throw std::invalid_argument("noise window: expected 1 to " + std::to_string(steps) +
                                    " steps (the run's length), found " + std::to_string(window));
    return std::max<std::size_t>(
        1, static_cast<std::size_t>(std::llround(static_cast<double>(steps) / static_cast<double>(window))));
}

inline std::vector<double> shared_hypergradients(const std::vector<double>& per_step, std::size_t bucket_count) {
    const std::size_t steps = per_step.size();
    if (bucket_count == 0 || bucket_count > steps)
        throw std::invalid_argument("shared_hypergradients: expected 1 to " + std::to_string(steps) +
                                    " buckets, found " + std::to_string(bucket_count));
    std::vector<double> shared(bucket_count, 0.0);
    for (std::size_t t = 0; t < steps; ++t) shared[bucket_count * t / steps] += per_step[t];
    const double steps_per_bucket = static_cast<double>(steps) / static_cast<double>(bucket_count);
    for (double& value : shared) value /= steps_per_bucket;
    return shared;
}

inline std::vector<std::size_t> default_noise_windows(std::size_t steps) {
    std::vector<std::size_t> windows;
    for (std::size_t window : {1, 2, 5})
        if (window < steps) windows.push_back(window);
    for (std::size_t decade = 10; decade < steps; decade *= 10)
        for (std::size_t window : {decade, decade * 5 / 2, decade * 5})
            if (window < steps) windows.push_back(window);
    windows.push_back(steps);
    return windows;
}

namespace detail {

inline std::vector<double> mean_over_runs(const std::vector<std::vector<double>>& runs) {
    std::vector<double> mean(runs.front().size(), 0.0);
    for (const auto& run : runs)
        for (std::size_t t = 0; t < run.size(); ++t) mean[t] += run[t];
    for (double& value : mean) value /= static_cast<double>(runs.size());
    return mean;
}

// 1/(R - 1) sum_r mean_t (x_r(t) - mean(t))^2
inline double variance_over_runs(const std::vector<std::vector<double>>& runs, const std::vector<double>& mean) {
    double sum = 0.0;
    for (const auto& run : runs)
        for (std::size_t t = 0; t < run.size(); ++t) sum += (run[t] - mean[t]) * (run[t] - mean[t]);
    return sum / static_cast<double>(runs.size() - 1) / static_cast<double>(mean.size());
}

inline double mean_square(const std::vector<double>& values) {
    double sum = 0.0;
    for (double value : values) sum += value * value;
    return sum / static_cast<double>(values.size());
}

inline void check_runs(const std::vector<std::vector<double>>& runs, const std::string& what) {
    if (runs.size() < 2)
        throw std::invalid_argument(what + ": expected at least 2 runs, found " + std::to_string(runs.size()));
    for (std::size_t r = 0; r < runs.size(); ++r) {
        if (runs[r].size() != runs.front().size() || runs[r].empty())
            throw std::invalid_argument(what + ": run " + std::to_string(r) + " has " + std::to_string(runs[r].size()) +
                                        " steps, run 0 has " + std::to_string(runs.front().size()));
        for (double value : runs[r])
            if (!std::isfinite(value))
                throw std::invalid_argument(what + ": run " + std::to_string(r) + " holds a non-finite hypergradient");
    }
}

}  // namespace detail

inline hypergradient_noise measure_hypergradient_noise(const std::vector<std::vector<double>>& per_step,
                                                       const std::vector<std::vector<double>>& greedy,
                                                       const std::vector<std::size_t>& windows) {
    detail::check_runs(per_step, "per-step hypergradients");
    const std::size_t runs = per_step.size(), steps = per_step.front().size();
    hypergradient_noise noise;
    noise.runs = runs;
    noise.steps = steps;
    const std::vector<double> mu = detail::mean_over_runs(per_step);
    noise.mse_per_step = detail::variance_over_runs(per_step, mu);
    noise.signal = detail::mean_square(mu);
    // the drift per step between the means of consecutive blocks of B = round(sqrt(T)) steps: a
    // step-to-step difference of mu is mostly mu's own noise. The rms removes what is left of it
    // (1/R of the runs' sample variance of the same difference).
    noise.drift_block =
        std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(std::sqrt(static_cast<double>(steps)))));
    const std::size_t block = noise.drift_block, blocks = steps / block;
    auto block_mean = [&](const std::vector<double>& run, std::size_t k) {
        double sum = 0.0;
        for (std::size_t t = k * block; t < (k + 1) * block; ++t) sum += run[t];
        return sum / static_cast<double>(block);
    };
    double drift_square_sum = 0.0;
    for (std::size_t k = 0; k + 1 < blocks; ++k) {
        const double drift = (block_mean(mu, k + 1) - block_mean(mu, k)) / static_cast<double>(block);
        noise.drift_max = std::max(noise.drift_max, std::abs(drift));
        double spread = 0.0;
        for (const auto& run : per_step)
            spread += std::pow((block_mean(run, k + 1) - block_mean(run, k)) / static_cast<double>(block) - drift, 2);
        drift_square_sum += drift * drift - spread / static_cast<double>(runs - 1) / static_cast<double>(runs);
    }
    noise.drift_rms = blocks > 1 ? std::sqrt(std::max(0.0, drift_square_sum / static_cast<double>(blocks - 1))) : 0.0;
    noise.predicted_best_window =
        noise.drift_rms > 0 ? std::cbrt(6.0 * noise.mse_per_step / (noise.drift_rms * noise.drift_rms)) : 0.0;

    // correlation over runs of steps t and u
    std::vector<double> deviation_norm(steps, 0.0);
    for (std::size_t t = 0; t < steps; ++t)
        for (const auto& run : per_step) deviation_norm[t] += (run[t] - mu[t]) * (run[t] - mu[t]);
    auto correlation = [&](std::size_t t, std::size_t u, bool& defined) {
        defined = deviation_norm[t] > 0 && deviation_norm[u] > 0;
        if (!defined) return 0.0;
        double cross = 0.0;
        for (const auto& run : per_step) cross += (run[t] - mu[t]) * (run[u] - mu[u]);
        return cross / std::sqrt(deviation_norm[t] * deviation_norm[u]);
    };

    double smallest_mse = 0.0;
    for (std::size_t window : windows) {
        window_noise result;
        result.window = window;
        result.buckets = buckets_for_window(window, steps);
        result.steps_per_bucket = static_cast<double>(steps) / static_cast<double>(result.buckets);
        std::vector<std::vector<double>> shared(runs, std::vector<double>(steps));
        for (std::size_t r = 0; r < runs; ++r) {
            const std::vector<double> buckets = shared_hypergradients(per_step[r], result.buckets);
            for (std::size_t t = 0; t < steps; ++t) shared[r][t] = buckets[result.buckets * t / steps];
        }
        const std::vector<double> shared_mean = detail::mean_over_runs(shared);
        result.variance = detail::variance_over_runs(shared, shared_mean);
        for (std::size_t t = 0; t < steps; ++t)
            result.bias_squared += (shared_mean[t] - mu[t]) * (shared_mean[t] - mu[t]);
        result.bias_squared /= static_cast<double>(steps);
        result.mse = result.variance + result.bias_squared;
        result.relative_mse = noise.signal > 0 ? result.mse / noise.signal : 0.0;

        std::vector<double> run_errors(runs, 0.0);
        for (std::size_t r = 0; r < runs; ++r) {
            for (std::size_t t = 0; t < steps; ++t) run_errors[r] += (shared[r][t] - mu[t]) * (shared[r][t] - mu[t]);
            run_errors[r] /= static_cast<double>(steps);
        }
        double error_mean = 0.0, error_square = 0.0;
        for (double error : run_errors) error_mean += error / static_cast<double>(runs);
        for (double error : run_errors) error_square += (error - error_mean) * (error - error_mean);
        result.mse_standard_error = std::sqrt(error_square / static_cast<double>(runs - 1) / static_cast<double>(runs));

        double correlation_sum = 0.0;
        std::size_t pairs = 0;
        for (std::size_t t = 0; t < steps; ++t)
            for (std::size_t u = t + 1; u < steps && result.buckets * u / steps == result.buckets * t / steps; ++u) {
                bool defined = false;
                const double c = correlation(t, u, defined);
                if (!defined) continue;
                result.correlation_max = std::max(result.correlation_max, std::abs(c));
                correlation_sum += c;
                ++pairs;
            }
        result.correlation_mean = pairs ? correlation_sum / static_cast<double>(pairs) : 0.0;

        const double w = result.steps_per_bucket;
        const double drift_factor = (w * w - 1.0) / 12.0;
        result.bound = (1.0 + result.correlation_max * (w - 1.0)) / w * noise.mse_per_step +
                       noise.drift_max * noise.drift_max * drift_factor;
        result.predicted = std::max(0.0, (1.0 + result.correlation_mean * (w - 1.0)) / w) * noise.mse_per_step +
                           noise.drift_rms * noise.drift_rms * drift_factor;
        result.independent = noise.mse_per_step / w;
        if (noise.windows.empty() || result.mse < smallest_mse) {
            smallest_mse = result.mse;
            noise.measured_best_window = window;
        }
        noise.windows.push_back(result);
    }

    if (!greedy.empty()) {
        detail::check_runs(greedy, "greedy hypergradients");
        if (greedy.size() != runs || greedy.front().size() != steps)
            throw std::invalid_argument("greedy hypergradients: expected " + std::to_string(runs) + " runs of " +
                                        std::to_string(steps) + " steps, found " + std::to_string(greedy.size()) +
                                        " of " + std::to_string(greedy.front().size()));
        const std::vector<double> greedy_mean = detail::mean_over_runs(greedy);
        noise.has_greedy = true;
        noise.greedy.variance = detail::variance_over_runs(greedy, greedy_mean);
        noise.greedy.signal = detail::mean_square(greedy_mean);
        noise.greedy.relative_mse = noise.greedy.signal > 0 ? noise.greedy.variance / noise.greedy.signal : 0.0;
    }
    return noise;
}

}  // namespace fds
