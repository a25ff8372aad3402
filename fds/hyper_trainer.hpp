#pragma once
// The FDS hyper-trainer: outer steps of (inner run with forward-mode tangents, hypergradients,
// one update of the learned schedules), as the reference's MetaLearner.run:
//
//   for each outer step o (budget: n_inner_epochs_per_outer_steps[o] epochs):
//       re-draw the validation split from the seed; initialize the model afresh
//       run T = epochs * batches_per_epoch inner steps on dual weights   (inner_loop.hpp)
//       hg = grad L_val(theta_T) . Z_T per bucket, normalized            (hypergradient.hpp)
//       (with hypergradient_runs = M > 1, ours: M inner runs, each its own batch order and
//       initialization, and the means of their hg and accuracies: 1/M of the noise)
//       h <- outer_optimizer(h, hg) for each learned type                (outer_optimizer.hpp)
//       validation and test accuracy of theta_T (evaluation mode); the best outer step is the
//       one whose schedules gave the highest validation accuracy; a collapse goes back to it
//   stop after the last outer step or when every learned type has converged.
//
// distribute_over(group) runs it data-parallel (data_parallel.hpp): every rank of the group
// builds the same trainer and calls run_outer_step in step; they share every batch, and after
// each update every rank takes rank 0's state (schedules, optimizers, best step), so rank 0
// decides and the ranks can never drift apart.
//
// A diverged inner run (non-finite loss or weights) is reported in its record, its
// hypergradients are NaN, its accuracies 0. With revert_below > 0 (the default) such a step, or
// one whose validation accuracy falls below revert_below x the best so far, is a collapse: its
// hypergradients are not applied, the next schedules are the best ones, and the steps of the
// types that moved since then shrink by their step decay (every type's, if none moved). With
// revert_below = 0, as the reference, a diverged run's NaNs give sign 0 (no move) and the run
// goes on.
//
//   fds::hyper_trainer trainer(settings, fds::data::load_dataset("FashionMNIST", ""));
//   while (!trainer.finished()) {
//       fds::outer_step_record record = trainer.run_outer_step({});
//   }
//   fds::hyper_values learned = trainer.current();

#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <fds/data/dataset.hpp>
#include <fds/data/validation_split.hpp>
#include <fds/data_parallel.hpp>
#include <fds/distributed/communicator.hpp>
#include <fds/hand_schedule.hpp>
#include <fds/hypergradient.hpp>
#include <fds/hypertrain_settings.hpp>
#include <fds/inner_loop.hpp>
#include <fds/outer_optimizer.hpp>
#include <fds/progress.hpp>
#include <fds/run_setup.hpp>
#include <fds/schedule.hpp>

namespace fds {

struct outer_step_record {
    std::size_t outer_step = 0, epochs = 0, inner_steps = 0;
    double seconds = 0.0;
    hyper_values schedules_used;
    std::optional<std::vector<double>> hypergrad_lr, hypergrad_mom, hypergrad_wd;  // learned types only
    std::optional<std::vector<double>> step_size_lr, step_size_mom, step_size_wd;  // after this update
    double val_loss = 0.0, val_acc = 0.0, test_acc = 0.0;  // evaluation mode, final weights
    double train_loss = 0.0, train_acc = 0.0;  // means over the inner run's batches
    bool diverged = false;
    // The outer step collapsed: the next schedules are the best ones, with smaller steps.
    bool reverted = false;
    std::string revert_reason;
};

template <class Scalar>
class basic_hyper_trainer {
 public:
    // The model is settings.architecture for the dataset. The dataset must outlive the trainer.
    basic_hyper_trainer(const hypertrain_settings& settings, const data::dataset& dataset);
    // With a model of the caller's (tests use small models in double).
    basic_hyper_trainer(const hypertrain_settings& settings, const data::dataset& dataset, nn::network<Scalar> network);

