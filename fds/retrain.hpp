#pragma once
// Retraining from scratch with a learned schedule, as the reference's BaseLearner: ordinary
// training (plain_training.hpp) on the whole training set (no validation split) for
// retrain_n_epochs epochs (-1: the last budget of n_inner_epochs_per_outer_steps), the
// schedule stretched over all the steps of the run, and the test accuracy (evaluation mode)
// after every epoch. A checkpoint after each epoch lets a stopped retraining go on from there.
//
//   fds::retrain_result result = fds::retrain(settings, dataset, trainer.current(), {});

#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <fds/data/dataset.hpp>
#include <fds/distributed/communicator.hpp>
#include <fds/hypertrain_settings.hpp>
#include <fds/plain_training.hpp>
#include <fds/progress.hpp>
#include <fds/run_setup.hpp>
#include <fds/schedule.hpp>

namespace fds {

struct retrain_result {
    double test_acc = 0.0, test_loss = 0.0;
    std::vector<double> epoch_test_acc;
    double seconds = 0.0;
    bool diverged = false;  // a non-finite training loss stopped the run (accuracies then 0)
    xt::xarray<float> parameters, buffers;  // the trained model (BatchNorm running statistics in buffers)
};

// A retraining after a whole number of epochs: enough to go on with the same steps.
template <class Scalar>
struct retrain_checkpoint {
    training_state<Scalar> state;  // steps_done = epochs done x batches per epoch
    xt::xarray<Scalar> buffers;  // BatchNorm running statistics
    std::vector<double> epoch_test_acc;
    double seconds = 0.0;
};

// Called after every epoch but the last with the checkpoint to resume from.
template <class Scalar>
using retrain_checkpoint_callback = std::function<void(const retrain_checkpoint<Scalar>&)>;

retrain_result retrain(const hypertrain_settings& settings, const data::dataset& dataset, const hyper_values& schedule,
                       const progress_callback& progress, const retrain_checkpoint<float>* resume = nullptr,
                       const retrain_checkpoint_callback<float>& after_epoch = {},
                       const distributed::communicator& group = distributed::single_process());

// The same with a model of the caller's. With `resume`, the run goes on from that checkpoint and
// ends as the uninterrupted run does. With a group of several ranks, every rank calls this with
// the same arguments and shares each batch (data_parallel.hpp); the result is rank 0's model.
template <class Scalar>
retrain_result retrain_network(nn::network<Scalar>& network, const hypertrain_settings& settings,
                               const data::dataset& dataset, const hyper_values& schedule,
                               const progress_callback& progress, const retrain_checkpoint<Scalar>* resume = nullptr,
                               const retrain_checkpoint_callback<Scalar>& after_epoch = {},
                               const distributed::communicator& group = distributed::single_process());

// Epochs and inner steps of a retraining run (the whole training set, last partial batch dropped).
std::size_t retrain_epochs(const hypertrain_settings& settings);
std::size_t retrain_total_steps(const hypertrain_settings& settings, const data::dataset& dataset);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline std::size_t retrain_epochs(const hypertrain_settings& settings) {
    if (settings.retrain_n_epochs == 0 ||
        (settings.retrain_n_epochs < 0 && settings.n_inner_epochs_per_outer_steps.empty()))
        throw std::invalid_argument("retrain_n_epochs: expected a positive count or -1 (the last budget), found " +
                                    std::to_string(settings.retrain_n_epochs));
    return settings.retrain_n_epochs < 0 ? settings.n_inner_epochs_per_outer_steps.back()
                                         : static_cast<std::size_t>(settings.retrain_n_epochs);
}

inline std::size_t retrain_total_steps(const hypertrain_settings& settings, const data::dataset& dataset) {
    if (settings.train_batch_size == 0 || settings.train_batch_size > dataset.train_labels.size())
        throw std::invalid_argument("train_batch_size: " + std::to_string(settings.train_batch_size) +
                                    " does not fit the " + std::to_string(dataset.train_labels.size()) +
                                    " training images of " + dataset.name);
    return retrain_epochs(settings) * (dataset.train_labels.size() / settings.train_batch_size);
}

template <class Scalar>
retrain_result retrain_network(nn::network<Scalar>& network, const hypertrain_settings& settings,
                               const data::dataset& dataset, const hyper_values& schedule,
                               const progress_callback& progress, const retrain_checkpoint<Scalar>* resume,
                               const retrain_checkpoint_callback<Scalar>& after_epoch,
                               const distributed::communicator& group) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const std::size_t epochs = retrain_epochs(settings);
    const data::batch_loader train = training_loader(settings, dataset, all_indices(dataset.train_labels.size()),
                                                     stream_seed(settings.seed, seed_stream::retrain_batches));
    const data::batch_loader test =
        evaluation_loader(settings, dataset, data::split_part::test, all_indices(dataset.test_labels.size()),
                          stream_seed(settings.seed, seed_stream::test_batches));
    const std::size_t batches_per_epoch = train.batches_per_epoch();
    const std::size_t total_steps = epochs * batches_per_epoch;

