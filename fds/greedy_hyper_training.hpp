#pragma once
// Greedy gradient-based hyperparameter optimization inside one training run: the alternatives
// the paper measures FDS against. The run's T steps are cut into S segments (segment of step t
// = floor(S t / T), as schedule buckets), and for each segment s:
//
//     fresh tangents (Z = C = 0) for the segment's lr_s, mom_s, wd_s      (the truncated horizon)
//     the segment's steps on dual weights, continuing the run's weights and velocity
//     hg_s = (grad L(theta after the segment) . Z) / (steps of the segment)
//     h_{s+1} = update(h_s, hg_s)
//
// - HD (Baydin et al., ICLR 2018): S = T (one step per segment), L = the next training batch's
//   loss, and the paper's multiplicative rule on the normalized hypergradient
//   c = (grad L . Z) / (|grad L| |Z|) (a cosine, so the step does not depend on the gradients'
//   scale): lr <- lr (1 - beta c), wd <- wd (1 - beta c), (1 - mom) <- (1 - mom) (1 + beta c),
//   with beta = hd_lr_beta, hd_wd_beta, hd_mom_beta, kept in the valid ranges. (The additive rule
//   h <- h - beta hg diverged on LeNet: its steps grow with the gradients.)
// - Greedy FDS: S = ceil(T / greedy_horizon), L = the validation loss as FDS's
//   (hypergradient.hpp), h updated by the configured outer optimizer with one bucket per type.
//   With one segment (greedy_horizon >= T) this is FDS's first outer step with one bucket per
//   type, on the same streams.
//
// The values the segments used form a schedule with S buckets per type, retrained from scratch
// as every other method's. The run draws hyper-training's streams of outer step 0 (validation
// split, batch order, initial weights), so its data are those of FDS's first outer step.
//
//   fds::greedy_run run = fds::greedy_hyper_train(network, settings, dataset, {});
//   fds::retrain(settings, dataset, run.schedule, {});

#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/reduction.hpp>
#include <fds/data/dataset.hpp>
#include <fds/data/validation_split.hpp>
#include <fds/hypergradient.hpp>
#include <fds/hypertrain_settings.hpp>
#include <fds/inner_loop.hpp>
#include <fds/outer_optimizer.hpp>
#include <fds/progress.hpp>
#include <fds/retrain.hpp>
#include <fds/run_setup.hpp>
#include <fds/schedule.hpp>

namespace fds {

enum class greedy_method { hd, greedy };

// "hd" | "greedy"; anything else -> std::invalid_argument naming the key.
greedy_method parse_greedy_method(const std::string& name);

struct greedy_segment_record {
    std::size_t segment = 0, first_step = 0, steps = 0;
    double lr = 0.0, mom = 0.0, wd = 0.0;  // the values the segment trained with
    hyper_values hypergradient;  // one entry per learned type (empty: not learned)
    hyper_values cosine;  // hypergradient direction: (grad L . Z) / (|grad L| |Z|), same entries
    double train_loss = 0.0;  // mean over the segment's batches
};

struct greedy_run {
    std::vector<greedy_segment_record> segments;
    hyper_values schedule;  // one bucket per segment, the values each used
    std::size_t total_steps = 0;
    bool diverged = false;
    double val_acc = 0.0, val_loss = 0.0, test_acc = 0.0;  // of the run's own final weights, evaluation mode
    double seconds = 0.0;
};

// What run_greedy_segments leaves: the run and the weights after its last segment.
template <class Scalar>
struct greedy_segments_result {
    greedy_run run;
    xt::xarray<Scalar> parameters;
};

// The gradient of the objective at the weights after a segment; `next_step` is the first step
// after it (HD's next batch).
template <class Scalar>
using greedy_objective = std::function<xt::xarray<Scalar>(const xt::xarray<Scalar>& parameters, std::size_t next_step)>;

// h_{s+1} from segment s's value h_s, hypergradient hg_s and its cosine c_s, for one type.
using greedy_update =
    std::function<double(hyper_type type, std::size_t segment, double value, double hypergradient, double cosine)>;

// The segments of a run of total_steps steps from initial_parameters (zero velocity): batch_at(t)
// gives step t's batch, after_step(t, total_steps) follows each step. Types not in `learned` keep
// their start values and carry no tangent.
template <class Scalar, class BatchAt>
greedy_segments_result<Scalar> run_greedy_segments(
    nn::network<Scalar>& network, const xt::xarray<Scalar>& initial_parameters, std::size_t total_steps,
    std::size_t segment_count, const step_hypers& start, const std::array<bool, hyper_type_count>& learned,
    const inner_loop_options& options, BatchAt&& batch_at, const greedy_objective<Scalar>& objective,
    const greedy_update& update, const inner_step_callback& after_step = {});

// The whole method from the settings (settings.method "hd" or "greedy"): the training run on the
// training part of the split for retrain_epochs(settings) epochs, then the run's own accuracies.
template <class Scalar>
greedy_run greedy_hyper_train(nn::network<Scalar>& network, const hypertrain_settings& settings,
                              const data::dataset& dataset, const progress_callback& progress);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

namespace detail {

// (direction . Z_k) / (|direction| |Z_k|) for every slot k, by its owner (0 where either is zero).
template <class Scalar>
hyper_values tangent_cosines(const autodiff::dual_tensor<Scalar>& parameters, const xt::xarray<Scalar>& direction,
                             const tangent_layout& layout) {
    const xt::xarray<Scalar> projections = autodiff::project_tangents(parameters, direction);
    double direction_norm = 0.0;
    for (Scalar x : direction) direction_norm += static_cast<double>(x) * static_cast<double>(x);
    direction_norm = std::sqrt(direction_norm);
    hyper_values cosines;
    for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd})
        if (layout.learned(type)) cosines.of(type).assign(layout.bucket_count(type), 0.0);
    const std::size_t width = parameters.size();
    for (std::size_t slot = 0; slot < layout.tangent_count(); ++slot) {
        double norm = 0.0;
        if (slot < parameters.live_tangents()) {
            const Scalar* row = parameters.live_tangent_block().data() + slot * width;
            for (std::size_t p = 0; p < width; ++p) norm += static_cast<double>(row[p]) * static_cast<double>(row[p]);
        }
        const double denominator = direction_norm * std::sqrt(norm);
        const auto& owner = layout.owner(slot);
        cosines.of(owner.type)[owner.bucket] =
            denominator > 0 ? static_cast<double>(projections(slot)) / denominator : 0.0;
    }
    return cosines;
}

}  // namespace detail