    // One inner run and one hyperparameter update. Throws std::logic_error when finished().
    outer_step_record run_outer_step(const progress_callback& progress);
    bool finished() const;
    std::size_t next_outer_step() const { return next_outer_step_; }
    bool converged() const { return converged_; }
    hyper_values current() const { return current_; }
    // The schedules used by the outer step with the best validation accuracy (the initial ones
    // before any step).
    hyper_values best() const { return best_; }
    // What retraining uses: best() or current(), as settings.retrain_schedule says.
    hyper_values retrain_schedule() const { return settings_.retrain_schedule == "final" ? current_ : best_; }
    std::size_t best_outer_step() const { return best_outer_step_; }

    // Everything needed to resume after the last finished outer step.
    nlohmann::json checkpoint() const;
    // Throws std::runtime_error naming the missing or malformed key.
    void restore(const nlohmann::json& checkpoint);

    const hypertrain_settings& settings() const { return settings_; }
    nn::network<Scalar>& network() { return network_; }

    // The ranks that run each outer step together; the group must outlive the trainer.
    void distribute_over(const distributed::communicator& group);

 private:
    outer_optimizer* optimizer(hyper_type type) { return optimizers_[static_cast<std::size_t>(type)].get(); }
    bool learned(hyper_type type) const;

    hypertrain_settings settings_;
    const data::dataset* dataset_;
    const distributed::communicator* group_ = &distributed::single_process();
    nn::network<Scalar> network_;
    inner_loop_options options_;
    hyper_values current_, best_;
    std::array<std::unique_ptr<outer_optimizer>, hyper_type_count> optimizers_;
    std::size_t next_outer_step_ = 0, best_outer_step_ = 0;
    double best_validation_accuracy_ = -1.0;
    bool converged_ = false;
};

using hyper_trainer = basic_hyper_trainer<float>;

// The schedules of the first outer step: n_lrs learning rates from inner_lr_init in the shape
// inner_lr_init_shape, n_moms momentums and n_wds weight decays at their initial values.
hyper_values initial_schedules(const hypertrain_settings& settings);

nlohmann::json to_json(const hyper_values& values);
// Throws std::runtime_error naming the key when `json` lacks lr, mom or wd lists.
hyper_values hyper_values_from_json(const nlohmann::json& json, const std::string& key);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline hyper_values initial_schedules(const hypertrain_settings& settings) {
    hyper_values schedules;
    if (settings.inner_lr_init_shape == "cosine")
        schedules.lr = cosine_bucket_values(settings.inner_lr_init, settings.n_lrs);
    else if (settings.inner_lr_init_shape == "constant")
        schedules.lr.assign(settings.n_lrs, settings.inner_lr_init);
    else
        throw std::invalid_argument("inner_lr_init_shape: expected constant or cosine, found \"" +
                                    settings.inner_lr_init_shape + "\"");
    schedules.mom.assign(settings.n_moms, settings.inner_mom_init);
    schedules.wd.assign(settings.n_wds, settings.inner_wd_init);
    return schedules;
}

inline nlohmann::json to_json(const hyper_values& values) {
    return {{"lr", values.lr}, {"mom", values.mom}, {"wd", values.wd}};
}

inline hyper_values hyper_values_from_json(const nlohmann::json& json, const std::string& key) {
    hyper_values result;
    for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd}) {
        const std::string name = hyper_type_name(type);
        if (!json.is_object() || !json.contains(name) || !json.at(name).is_array())
            throw std::runtime_error("checkpoint: key \"" + key + "." + name + "\" is missing or not a list");
        for (const auto& entry : json.at(name)) {
            if (!entry.is_number())
                throw std::runtime_error("checkpoint: key \"" + key + "." + name + "\" holds a non-number");
            result.of(type).push_back(entry.get<double>());
        }
    }
    return result;
}

template <class Scalar>
basic_hyper_trainer<Scalar>::basic_hyper_trainer(const hypertrain_settings& settings, const data::dataset& dataset)
    : basic_hyper_trainer(settings, dataset, make_network<Scalar>(settings, dataset)) {}