    retrain_result result;
    const double earlier_seconds = resume ? resume->seconds : 0.0;
    if (resume) result.epoch_test_acc = resume->epoch_test_acc;
    auto after_step = [&](std::size_t step, const training_state<Scalar>& state) {
        const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
        if (progress) progress(progress_after("retrain", 0, step + 1, total_steps, batches_per_epoch, elapsed));
        if ((step + 1) % batches_per_epoch != 0) return;
        const auto tested = evaluate_loader(network, state.parameters, test, nn::mode::evaluation, group);
        result.epoch_test_acc.push_back(tested.accuracy());
        result.test_acc = tested.accuracy();
        result.test_loss = tested.mean_loss();
        if (after_epoch && step + 1 < total_steps)
            after_epoch({state, network.buffers(), result.epoch_test_acc, earlier_seconds + elapsed});
    };
    plain_training_run<Scalar> run;
    if (resume) {
        if (resume->state.steps_done % batches_per_epoch != 0 || resume->state.steps_done >= total_steps ||
            resume->state.parameters.size() != network.parameter_count() ||
            resume->state.velocity.size() != resume->state.parameters.size() ||
            resume->buffers.size() != network.buffers().size() ||
            resume->epoch_test_acc.size() != resume->state.steps_done / batches_per_epoch)
            throw std::invalid_argument("retrain: the checkpoint does not fit this retraining (" +
                                        std::to_string(resume->state.steps_done) + " steps done of " +
                                        std::to_string(total_steps) + ")");
        network.buffers() = resume->buffers;
        run = continue_training<Scalar>(network, train, schedule, total_steps, resume->state, after_step, group);
    } else {
        run = train_with_schedule<Scalar>(network, settings, train, schedule, total_steps,
                                          stream_seed(settings.seed, seed_stream::retrain_weights), after_step, group);
    }
    result.diverged = run.diverged;
    result.parameters = xt::cast<float>(run.parameters);
    result.buffers = xt::cast<float>(network.buffers());
    if (result.diverged) {
        result.test_acc = 0.0;
        result.test_loss = std::numeric_limits<double>::quiet_NaN();
    }
    result.seconds = earlier_seconds + std::chrono::duration<double>(clock::now() - start).count();
    return result;
}

inline retrain_result retrain(const hypertrain_settings& settings, const data::dataset& dataset,
                              const hyper_values& schedule, const progress_callback& progress,
                              const retrain_checkpoint<float>* resume,
                              const retrain_checkpoint_callback<float>& after_epoch,
                              const distributed::communicator& group) {
    nn::network<float> network = make_network<float>(settings, dataset);
    return retrain_network(network, settings, dataset, schedule, progress, resume, after_epoch, group);
}

}  // namespace fds
