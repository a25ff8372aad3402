#pragma once
// One run of the hypergradient-noise measurement (hypergradient_noise.hpp): T inner steps on a
// fixed schedule with every step's learning rate its own bucket (K = T tangents; the live prefix
// keeps the cost near K / 2), then
//
//     h(t) = dL_val(theta_T) / dlr_t          the per-step hypergradients (FDS with n_lrs = T)
//     g(t) = dL_val(theta_{t+1}) / dlr_t      the greedy ones: one step of horizon, fresh tangents
//
// L_val is the training-mode loss over the whole validation split, as hypertrain's. Run r draws
// its batch order and initial weights from the streams of outer step r; the validation split is
// that of outer step 0 for every run, so all runs differentiate the same objective. The greedy
// values come from a second pass over the same batches and weights (greedy_hyper_training.hpp).
//
//   fds::per_step_run run = fds::measure_per_step_hypergradients(network, settings, dataset, 250, 0, {});

#include <chrono>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/data/dataset.hpp>
#include <fds/data/validation_split.hpp>
#include <fds/greedy_hyper_training.hpp>
#include <fds/hyper_trainer.hpp>
#include <fds/hypergradient.hpp>
#include <fds/hypertrain_settings.hpp>
#include <fds/inner_loop.hpp>
#include <fds/progress.hpp>
#include <fds/run_setup.hpp>
#include <fds/schedule.hpp>

namespace fds {

struct per_step_run {
    std::size_t run = 0;
    std::vector<double> hypergradient;  // h(t), t = 0..T-1
    std::vector<double> greedy;  // g(t)
    double val_loss = 0.0;  // L_val(theta_T)
    bool diverged = false;  // a non-finite loss: no hypergradients
    double seconds = 0.0;
};

// The schedule every run trains with: initial_schedules(settings) with one learning rate per step.
hyper_values noise_schedule(const hypertrain_settings& settings, std::size_t steps);

// Run `run` of `steps` inner steps; progress events carry phase "noise" and outer_step = run.
template <class Scalar>
per_step_run measure_per_step_hypergradients(nn::network<Scalar>& network, const hypertrain_settings& settings,
                                             const data::dataset& dataset, std::size_t steps, std::size_t run,
                                             const progress_callback& progress);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline hyper_values noise_schedule(const hypertrain_settings& settings, std::size_t steps) {
    hypertrain_settings per_step = settings;
    per_step.n_lrs = steps;
    per_step.n_moms = 1;
    per_step.n_wds = 1;
    return initial_schedules(per_step);
}

template <class Scalar>
per_step_run measure_per_step_hypergradients(nn::network<Scalar>& network, const hypertrain_settings& settings,
                                             const data::dataset& dataset, std::size_t steps, std::size_t run,
                                             const progress_callback& progress) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    if (steps == 0) throw std::invalid_argument("noise_steps: expected at least 1 inner step, found 0");
    const data::validation_split split = validation_split_of(settings, dataset);
    const data::batch_loader train =
        training_loader(settings, dataset, split.train, stream_seed(settings.seed, seed_stream::train_batches, run));
    const data::batch_loader validation =
        evaluation_loader(settings, dataset, data::split_part::train, split.validation,
                          stream_seed(settings.seed, seed_stream::validation_batches, 0));
    const std::size_t batches_per_epoch = train.batches_per_epoch();
    auto batch_at = [&](std::size_t step) { return train.load(step / batches_per_epoch, step % batches_per_epoch); };
    const hyper_values schedule = noise_schedule(settings, steps);
    inner_loop_options options = inner_loop_options_from(settings);
    options.pruning = pruning_rule{};  // every step's tangent is measured

    network.reset_buffers();
    const xt::xarray<Scalar> initial = network.initial_parameters(
        initializer_of(settings), stream_seed(settings.seed, seed_stream::initial_weights, run));
    auto report = [&](std::size_t done, std::size_t total, clock::time_point since) {
        if (!progress) return;
        const double elapsed = std::chrono::duration<double>(clock::now() - since).count();
        // one "epoch" per run: the steps of both passes
        progress(progress_after("noise", run, done, total, total, elapsed));
    };

    per_step_run result;
    result.run = run;
    const tangent_layout layout({steps, 1, 1}, {true, false, false}, steps);
    const auto long_start = clock::now();
    const inner_loop_result<Scalar> inner =
        run_inner_loop(network, initial, schedule, layout, options, batch_at,
                       [&](std::size_t step, std::size_t) { report(step + 1, 2 * steps, long_start); });
    if (inner.diverged) {
        result.diverged = true;
        result.val_loss = std::nan("");
        result.seconds = std::chrono::duration<double>(clock::now() - start).count();
        return result;
    }
    const auto validation_gradient = mean_validation_gradient(network, inner.parameters.value(), validation);
    result.val_loss = validation_gradient.loss;
    result.hypergradient =
        hypergradients(inner.parameters, validation_gradient.gradient, layout, inner.tangent_steps).lr;

    const greedy_objective<Scalar> objective = [&](const xt::xarray<Scalar>& parameters, std::size_t) {
        return mean_validation_gradient(network, parameters, validation).gradient;
    };
    // the schedule's next value, whatever the hypergradient: the greedy run follows the same trajectory
    const greedy_update follow_schedule = [&](hyper_type, std::size_t segment, double value, double, double) {
        return segment + 1 < steps ? schedule.lr[segment + 1] : value;
    };
    const step_hypers first = hypers_at(schedule, 0, steps);
    const greedy_segments_result<Scalar> greedy = run_greedy_segments<Scalar>(
        network, initial, steps, steps, first, {true, false, false}, options, batch_at, objective, follow_schedule,
        [&](std::size_t step, std::size_t) { report(steps + step + 1, 2 * steps, long_start); });
    for (const greedy_segment_record& segment : greedy.run.segments)
        result.greedy.push_back(segment.hypergradient.lr[0]);
    result.diverged = greedy.run.diverged;
    result.seconds = std::chrono::duration<double>(clock::now() - start).count();
    return result;
}

}  // namespace fds