template <class Scalar>
basic_hyper_trainer<Scalar>::basic_hyper_trainer(const hypertrain_settings& settings, const data::dataset& dataset,
                                                 nn::network<Scalar> network)
    : settings_(settings), dataset_(&dataset), network_(std::move(network)),
      options_(inner_loop_options_from(settings)) {
    if (settings.n_lrs == 0 || settings.n_moms == 0 || settings.n_wds == 0)
        throw std::invalid_argument("n_lrs, n_moms, n_wds: each schedule needs at least one bucket, found " +
                                    std::to_string(settings.n_lrs) + ", " + std::to_string(settings.n_moms) + ", " +
                                    std::to_string(settings.n_wds));
    if (settings.n_inner_epochs_per_outer_steps.empty())
        throw std::invalid_argument("n_inner_epochs_per_outer_steps: expected at least one outer step, found none");
    for (std::size_t epochs : settings.n_inner_epochs_per_outer_steps)
        if (epochs == 0) throw std::invalid_argument("n_inner_epochs_per_outer_steps: an outer step has 0 epochs");
    nn::check_initializer(initializer_of(settings));
    current_ = initial_schedules(settings);
    best_ = current_;
    const std::array<std::size_t, 3> counts{settings.n_lrs, settings.n_moms, settings.n_wds};
    for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd})
        if (learned(type))
            optimizers_[static_cast<std::size_t>(type)] =
                make_outer_optimizer(settings, type, counts[static_cast<std::size_t>(type)]);
}

template <class Scalar>
void basic_hyper_trainer<Scalar>::distribute_over(const distributed::communicator& group) {
    group_ = &group;
    options_.group = &group;
}

template <class Scalar>
bool basic_hyper_trainer<Scalar>::learned(hyper_type type) const {
    return type == hyper_type::lr    ? settings_.learn_lr
           : type == hyper_type::mom ? settings_.learn_mom
                                     : settings_.learn_wd;
}

template <class Scalar>
bool basic_hyper_trainer<Scalar>::finished() const {
    return converged_ || next_outer_step_ >= settings_.n_inner_epochs_per_outer_steps.size();
}

