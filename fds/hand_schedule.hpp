#pragma once
// The learning-rate schedules practitioners set by hand, as schedules of this library (one bucket
// per inner step, so retraining and `fds train` run them unchanged). For step t of T, with lr0
// the initial learning rate:
//
//     constant        lr_t = lr0
//     step            lr_t = lr0 * gamma^k, k = number of milestones (1/2, 3/4 of T) passed
//     cosine          lr_t = lr0 * (1 + cos(pi t / T)) / 2
//     warmup_cosine   lr_t = lr0 * (t + 1) / W for t < W = round(warmup_fraction * T), then the
//                     cosine over the remaining T - W steps
//
// Momentum and weight decay stay constant, as in the paper's hand-tuned baseline (SGD, momentum
// 0.9, weight decay 5e-4, cosine annealing).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include <fds/schedule.hpp>

namespace fds {

struct hand_schedule {
    std::string shape = "cosine";  // constant | step | cosine | warmup_cosine
    double lr = 0.03, mom = 0.9, wd = 5e-4;
    double step_gamma = 0.1;
    double warmup_fraction = 0.05;
};

const std::vector<std::string>& hand_schedule_shapes();

// The schedule over total_steps inner steps (a single lr bucket for "constant").
// Throws std::invalid_argument naming the field for an unknown shape or a value out of range.
hyper_values hand_schedule_values(const hand_schedule& schedule, std::size_t total_steps);

// The cosine from lr0 sampled at the centres of `buckets` equal buckets: lr0 (1 + cos(pi (j + 1/2) / n)) / 2,
// every value > 0 (a start FDS refines; hyper_trainer's inner_lr_init_shape).
std::vector<double> cosine_bucket_values(double lr0, std::size_t buckets);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline const std::vector<std::string>& hand_schedule_shapes() {
    static const std::vector<std::string> shapes = {"constant", "step", "cosine", "warmup_cosine"};
    return shapes;
}

namespace detail {

inline double cosine_factor(std::size_t step, std::size_t steps) {
    const double pi = 3.14159265358979323846;
    return 0.5 * (1.0 + std::cos(pi * static_cast<double>(step) / static_cast<double>(steps)));
}

}  // namespace detail

inline std::vector<double> cosine_bucket_values(double lr0, std::size_t buckets) {
    std::vector<double> values(buckets);
    const double pi = 3.14159265358979323846;
    for (std::size_t j = 0; j < buckets; ++j)
        values[j] = lr0 * 0.5 * (1.0 + std::cos(pi * (static_cast<double>(j) + 0.5) / static_cast<double>(buckets)));
    return values;
}

inline hyper_values hand_schedule_values(const hand_schedule& schedule, std::size_t total_steps) {
    const auto& shapes = hand_schedule_shapes();
    if (std::find(shapes.begin(), shapes.end(), schedule.shape) == shapes.end())
        throw std::invalid_argument("lr_schedule: expected constant, step, cosine or warmup_cosine, found \"" +
                                    schedule.shape + "\"");
    if (!(schedule.lr >= 0) || !std::isfinite(schedule.lr))
        throw std::invalid_argument("lr: expected a number >= 0, found " + std::to_string(schedule.lr));
    if (!(schedule.mom >= 0 && schedule.mom < 1))
        throw std::invalid_argument("mom: expected a number in [0, 1), found " + std::to_string(schedule.mom));
    if (!(schedule.wd >= 0) || !std::isfinite(schedule.wd))
        throw std::invalid_argument("wd: expected a number >= 0, found " + std::to_string(schedule.wd));
    if (!(schedule.step_gamma > 0 && schedule.step_gamma <= 1))
        throw std::invalid_argument("step_gamma: expected a number in (0, 1], found " +
                                    std::to_string(schedule.step_gamma));
    if (!(schedule.warmup_fraction >= 0 && schedule.warmup_fraction < 1))
        throw std::invalid_argument("warmup_fraction: expected a number in [0, 1), found " +
                                    std::to_string(schedule.warmup_fraction));
    if (total_steps == 0) throw std::invalid_argument("hand_schedule_values: a run needs at least one step");

    hyper_values values;
    values.mom = {schedule.mom};
    values.wd = {schedule.wd};
    if (schedule.shape == "constant") {
        values.lr = {schedule.lr};
        return values;
    }
    values.lr.resize(total_steps);
    const auto warmup_steps =
        static_cast<std::size_t>(std::lround(schedule.warmup_fraction * static_cast<double>(total_steps)));
    for (std::size_t t = 0; t < total_steps; ++t) {
        double factor = 1.0;
        if (schedule.shape == "step") {
            // milestones at floor(T/2) and floor(3T/4), as MultiStepLR's integer epochs
            if (t >= total_steps / 2) factor *= schedule.step_gamma;
            if (t >= 3 * total_steps / 4) factor *= schedule.step_gamma;
        } else if (schedule.shape == "cosine") {
            factor = detail::cosine_factor(t, total_steps);
        } else if (t < warmup_steps) {
            factor = static_cast<double>(t + 1) / static_cast<double>(warmup_steps);
        } else {
            factor = detail::cosine_factor(t - warmup_steps, total_steps - warmup_steps);
        }
        values.lr[t] = schedule.lr * factor;
    }
    return values;
}

}  // namespace fds
