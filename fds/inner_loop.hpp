#pragma once
// The inner loop of FDS: ordinary training code (the network's forward and hand-written
// backward, then SGD) run on dual parameters, with each learned hyperparameter bucket a dual
// scalar seeded in its own tangent slot. For t = 0..T-1, with c = clamp_grads_range:
//
//     g_t         = clamp(grad_theta L_train(theta_t; batch_t), -c, c)
//     v_{t+1}     = mom_t v_t + g_t + wd_t theta_t
//     theta_{t+1} = theta_t - lr_t v_{t+1}
//
// On duals, the tangent of g_t is H_t Z_t (forward-over-reverse) and the SGD update produces
//
//     C_{t+1} = mom C_t + H Z_t + wd Z_t + e_mom v_t + e_wd theta_t            (C = dv/dh)
//     Z_{t+1} = Z_t - lr C_{t+1} - e_lr v_{t+1}                                (Z = dtheta/dh)
//
// which is the reference's hand-derived recursion (its A_times_Z + B and C) with no code of its
// own. Slots are numbered by first use (schedule.hpp), so the live prefix grows with t and
// unused buckets cost nothing, as the reference's `for j in range(lr_index + 1)`.
//
// Options of the reference:
// - clamp_grads: autodiff::clamp, whose tangent is zero where the gradient was clamped, i.e.
//   D (H Z) with D the 0/1 mask. This is the exact derivative of the clamped step. The
//   reference's vector-Jacobian product computes H (D Z) instead; the two agree when nothing
//   is clamped (and when clamp_grads is off).
// - clamp_HZ: autodiff::clamp_tangents on the gradient, i.e. clamp(H Z) as the reference.
// - pruning: on a pruned step of type X the reference leaves Z_X and C_X unchanged. Here the
//   step runs on a compacted dual holding only the live slots of unpruned types (their
//   hyperparameters seeded in the compacted numbering; the pruned type's hyperparameters are
//   constants), then the compacted tangents are written back and the pruned slots keep their
//   rows of Z and C. The tangent work of a pruned type is skipped, as in the reference; the
//   values always take the full step.
// - A non-finite training loss stops the run early and marks it diverged (the caller reports
//   it and gives its hypergradients sign 0, as the reference's NaNs do).
// - group: the ranks that share every batch (data_parallel.hpp); one process by default.

#include <array>
#include <cmath>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xview.hpp>

#include <fds/autodiff/dual_scalar.hpp>
#include <fds/autodiff/dual_tensor.hpp>
#include <fds/autodiff/elementwise.hpp>
#include <fds/data/batch_loader.hpp>
#include <fds/data_parallel.hpp>
#include <fds/distributed/communicator.hpp>
#include <fds/hypertrain_settings.hpp>
#include <fds/pruning.hpp>
#include <fds/run_setup.hpp>
#include <fds/schedule.hpp>
#include <fds/nn/network.hpp>
#include <fds/nn/sgd.hpp>