inline greedy_method parse_greedy_method(const std::string& name) {
    if (name == "hd") return greedy_method::hd;
    if (name == "greedy") return greedy_method::greedy;
    throw std::invalid_argument("method: expected hd or greedy for a greedy run, found \"" + name + "\"");
}

template <class Scalar, class BatchAt>
greedy_segments_result<Scalar> run_greedy_segments(
    nn::network<Scalar>& network, const xt::xarray<Scalar>& initial_parameters, std::size_t total_steps,
    std::size_t segment_count, const step_hypers& start, const std::array<bool, hyper_type_count>& learned,
    const inner_loop_options& options, BatchAt&& batch_at, const greedy_objective<Scalar>& objective,
    const greedy_update& update, const inner_step_callback& after_step) {
    if (total_steps == 0 || segment_count == 0 || segment_count > total_steps)
        throw std::invalid_argument("greedy run: expected 1 <= segments <= steps, found " +
                                    std::to_string(segment_count) + " segments of " + std::to_string(total_steps) +
                                    " steps");
    const std::array<hyper_type, 3> types{hyper_type::lr, hyper_type::mom, hyper_type::wd};
    greedy_run run;
    run.total_steps = total_steps;
    xt::xarray<Scalar> parameters = initial_parameters;
    xt::xarray<Scalar> velocity = xt::zeros<Scalar>(initial_parameters.shape());
    std::array<double, 3> values{start.lr, start.mom, start.wd};
    std::size_t first_step = 0;
    for (std::size_t segment = 0; segment < segment_count; ++segment) {
        // floor(S t / T) == segment exactly for t in [first_step, end)
        std::size_t end = first_step;
        while (end < total_steps && bucket_index(segment_count, end, total_steps) == segment) ++end;
        greedy_segment_record record;
        record.segment = segment;
        record.first_step = first_step;
        record.steps = end - first_step;
        record.lr = values[0];
        record.mom = values[1];
        record.wd = values[2];
        hyper_values used{{values[0]}, {values[1]}, {values[2]}};
        const tangent_layout layout({1, 1, 1}, {learned[0], learned[1], learned[2]}, record.steps);
        const inner_loop_result<Scalar> inner = continue_inner_loop(
            network, parameters, velocity, used, layout, options,
            [&](std::size_t step) { return batch_at(first_step + step); },
            [&](std::size_t step, std::size_t) {
                if (after_step) after_step(first_step + step, total_steps);
            });
        record.train_loss = inner.train_loss_mean;
        parameters = inner.parameters.value();
        velocity = inner.velocity.value();
        if (inner.diverged) {
            run.diverged = true;
            run.segments.push_back(record);
            break;
        }
        const xt::xarray<Scalar> direction = objective(parameters, end);
        record.hypergradient = hypergradients(inner.parameters, direction, layout, inner.tangent_steps);
        record.cosine = detail::tangent_cosines(inner.parameters, direction, layout);
        for (hyper_type type : types) {
            const auto i = static_cast<std::size_t>(type);
            if (learned[i])
                values[i] =
                    update(type, segment, values[i], record.hypergradient.of(type)[0], record.cosine.of(type)[0]);
        }
        run.segments.push_back(record);
        first_step = end;
    }
    // A diverged run's remaining segments keep the last values used.
    for (std::size_t segment = 0; segment < segment_count; ++segment) {
        const greedy_segment_record& record = run.segments[std::min(segment, run.segments.size() - 1)];
        run.schedule.lr.push_back(record.lr);
        run.schedule.mom.push_back(record.mom);
        run.schedule.wd.push_back(record.wd);
    }
    if (!run.diverged)
        for (Scalar w : parameters)
            if (!std::isfinite(w)) {
                run.diverged = true;
                break;
            }
    network.reset_buffers();
    return {std::move(run), std::move(parameters)};
}