template <class Scalar>
outer_step_record basic_hyper_trainer<Scalar>::run_outer_step(const progress_callback& progress) {
    if (finished()) throw std::logic_error("hyper_trainer::run_outer_step: the run is finished");
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const std::size_t outer_step = next_outer_step_;
    const std::size_t epochs = settings_.n_inner_epochs_per_outer_steps[outer_step];
    const data::dataset& dataset = *dataset_;

    // the reference re-splits every outer step; one split makes the outer steps' validation
    // accuracies, and so the choice of the best one, measured on the same images
    const std::size_t split_index = settings_.fixed_validation_split ? 0 : outer_step;
    const data::validation_split split = validation_split_of(settings_, dataset, split_index);
    const data::batch_loader validation =
        evaluation_loader(settings_, dataset, data::split_part::train, split.validation,
                          stream_seed(settings_.seed, seed_stream::validation_batches, outer_step));
    const data::batch_loader test =
        evaluation_loader(settings_, dataset, data::split_part::test, all_indices(dataset.test_labels.size()),
                          stream_seed(settings_.seed, seed_stream::test_batches, outer_step));

    outer_step_record record;
    record.outer_step = outer_step;
    record.epochs = epochs;
    record.schedules_used = current_;
    hyper_values gradients;
    for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd})
        if (learned(type)) gradients.of(type).assign(current_.of(type).size(), 0.0);

    // hypergradient_runs inner runs, each with its own batch order and initial weights (run 0 on
    // the streams of the reference's single run); their means are the outer step's figures
    const std::size_t runs = std::max<std::size_t>(1, settings_.hypergradient_runs);
    const auto inner_start = clock::now();
    for (std::size_t run = 0; run < runs && !record.diverged; ++run) {
        const std::uint64_t stream_index = outer_step + (static_cast<std::uint64_t>(run) << 32);
        const data::batch_loader train = training_loader(
            settings_, dataset, split.train, stream_seed(settings_.seed, seed_stream::train_batches, stream_index));
        const std::size_t batches_per_epoch = train.batches_per_epoch();
        const std::size_t total_steps = epochs * batches_per_epoch;
        const tangent_layout layout({settings_.n_lrs, settings_.n_moms, settings_.n_wds},
                                    {settings_.learn_lr, settings_.learn_mom, settings_.learn_wd}, total_steps);
        record.inner_steps = runs * total_steps;

        network_.reset_buffers();
        const xt::xarray<Scalar> initial = network_.initial_parameters(
            initializer_of(settings_), stream_seed(settings_.seed, seed_stream::initial_weights, stream_index));
        auto after_step = [&](std::size_t step, std::size_t steps) {
            if (!progress) return;
            const double elapsed = std::chrono::duration<double>(clock::now() - inner_start).count();
            progress(progress_after("hypertrain", outer_step, run * steps + step + 1, runs * steps, batches_per_epoch,
                                    elapsed));
        };
        const inner_loop_result<Scalar> inner = run_inner_loop(
            network_, initial, current_, layout, options_,
            [&](std::size_t step) { return train.load(step / batches_per_epoch, step % batches_per_epoch); },
            after_step);
        const double share = 1.0 / static_cast<double>(runs);
        record.train_loss += share * inner.train_loss_mean;
        record.train_acc += share * inner.train_accuracy;
        record.diverged = inner.diverged;
        if (inner.diverged) break;

        const xt::xarray<Scalar>& final_weights = inner.parameters.value();
        check_same_on_every_rank(final_weights, *group_, "weights after the inner run");
        const auto validation_gradient = mean_validation_gradient(network_, final_weights, validation, *group_);
        const hyper_values run_gradients =
            hypergradients(inner.parameters, validation_gradient.gradient, layout, inner.tangent_steps);
        for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd})
            for (std::size_t j = 0; j < gradients.of(type).size(); ++j)
                gradients.of(type)[j] += share * run_gradients.of(type)[j];
        const auto validation_result =
            evaluate_loader(network_, final_weights, validation, nn::mode::evaluation, *group_);
        record.val_loss += share * validation_result.mean_loss();
        record.val_acc += share * validation_result.accuracy();
        record.test_acc +=
            share * evaluate_loader(network_, final_weights, test, nn::mode::evaluation, *group_).accuracy();
    }
    if (record.diverged) {
        const double not_a_number = std::numeric_limits<double>::quiet_NaN();
        for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd})
            if (learned(type)) gradients.of(type).assign(current_.of(type).size(), not_a_number);
        record.val_loss = not_a_number;
        record.val_acc = record.test_acc = 0.0;
    }

    // A collapse is judged against an outer step that trained at all (best accuracy > 0).
    const bool collapsed = settings_.revert_below > 0 && best_validation_accuracy_ > 0 &&
                           (record.diverged || record.val_acc < settings_.revert_below * best_validation_accuracy_);
    hyper_values next = current_;
    bool all_converged = !collapsed;
    if (collapsed) {
        record.reverted = true;
        record.revert_reason = record.diverged ? "the inner run diverged"
                                               : "validation accuracy " + std::to_string(record.val_acc) + " < " +
                                                     std::to_string(settings_.revert_below) + " x the best " +
                                                     std::to_string(best_validation_accuracy_);
        bool any_moved = false;
        for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd})
            any_moved = any_moved || (learned(type) && current_.of(type) != best_.of(type));
        for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd})
            if (learned(type) && (!any_moved || current_.of(type) != best_.of(type)))
                optimizer(type)->shrink(step_decay_of(settings_, type));
        next = best_;
    }
    for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd}) {
        if (!learned(type)) continue;
        if (!collapsed) {
            next.of(type) = optimizer(type)->update(current_.of(type), gradients.of(type));
            all_converged = all_converged && optimizer(type)->converged();
        }
        auto& hypergradient = type == hyper_type::lr    ? record.hypergrad_lr
                              : type == hyper_type::mom ? record.hypergrad_mom
                                                        : record.hypergrad_wd;
        auto& step_size = type == hyper_type::lr    ? record.step_size_lr
                          : type == hyper_type::mom ? record.step_size_mom
                                                    : record.step_size_wd;
        hypergradient = gradients.of(type);
        step_size = optimizer(type)->step_sizes();
    }

    if (!collapsed && record.val_acc > best_validation_accuracy_) {
        best_validation_accuracy_ = record.val_acc;
        best_outer_step_ = outer_step;
        best_ = current_;
    }
    current_ = next;
    converged_ = all_converged;
    ++next_outer_step_;
    if (group_->size() > 1) {
        std::string decided = group_->is_root() ? checkpoint().dump() : std::string();
        group_->broadcast(decided);
        if (!group_->is_root()) restore(nlohmann::json::parse(decided));
    }
    record.seconds = std::chrono::duration<double>(clock::now() - start).count();
    return record;
}