namespace fds {

struct inner_loop_options {
    bool clamp_grads = true;
    double clamp_grads_range = 3.0;
    bool clamp_HZ = true;
    double clamp_HZ_range = 1.0;
    pruning_rule pruning{};
    const distributed::communicator* group = &distributed::single_process();
};
inner_loop_options inner_loop_options_from(const hypertrain_settings& settings);

template <class Scalar>
struct inner_loop_result {
    autodiff::dual_tensor<Scalar> parameters;  // theta_T; its tangents are Z_T in the layout's slots
    autodiff::dual_tensor<Scalar> velocity;  // v_T; its tangents are C_T
    // Steps on which each type's tangents were updated (not pruned), indexed by hyper_type.
    std::array<std::size_t, hyper_type_count> tangent_steps{};
    std::size_t steps_run = 0;
    bool diverged = false;  // a non-finite training loss or final weight
    double train_loss_mean = 0.0;
    double train_accuracy = 0.0;
};

// Called after every inner step with (step, total_steps).
using inner_step_callback = std::function<void(std::size_t, std::size_t)>;

// Runs the T = layout.total_steps() inner steps from initial_parameters (zero velocity).
// batch_at(t) returns the data::batch of step t.
template <class Scalar, class BatchAt>
inner_loop_result<Scalar> run_inner_loop(nn::network<Scalar>& network, const xt::xarray<Scalar>& initial_parameters,
                                         const hyper_values& schedules, const tangent_layout& layout,
                                         const inner_loop_options& options, BatchAt&& batch_at,
                                         const inner_step_callback& after_step = {});

// The same from a running training's weights and velocity, with fresh tangents (Z = C = 0):
// the truncated horizon of the greedy methods (greedy_hyper_training.hpp).
template <class Scalar, class BatchAt>
inner_loop_result<Scalar> continue_inner_loop(nn::network<Scalar>& network, const xt::xarray<Scalar>& start_parameters,
                                              const xt::xarray<Scalar>& start_velocity, const hyper_values& schedules,
                                              const tangent_layout& layout, const inner_loop_options& options,
                                              BatchAt&& batch_at, const inner_step_callback& after_step = {});

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline inner_loop_options inner_loop_options_from(const hypertrain_settings& settings) {
    inner_loop_options options;
    options.clamp_grads = settings.clamp_grads;
    options.clamp_grads_range = settings.clamp_grads_range;
    options.clamp_HZ = settings.clamp_HZ;
    options.clamp_HZ_range = settings.clamp_HZ_range;
    options.pruning = make_pruning_rule(settings.pruning_mode, settings.pruning_ratio);
    return options;
}

namespace detail {

// One SGD step of the dual parameters on one batch; returns (loss, correct).
template <class Scalar>
std::pair<double, std::size_t> dual_training_step(nn::network<Scalar>& network,
                                                  autodiff::dual_tensor<Scalar>& parameters,
                                                  autodiff::dual_tensor<Scalar>& velocity,
                                                  const xt::xarray<Scalar>& images, const xt::xarray<int>& labels,
                                                  const std::array<autodiff::dual_scalar<Scalar>, 3>& hypers,
                                                  const inner_loop_options& options) {
    auto trained = data_parallel_loss_and_gradient(network, parameters, images, labels, *options.group);
    autodiff::dual_tensor<Scalar> gradient = std::move(trained.gradient);
    if (options.clamp_grads) {
        const auto range = static_cast<Scalar>(options.clamp_grads_range);
        gradient = autodiff::clamp(gradient, -range, range);
    }
    if (options.clamp_HZ) {
        const auto range = static_cast<Scalar>(options.clamp_HZ_range);
        gradient = autodiff::clamp_tangents(gradient, -range, range);
    }
    nn::sgd_step(parameters, velocity, gradient, hypers[0], hypers[1], hypers[2]);
    return {static_cast<double>(autodiff::value(trained.loss)()), trained.correct};
}

// The same step on plain tensors, for steps without any tangent to update.
template <class Scalar>
std::pair<double, std::size_t> plain_training_step(nn::network<Scalar>& network, xt::xarray<Scalar>& parameters,
                                                   xt::xarray<Scalar>& velocity, const xt::xarray<Scalar>& images,
                                                   const xt::xarray<int>& labels, const step_hypers& hypers,
                                                   const inner_loop_options& options) {
    auto trained = data_parallel_loss_and_gradient(network, parameters, images, labels, *options.group);
    xt::xarray<Scalar> gradient = std::move(trained.gradient);
    if (options.clamp_grads) {
        const auto range = static_cast<Scalar>(options.clamp_grads_range);
        gradient = autodiff::clamp(gradient, -range, range);
    }
    nn::sgd_step(parameters, velocity, gradient, static_cast<Scalar>(hypers.lr), static_cast<Scalar>(hypers.mom),
                 static_cast<Scalar>(hypers.wd));
    return {static_cast<double>(trained.loss()), trained.correct};
}

// Rows `rows` of a [L, P] tangent block.
template <class Scalar>
xt::xarray<Scalar> gather_rows(const xt::xarray<Scalar>& block, const std::vector<std::size_t>& rows) {
    const std::size_t width = block.size() / std::max<std::size_t>(block.shape()[0], 1);
    xt::xarray<Scalar> result = xt::xarray<Scalar>::from_shape({rows.size(), width});
    for (std::size_t r = 0; r < rows.size(); ++r)
        std::copy_n(block.data() + rows[r] * width, width, result.data() + r * width);
    return result;
}

template <class Scalar>
void scatter_rows(const xt::xarray<Scalar>& compact, const std::vector<std::size_t>& rows, xt::xarray<Scalar>& block) {
    const std::size_t width = block.size() / std::max<std::size_t>(block.shape()[0], 1);
    for (std::size_t r = 0; r < rows.size(); ++r)
        std::copy_n(compact.data() + r * width, width, block.data() + rows[r] * width);
}

}  // namespace detail

template <class Scalar, class BatchAt>
inner_loop_result<Scalar> run_inner_loop(nn::network<Scalar>& network, const xt::xarray<Scalar>& initial_parameters,
                                         const hyper_values& schedules, const tangent_layout& layout,
                                         const inner_loop_options& options, BatchAt&& batch_at,
                                         const inner_step_callback& after_step) {
    return continue_inner_loop(network, initial_parameters,
                               xt::xarray<Scalar>(xt::zeros<Scalar>(initial_parameters.shape())), schedules, layout,
                               options, std::forward<BatchAt>(batch_at), after_step);
}

template <class Scalar, class BatchAt>
inner_loop_result<Scalar> continue_inner_loop(nn::network<Scalar>& network, const xt::xarray<Scalar>& start_parameters,
                                              const xt::xarray<Scalar>& start_velocity, const hyper_values& schedules,
                                              const tangent_layout& layout, const inner_loop_options& options,
                                              BatchAt&& batch_at, const inner_step_callback& after_step) {
    using dual = autodiff::dual_tensor<Scalar>;
    using dual_number = autodiff::dual_scalar<Scalar>;
    const std::size_t tangent_count = layout.tangent_count();
    const std::size_t total_steps = layout.total_steps();
    const std::array<hyper_type, 3> types{hyper_type::lr, hyper_type::mom, hyper_type::wd};

    inner_loop_result<Scalar> result;
    if (start_velocity.shape() != start_parameters.shape())
        throw std::invalid_argument("continue_inner_loop: the velocity's shape differs from the parameters'");
    result.parameters = dual(start_parameters, tangent_count);
    result.velocity = dual(start_velocity, tangent_count);
    double loss_sum = 0.0;
    std::size_t correct = 0, seen = 0;

    for (std::size_t step = 0; step < total_steps; ++step) {
        const step_hypers hypers = hypers_at(schedules, step, total_steps);
        std::array<bool, 3> pruned{};
        bool any_pruned = false;
        for (hyper_type type : types) {
            const auto i = static_cast<std::size_t>(type);
            if (!layout.learned(type)) continue;
            pruned[i] = options.pruning.is_pruned(step, total_steps, layout.bucket_count(type));
            any_pruned = any_pruned || pruned[i];
            if (!pruned[i]) ++result.tangent_steps[i];
        }
        const std::size_t live = layout.live_slots(step);
        result.parameters.grow_live_tangents(live);
        result.velocity.grow_live_tangents(live);

        data::batch batch = batch_at(step);
        const xt::xarray<Scalar> images = images_as<Scalar>(std::move(batch.images));

        // The live slots whose tangents this step updates, and their compacted numbering.
        std::vector<std::size_t> active;
        std::vector<std::size_t> compact_slot(tangent_count, tangent_layout::no_slot);
        for (std::size_t slot = 0; slot < live; ++slot)
            if (!pruned[static_cast<std::size_t>(layout.owner(slot).type)]) {
                compact_slot[slot] = active.size();
                active.push_back(slot);
            }
        const std::size_t step_tangent_count = any_pruned ? active.size() : tangent_count;
        std::array<dual_number, 3> dual_hypers;
        for (hyper_type type : types) {
            const auto i = static_cast<std::size_t>(type);
            const auto value = static_cast<Scalar>(hypers.value(type));
            const std::size_t slot = layout.slot(type, hypers.bucket(type));
            if (slot == tangent_layout::no_slot || pruned[i])
                dual_hypers[i] = dual_number(value, step_tangent_count);
            else
                dual_hypers[i] =
                    dual_number::variable(value, step_tangent_count, any_pruned ? compact_slot[slot] : slot);
        }

        std::pair<double, std::size_t> outcome;
        if ((any_pruned ? active.size() : live) == 0) {
            // No tangent to update: a plain step on the values (the tangents stay as they are).
            outcome =
                detail::plain_training_step(network, result.parameters.mutable_value(), result.velocity.mutable_value(),
                                            images, batch.labels, hypers, options);
        } else if (!any_pruned) {
            outcome = detail::dual_training_step(network, result.parameters, result.velocity, images, batch.labels,
                                                 dual_hypers, options);
        } else {
            dual parameters(result.parameters.value(),
                            detail::gather_rows(result.parameters.live_tangent_block(), active), active.size());
            dual velocity(result.velocity.value(), detail::gather_rows(result.velocity.live_tangent_block(), active),
                          active.size());
            outcome =
                detail::dual_training_step(network, parameters, velocity, images, batch.labels, dual_hypers, options);
            parameters.grow_live_tangents(active.size());
            velocity.grow_live_tangents(active.size());
            result.parameters.mutable_value() = parameters.value();
            result.velocity.mutable_value() = velocity.value();
            detail::scatter_rows(parameters.live_tangent_block(), active,
                                 result.parameters.mutable_live_tangent_block());
            detail::scatter_rows(velocity.live_tangent_block(), active, result.velocity.mutable_live_tangent_block());
        }
        ++result.steps_run;
        loss_sum += outcome.first * static_cast<double>(batch.labels.size());
        correct += outcome.second;
        seen += batch.labels.size();
        if (after_step) after_step(step, total_steps);
        if (!std::isfinite(outcome.first)) {
            result.diverged = true;
            break;
        }
    }
    if (!result.diverged) {
        for (Scalar w : result.parameters.value())
            if (!std::isfinite(w)) {
                result.diverged = true;
                break;
            }
    }
    result.train_loss_mean = seen ? loss_sum / static_cast<double>(seen) : 0.0;
    result.train_accuracy = seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
    return result;
}

}  // namespace fds