template <class Scalar>
greedy_run greedy_hyper_train(nn::network<Scalar>& network, const hypertrain_settings& settings,
                              const data::dataset& dataset, const progress_callback& progress) {
    using clock = std::chrono::steady_clock;
    const auto start_time = clock::now();
    const greedy_method method = parse_greedy_method(settings.method);
    const data::validation_split split = validation_split_of(settings, dataset);
    const data::batch_loader train =
        training_loader(settings, dataset, split.train, stream_seed(settings.seed, seed_stream::train_batches, 0));
    const data::batch_loader validation =
        evaluation_loader(settings, dataset, data::split_part::train, split.validation,
                          stream_seed(settings.seed, seed_stream::validation_batches, 0));
    const std::size_t batches_per_epoch = train.batches_per_epoch();
    const std::size_t total_steps = retrain_epochs(settings) * batches_per_epoch;
    auto batch_at = [&](std::size_t step) { return train.load(step / batches_per_epoch, step % batches_per_epoch); };

    if (method == greedy_method::greedy && settings.greedy_horizon == 0)
        throw std::invalid_argument("greedy_horizon: expected at least one step, found 0");
    const std::size_t segment_count =
        method == greedy_method::hd
            ? total_steps
            : std::min(total_steps, (total_steps + settings.greedy_horizon - 1) / settings.greedy_horizon);
    greedy_objective<Scalar> objective;
    greedy_update update;
    std::array<std::unique_ptr<outer_optimizer>, hyper_type_count> optimizers;
    const std::array<double, 3> betas{settings.hd_lr_beta, settings.hd_mom_beta, settings.hd_wd_beta};
    if (method == greedy_method::hd) {
        objective = [&](const xt::xarray<Scalar>& parameters, std::size_t next_step) {
            data::batch batch = batch_at(next_step);
            return network.loss_and_gradient(parameters, images_as<Scalar>(std::move(batch.images)), batch.labels)
                .gradient;
        };
        update = [&](hyper_type type, std::size_t, double value, double, double cosine) {
            const valid_range range = settings.hyper_ranges ? valid_range::of(type) : valid_range::unbounded();
            if (!std::isfinite(cosine)) return value;
            const double beta = betas[static_cast<std::size_t>(type)];
            if (type == hyper_type::mom) return range.project(1.0 - (1.0 - value) * (1.0 + beta * cosine));
            return range.project(value * (1.0 - beta * cosine));
        };
    } else {
        for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd})
            optimizers[static_cast<std::size_t>(type)] = make_outer_optimizer(settings, type, 1);
        objective = [&](const xt::xarray<Scalar>& parameters, std::size_t) {
            return mean_validation_gradient(network, parameters, validation).gradient;
        };
        update = [&](hyper_type type, std::size_t, double value, double hypergradient, double) {
            return optimizers[static_cast<std::size_t>(type)]->update({value}, {hypergradient})[0];
        };
    }

    network.reset_buffers();
    const xt::xarray<Scalar> initial = network.initial_parameters(
        initializer_of(settings), stream_seed(settings.seed, seed_stream::initial_weights, 0));
    inner_loop_options options = inner_loop_options_from(settings);
    options.pruning = pruning_rule{};  // a segment's tangents are its whole horizon
    const step_hypers start{settings.inner_lr_init, settings.inner_mom_init, settings.inner_wd_init, 0, 0, 0};
    const auto train_start = clock::now();
    auto after_step = [&](std::size_t step, std::size_t steps) {
        if (!progress) return;
        const double elapsed = std::chrono::duration<double>(clock::now() - train_start).count();
        progress(progress_after("greedy", 0, step + 1, steps, batches_per_epoch, elapsed));
    };
    greedy_segments_result<Scalar> segments = run_greedy_segments<Scalar>(
        network, initial, total_steps, segment_count, start, {settings.learn_lr, settings.learn_mom, settings.learn_wd},
        options, batch_at, objective, update, after_step);
    greedy_run& run = segments.run;
    const xt::xarray<Scalar>& final_parameters = segments.parameters;
    if (!run.diverged) {
        const auto validated = evaluate_loader(network, final_parameters, validation, nn::mode::evaluation);
        const data::batch_loader test =
            evaluation_loader(settings, dataset, data::split_part::test, all_indices(dataset.test_labels.size()),
                              stream_seed(settings.seed, seed_stream::test_batches, 0));
        run.val_acc = validated.accuracy();
        run.val_loss = validated.mean_loss();
        run.test_acc = evaluate_loader(network, final_parameters, test, nn::mode::evaluation).accuracy();
    } else {
        run.val_loss = std::nan("");
    }
    run.seconds = std::chrono::duration<double>(clock::now() - start_time).count();
    return std::move(run);
}

}  // namespace fds