template <class Scalar>
nlohmann::json basic_hyper_trainer<Scalar>::checkpoint() const {
    nlohmann::json optimizers = nlohmann::json::object();
    for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd})
        if (optimizers_[static_cast<std::size_t>(type)])
            optimizers[hyper_type_name(type)] = optimizers_[static_cast<std::size_t>(type)]->state();
    return {{"format", "fds-hyper-trainer"},
            {"version", 1},
            {"next_outer_step", next_outer_step_},
            {"converged", converged_},
            {"current", to_json(current_)},
            {"best", to_json(best_)},
            {"best_outer_step", best_outer_step_},
            {"best_validation_accuracy", best_validation_accuracy_},
            {"optimizers", optimizers}};
}

template <class Scalar>
void basic_hyper_trainer<Scalar>::restore(const nlohmann::json& checkpoint) {
    auto require = [&](const char* key) -> const nlohmann::json& {
        if (!checkpoint.is_object() || !checkpoint.contains(key))
            throw std::runtime_error(std::string("checkpoint: key \"") + key + "\" is missing");
        return checkpoint.at(key);
    };
    if (require("format") != "fds-hyper-trainer" || require("version") != 1)
        throw std::runtime_error("checkpoint: key \"format\"/\"version\": expected fds-hyper-trainer version 1");
    const nlohmann::json& next_step = require("next_outer_step");
    if (!next_step.is_number_unsigned() ||
        next_step.get<std::size_t>() > settings_.n_inner_epochs_per_outer_steps.size())
        throw std::runtime_error("checkpoint: key \"next_outer_step\" is not an outer step of this run (" +
                                 std::to_string(settings_.n_inner_epochs_per_outer_steps.size()) + " outer steps)");
    hyper_values current = hyper_values_from_json(require("current"), "current");
    hyper_values best = hyper_values_from_json(require("best"), "best");
    for (const hyper_values* values : {&current, &best})
        for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd})
            if (values->of(type).size() != current_.of(type).size())
                throw std::runtime_error(std::string("checkpoint: key \"current.") + hyper_type_name(type) + "\" has " +
                                         std::to_string(values->of(type).size()) + " buckets, the settings ask for " +
                                         std::to_string(current_.of(type).size()));
    const nlohmann::json& converged = require("converged");
    const nlohmann::json& best_step = require("best_outer_step");
    const nlohmann::json& best_accuracy = require("best_validation_accuracy");
    if (!converged.is_boolean()) throw std::runtime_error("checkpoint: key \"converged\" is not a boolean");
    if (!best_step.is_number_unsigned()) throw std::runtime_error("checkpoint: key \"best_outer_step\" is not a step");
    if (!best_accuracy.is_number())
        throw std::runtime_error("checkpoint: key \"best_validation_accuracy\" is not a number");
    const nlohmann::json& optimizers = require("optimizers");
    for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd}) {
        if (!optimizers_[static_cast<std::size_t>(type)]) continue;
        if (!optimizers.is_object() || !optimizers.contains(hyper_type_name(type)))
            throw std::runtime_error(std::string("checkpoint: key \"optimizers.") + hyper_type_name(type) +
                                     "\" is missing");
        optimizers_[static_cast<std::size_t>(type)]->restore(optimizers.at(hyper_type_name(type)));
    }
    next_outer_step_ = next_step.get<std::size_t>();
    converged_ = converged.get<bool>();
    current_ = std::move(current);
    best_ = std::move(best);
    best_outer_step_ = best_step.get<std::size_t>();
    best_validation_accuracy_ = best_accuracy.get<double>();
}

}  // namespace fds
