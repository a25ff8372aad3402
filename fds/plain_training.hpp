#pragma once
// Ordinary training with a fixed schedule: a fresh model, plain SGD with momentum and weight decay
// as torch.optim.SGD (no gradient clamp, as the reference's retraining), the schedule's buckets
// spread over the run's total_steps (bucket = floor(n t / T)). Retraining, `fds train` and every
// black-box trial run this same loop, so they differ only in data, length and seeds. With a group
// of several ranks, each batch is shared by them (data_parallel.hpp).
//
//   auto run = fds::train_with_schedule(network, settings, loader, schedule, steps, weight_seed,
//                                       [&](std::size_t step, const auto& parameters) { ... });

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>

#include <xtensor/xarray.hpp>

#include <fds/data/batch_loader.hpp>
#include <fds/data_parallel.hpp>
#include <fds/distributed/communicator.hpp>
#include <fds/hypertrain_settings.hpp>
#include <fds/run_setup.hpp>
#include <fds/schedule.hpp>
#include <fds/nn/network.hpp>
#include <fds/nn/sgd.hpp>

namespace fds {

// Where a training run stands: its weights and velocity after steps_done steps.
template <class Scalar>
struct training_state {
    xt::xarray<Scalar> parameters, velocity;
    std::size_t steps_done = 0;
};

template <class Scalar>
struct plain_training_run {
    xt::xarray<Scalar> parameters;
    std::size_t steps_run = 0;
    bool diverged = false;  // a non-finite training loss stopped the run
};

// Called after every step with (step, the state after it).
template <class Scalar>
using plain_step_callback = std::function<void(std::size_t, const training_state<Scalar>&)>;

// Runs total_steps steps over the loader's batches in order (epoch = step / batches_per_epoch),
// from the initial weights drawn with weight_seed.
template <class Scalar>
plain_training_run<Scalar> train_with_schedule(nn::network<Scalar>& network, const hypertrain_settings& settings,
                                               const data::batch_loader& train, const hyper_values& schedule,
                                               std::size_t total_steps, std::uint64_t weight_seed,
                                               const plain_step_callback<Scalar>& after_step = {},
                                               const distributed::communicator& group = distributed::single_process());

// The same run's remaining steps from `start` (a state an earlier call passed to after_step; the
// network's BatchNorm buffers must be those of that moment): the same steps as one call.
template <class Scalar>
plain_training_run<Scalar> continue_training(nn::network<Scalar>& network, const data::batch_loader& train,
                                             const hyper_values& schedule, std::size_t total_steps,
                                             training_state<Scalar> start,
                                             const plain_step_callback<Scalar>& after_step = {},
                                             const distributed::communicator& group = distributed::single_process());

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

template <class Scalar>
plain_training_run<Scalar> train_with_schedule(nn::network<Scalar>& network, const hypertrain_settings& settings,
                                               const data::batch_loader& train, const hyper_values& schedule,
                                               std::size_t total_steps, std::uint64_t weight_seed,
                                               const plain_step_callback<Scalar>& after_step,
                                               const distributed::communicator& group) {
    network.reset_buffers();
    training_state<Scalar> start;
    start.parameters = network.initial_parameters(initializer_of(settings), weight_seed);
    start.velocity = xt::zeros<Scalar>(start.parameters.shape());
    return continue_training(network, train, schedule, total_steps, std::move(start), after_step, group);
}

template <class Scalar>
plain_training_run<Scalar> continue_training(nn::network<Scalar>& network, const data::batch_loader& train,
                                             const hyper_values& schedule, std::size_t total_steps,
                                             training_state<Scalar> state,
                                             const plain_step_callback<Scalar>& after_step,
                                             const distributed::communicator& group) {
    plain_training_run<Scalar> run;
    const std::size_t batches_per_epoch = train.batches_per_epoch();
    for (std::size_t step = state.steps_done; step < total_steps; ++step) {
        const step_hypers hypers = hypers_at(schedule, step, total_steps);
        data::batch batch = train.load(step / batches_per_epoch, step % batches_per_epoch);
        auto trained = data_parallel_loss_and_gradient(network, state.parameters,
                                                       images_as<Scalar>(std::move(batch.images)), batch.labels, group);
        if (!std::isfinite(static_cast<double>(trained.loss()))) {
            run.diverged = true;
            break;
        }
        nn::sgd_step(state.parameters, state.velocity, trained.gradient, static_cast<Scalar>(hypers.lr),
                     static_cast<Scalar>(hypers.mom), static_cast<Scalar>(hypers.wd));
        ++run.steps_run;
        state.steps_done = step + 1;
        if (after_step) after_step(step, state);
    }
    run.parameters = std::move(state.parameters);
    return run;
}

}  // namespace fds
