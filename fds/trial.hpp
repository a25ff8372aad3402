#pragma once
// One black-box trial: ordinary training (plain_training.hpp) of one schedule from scratch for a
// given number of epochs (fractions allowed: Hyperband's short rungs) on the training part of
// the validation split, scored on the held-out part. The split is hyper-training's first one
// (the same seed stream), fixed over all trials so that they compete on the same images; the
// initial weights and batch order are drawn afresh per trial from the seed and the trial's id.
//
//   fds::trial_outcome outcome = fds::run_trial(network, settings, dataset, {id, schedule, epochs});

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include <fds/data/dataset.hpp>
#include <fds/data/validation_split.hpp>
#include <fds/distributed/communicator.hpp>
#include <fds/hypertrain_settings.hpp>
#include <fds/plain_training.hpp>
#include <fds/run_setup.hpp>
#include <fds/schedule.hpp>

namespace fds {

struct trial_request {
    std::size_t id = 0;  // position in the search's deterministic order of trials
    hyper_values schedule;
    double epochs = 1.0;
    std::size_t bracket = 0, rung = 0;  // Hyperband's s and i; 0 for random search
};

struct trial_outcome {
    double val_acc = 0.0, val_loss = 0.0, test_acc = 0.0;  // evaluation mode; 0 and NaN when diverged
    std::size_t steps = 0;
    double seconds = 0.0;
    bool diverged = false;
};

// Called after each whole epoch of a trial with (epochs done, the held-out part's evaluation), so
// that an outside search can prune on the way (examples/optuna_fds.py through `fds train`).
using trial_epoch_callback = std::function<void(std::size_t, const nn::evaluation_result&)>;

// What a search calls for every trial (the real training below, or a test's stand-in).
using trial_runner = std::function<trial_outcome(const trial_request&)>;
// What a search calls for trials that do not depend on each other's outcomes (the draws of
// random search, a Hyperband rung): their outcomes in the order asked, the trials run one after
// another or at the same time (on the ranks of an mpirun launch).
using trial_batch_runner = std::function<std::vector<trial_outcome>(const std::vector<trial_request>&)>;
trial_batch_runner one_at_a_time(trial_runner run);

// Inner steps of a trial: round(epochs x batches per epoch), at least one.
std::size_t trial_steps(double epochs, std::size_t batches_per_epoch);
// Batches per epoch of a trial's training (the training part of the split, last partial batch dropped).
std::size_t trial_batches_per_epoch(const hypertrain_settings& settings, const data::dataset& dataset);

template <class Scalar>
trial_outcome run_trial(nn::network<Scalar>& network, const hypertrain_settings& settings, const data::dataset& dataset,
                        const trial_request& request, const trial_epoch_callback& after_epoch = {},
                        const distributed::communicator& group = distributed::single_process());
// (With a group of several ranks, every rank calls this for the same trial and shares its batches.)

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline trial_batch_runner one_at_a_time(trial_runner run) {
    return [run = std::move(run)](const std::vector<trial_request>& requests) {
        std::vector<trial_outcome> outcomes;
        for (const trial_request& request : requests) outcomes.push_back(run(request));
        return outcomes;
    };
}

inline std::size_t trial_steps(double epochs, std::size_t batches_per_epoch) {
    const double steps = std::round(epochs * static_cast<double>(batches_per_epoch));
    return std::max<std::size_t>(1, static_cast<std::size_t>(steps));
}

inline std::size_t trial_batches_per_epoch(const hypertrain_settings& settings, const data::dataset& dataset) {
    if (settings.train_batch_size == 0) throw std::invalid_argument("train_batch_size: expected at least 1, found 0");
    return validation_split_of(settings, dataset).train.size() / settings.train_batch_size;
}

template <class Scalar>
trial_outcome run_trial(nn::network<Scalar>& network, const hypertrain_settings& settings, const data::dataset& dataset,
                        const trial_request& request, const trial_epoch_callback& after_epoch,
                        const distributed::communicator& group) {
    const auto start = std::chrono::steady_clock::now();
    const data::validation_split split = validation_split_of(settings, dataset);
    const data::batch_loader train = training_loader(
        settings, dataset, split.train, stream_seed(settings.seed, seed_stream::trial_batches, request.id));
    const data::batch_loader validation =
        evaluation_loader(settings, dataset, data::split_part::train, split.validation,
                          stream_seed(settings.seed, seed_stream::validation_batches, 0));
    trial_outcome outcome;
    outcome.steps = trial_steps(request.epochs, train.batches_per_epoch());
    // every rank of a group evaluates with the others, whether or not it was given after_epoch
    plain_step_callback<Scalar> after_step;
    if (after_epoch || group.size() > 1)
        after_step = [&](std::size_t step, const training_state<Scalar>& state) {
            if ((step + 1) % train.batches_per_epoch() != 0) return;
            const auto validated = evaluate_loader(network, state.parameters, validation, nn::mode::evaluation, group);
            if (after_epoch) after_epoch((step + 1) / train.batches_per_epoch(), validated);
        };
    const plain_training_run<Scalar> run = train_with_schedule<Scalar>(
        network, settings, train, request.schedule, outcome.steps,
        stream_seed(settings.seed, seed_stream::trial_weights, request.id), after_step, group);
    outcome.diverged = run.diverged;
    if (run.diverged) {
        outcome.val_loss = std::numeric_limits<double>::quiet_NaN();
    } else {
        const data::batch_loader test =
            evaluation_loader(settings, dataset, data::split_part::test, all_indices(dataset.test_labels.size()),
                              stream_seed(settings.seed, seed_stream::test_batches, 0));
        const auto validated = evaluate_loader(network, run.parameters, validation, nn::mode::evaluation, group);
        outcome.val_acc = validated.accuracy();
        outcome.val_loss = validated.mean_loss();
        outcome.test_acc = evaluate_loader(network, run.parameters, test, nn::mode::evaluation, group).accuracy();
    }
    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return outcome;
}

}  // namespace fds
