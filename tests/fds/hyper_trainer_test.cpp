#define BOOST_TEST_MODULE fds_hyper_trainer
#include <boost/test/unit_test.hpp>

#include <fds/hyper_trainer.hpp>

#include "synthetic_dataset.hpp"

#include <cmath>

namespace {

fds::hypertrain_settings small_settings() {
    fds::hypertrain_settings settings;
    settings.dataset = "MNIST";
    settings.n_lrs = 3;
    settings.n_moms = 1;
    settings.n_wds = 1;
    settings.n_inner_epochs_per_outer_steps = {1, 2, 2};
    settings.train_batch_size = 20;
    settings.val_batch_size = 20;
    settings.val_train_fraction = 0.2;
    settings.seed = 5;
    return settings;
}

fds::basic_hyper_trainer<double> small_trainer(const fds::hypertrain_settings& settings,
                                               const fds::data::dataset& dataset) {
    return fds::basic_hyper_trainer<double>(settings, dataset, fds::nn::make_mlp<double>(1, 4, 4, 3, {8}));
}

}  // namespace

BOOST_AUTO_TEST_CASE(resuming_from_a_checkpoint_repeats_the_same_outer_steps) {
    // every outer optimizer's state (rprop's steps and signs, Adam's moments) goes through the checkpoint
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 1);
    for (const char* optimizer : {"rprop", "sign", "adam"}) {
        BOOST_TEST_CONTEXT(optimizer) {
            auto settings = small_settings();
            settings.outer_optimizer = optimizer;
            auto trainer = small_trainer(settings, dataset);
            trainer.run_outer_step({});
            trainer.run_outer_step({});
            const nlohmann::json saved = nlohmann::json::parse(trainer.checkpoint().dump());  // through text
            const auto third = trainer.run_outer_step({});

            auto resumed = small_trainer(settings, dataset);
            resumed.restore(saved);
            BOOST_TEST(resumed.next_outer_step() == 2u);
            const auto repeated = resumed.run_outer_step({});
            BOOST_TEST(repeated.schedules_used.lr == third.schedules_used.lr);
            BOOST_TEST(*repeated.hypergrad_lr == *third.hypergrad_lr);
            BOOST_TEST(repeated.val_acc == third.val_acc);
            BOOST_TEST(resumed.current().lr == trainer.current().lr);
            BOOST_TEST(resumed.current().mom == trainer.current().mom);
            BOOST_TEST(resumed.checkpoint() == trainer.checkpoint());
        }
    }
}

BOOST_AUTO_TEST_CASE(restore_names_the_missing_or_malformed_key) {
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 1);
    auto trainer = small_trainer(small_settings(), dataset);
    for (const char* key : {"current", "optimizers", "next_outer_step"}) {
        nlohmann::json broken = trainer.checkpoint();
        broken.erase(key);
        try {
            trainer.restore(broken);
            BOOST_FAIL("restore accepted a checkpoint without " << key);
        } catch (const std::runtime_error& error) {
            BOOST_TEST(std::string(error.what()).find(key) != std::string::npos, error.what());
        }
    }
    nlohmann::json wrong_size = trainer.checkpoint();
    wrong_size["current"]["lr"] = {0.1, 0.2};
    BOOST_CHECK_THROW(trainer.restore(wrong_size), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(a_diverging_outer_step_is_reported_moves_nothing_and_the_run_goes_on) {
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 1);
    auto settings = small_settings();
    settings.revert_below = 0;  // as the reference: no going back
    settings.inner_lr_init = 1e300;  // overflows double within a few steps
    settings.clamp_grads = false;
    auto trainer = small_trainer(settings, dataset);
    const auto record = trainer.run_outer_step({});
    BOOST_TEST(record.diverged);
    BOOST_TEST(std::isnan((*record.hypergrad_lr)[0]));
    BOOST_TEST(trainer.current().lr == record.schedules_used.lr);  // sign 0: no move
    BOOST_TEST(!trainer.finished());
    BOOST_CHECK_NO_THROW(trainer.run_outer_step({}));
}

BOOST_AUTO_TEST_CASE(a_collapsed_outer_step_goes_back_to_the_best_values_with_smaller_steps) {
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 1);
    auto settings = small_settings();
    settings.learn_mom = false;
    settings.learn_wd = false;
    settings.outer_optimizer = "sign";
    settings.hyper_ranges = false;
    settings.lr_init_step_size = 1e300;  // whichever the sign, the next learning rates diverge
    settings.clamp_grads = false;
    settings.n_inner_epochs_per_outer_steps = {1, 1, 1};
    auto trainer = small_trainer(settings, dataset);
    const auto first = trainer.run_outer_step({});
    BOOST_TEST(!first.diverged);
    BOOST_TEST(!first.reverted);
    BOOST_TEST(first.val_acc > 0.0);
    BOOST_TEST(std::abs(trainer.current().lr[0]) > 1e299);
    const auto second = trainer.run_outer_step({});
    BOOST_TEST(second.diverged);
    BOOST_TEST(second.reverted);
    BOOST_TEST(second.revert_reason.find("diverged") != std::string::npos);
    BOOST_TEST(trainer.current().lr == first.schedules_used.lr);  // back to the best
    BOOST_TEST(trainer.best_outer_step() == 0u);
    for (double step : *second.step_size_lr) BOOST_TEST(step == 0.5e300);  // lr_step_decay 0.5
    BOOST_TEST(trainer.checkpoint()["optimizers"]["lr"]["step_sizes"][0] == 0.5e300);
    const auto third = trainer.run_outer_step({});
    BOOST_TEST(third.schedules_used.lr == first.schedules_used.lr);
    BOOST_TEST(!third.diverged);
}

BOOST_AUTO_TEST_CASE(a_step_far_below_the_best_validation_accuracy_counts_as_a_collapse) {
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 1);
    auto settings = small_settings();
    settings.revert_below = 1.0 - 1e-12;  // anything short of the best collapses
    settings.n_inner_epochs_per_outer_steps = {1, 1, 1, 1};
    auto trainer = small_trainer(settings, dataset);
    double best = -1;
    while (!trainer.finished()) {
        const auto before = trainer.best();
        const auto record = trainer.run_outer_step({});
        const bool below = best > 0 && record.val_acc < settings.revert_below * best;
        BOOST_TEST(record.reverted == below);
        if (below) BOOST_TEST(trainer.current().lr == before.lr);
        if (!below) best = std::max(best, record.val_acc);
    }
}

BOOST_AUTO_TEST_CASE(retraining_uses_the_best_or_the_final_schedule_as_asked) {
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 1);
    auto settings = small_settings();
    auto trainer = small_trainer(settings, dataset);
    while (!trainer.finished()) trainer.run_outer_step({});
    BOOST_TEST(trainer.retrain_schedule().lr == trainer.best().lr);
    BOOST_TEST(trainer.best().lr != trainer.current().lr);
    settings.retrain_schedule = "final";
    auto final_trainer = small_trainer(settings, dataset);
    while (!final_trainer.finished()) final_trainer.run_outer_step({});
    BOOST_TEST(final_trainer.retrain_schedule().lr == final_trainer.current().lr);
}

BOOST_AUTO_TEST_CASE(a_cosine_start_shapes_the_first_learning_rates_and_unknown_shapes_are_refused) {
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 1);
    auto settings = small_settings();
    settings.inner_lr_init_shape = "cosine";
    settings.inner_lr_init = 0.2;
    auto trainer = small_trainer(settings, dataset);
    BOOST_TEST(trainer.current().lr == fds::cosine_bucket_values(0.2, settings.n_lrs));
    BOOST_TEST(trainer.run_outer_step({}).schedules_used.lr == fds::cosine_bucket_values(0.2, settings.n_lrs));
    settings.inner_lr_init_shape = "linear";
    BOOST_CHECK_THROW(small_trainer(settings, dataset), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_fixed_validation_split_scores_every_outer_step_on_the_same_images) {
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 1);
    auto settings = small_settings();
    settings.learn_lr = settings.learn_mom = settings.learn_wd = true;
    settings.n_inner_epochs_per_outer_steps = {1, 1};
    // the split each outer step draws: the same one throughout, or a new one per step
    auto split_of = [&](bool fixed, std::size_t outer_step) {
        settings.fixed_validation_split = fixed;
        const std::size_t index = fixed ? 0 : outer_step;
        return fds::data::make_validation_split(
                   dataset.train_labels.size(), settings.val_train_fraction, settings.val_train_overlap,
                   fds::stream_seed(settings.seed, fds::seed_stream::validation_split, index))
            .validation;
    };
    BOOST_TEST(split_of(true, 0) == split_of(true, 1));
    BOOST_TEST(split_of(false, 0) != split_of(false, 1));
    // and the trainer uses it: the first outer step is the same either way, the second is not
    settings.fixed_validation_split = true;
    auto fixed = small_trainer(settings, dataset);
    settings.fixed_validation_split = false;
    auto resplit = small_trainer(settings, dataset);
    const auto first_fixed = fixed.run_outer_step({}), first_resplit = resplit.run_outer_step({});
    BOOST_TEST(first_fixed.val_acc == first_resplit.val_acc);  // outer step 0: the same split either way
    BOOST_TEST(first_fixed.val_loss == first_resplit.val_loss);
    const auto second_fixed = fixed.run_outer_step({}), second_resplit = resplit.run_outer_step({});
    BOOST_TEST(second_fixed.val_loss != second_resplit.val_loss);
}

BOOST_AUTO_TEST_CASE(the_run_stops_when_every_learned_type_has_converged) {
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 1);
    auto settings = small_settings();
    settings.learn_mom = false;
    settings.learn_wd = false;
    settings.inner_lr_init = 0.05;
    settings.converged_frac = 1e9;  // any step is small next to this
    auto trainer = small_trainer(settings, dataset);
    trainer.run_outer_step({});
    BOOST_TEST(trainer.converged());
    BOOST_TEST(trainer.finished());
    BOOST_TEST(trainer.next_outer_step() == 1u);
    BOOST_CHECK_THROW(trainer.run_outer_step({}), std::logic_error);
}

BOOST_AUTO_TEST_CASE(progress_reports_every_inner_step) {
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 1);
    auto trainer = small_trainer(small_settings(), dataset);
    std::size_t events = 0, last_step = 0, steps = 0;
    const auto record = trainer.run_outer_step([&](const fds::progress_event& event) {
        ++events;
        last_step = event.inner_step;
        steps = event.inner_steps;
        BOOST_TEST(event.phase == "hypertrain");
    });
    BOOST_TEST(events == record.inner_steps);
    BOOST_TEST(last_step == steps);
    BOOST_TEST(record.inner_steps == 160u / 20u);  // 200 images, 20% held out, batches of 20, 1 epoch
}

BOOST_AUTO_TEST_CASE(hyper_training_on_fashion_mnist_learns_a_positive_lr_schedule_from_zero) {
    // Real data, small budget: 3,000 training images, an MLP 784-64-10, all hyperparameters
    // starting at 0. The first outer step trains nothing (lr 0): its accuracy is the untrained
    // initialization's.
    const auto full = fds::data::load_dataset("FashionMNIST", "");
    const auto dataset = fds::testing::first_images(full, 3000, 1000);
    fds::hypertrain_settings settings;
    settings.outer_optimizer = "sign";  // the reference's way: additive steps from 0
    settings.inner_lr_init = settings.inner_mom_init = settings.inner_wd_init = 0.0;
    settings.dataset = "FashionMNIST";
    settings.n_lrs = 3;
    settings.n_moms = 1;
    settings.n_wds = 1;
    settings.n_inner_epochs_per_outer_steps = {1, 1, 1, 1, 1};
    settings.train_batch_size = 100;
    settings.val_batch_size = 150;
    settings.seed = 0;
    fds::hyper_trainer trainer(settings, dataset, fds::nn::make_mlp<float>(1, 28, 28, 10, {64}));
    std::vector<fds::outer_step_record> records;
    while (!trainer.finished()) records.push_back(trainer.run_outer_step({}));
    for (const auto& record : records) {
        BOOST_TEST_MESSAGE("outer step " << record.outer_step << ": lr " << record.schedules_used.lr[0] << " "
                                         << record.schedules_used.lr[1] << " " << record.schedules_used.lr[2] << " mom "
                                         << record.schedules_used.mom[0] << " wd " << record.schedules_used.wd[0]
                                         << " val acc " << record.val_acc);
        BOOST_TEST(!record.diverged);
    }
    for (double lr : trainer.current().lr) BOOST_TEST(lr > 0.0);
    const double untrained = records.front().val_acc;
    BOOST_TEST(untrained < 0.3);
    BOOST_TEST(records.back().val_acc > untrained + 0.45);  // measured untrained + 0.527 (Intel Xeon)
    BOOST_TEST(trainer.best_outer_step() > 0u);
}

BOOST_AUTO_TEST_CASE(adam_outer_steps_keep_every_schedule_in_its_valid_range) {
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 1);
    auto settings = small_settings();
    settings.outer_optimizer = "adam";
    settings.adam_lr = 0.3;  // large steps, so that the bounds are met
    settings.n_inner_epochs_per_outer_steps = {1, 1, 1, 1, 1, 1};
    auto trainer = small_trainer(settings, dataset);
    while (!trainer.finished()) {
        trainer.run_outer_step({});
        const auto values = trainer.current();
        for (double lr : values.lr) BOOST_TEST(lr >= 0.0);
        for (double mom : values.mom) BOOST_TEST((mom >= 0.0 && mom < 1.0));
        for (double wd : values.wd) BOOST_TEST(wd >= 0.0);
    }
    BOOST_TEST(trainer.current().lr[0] > 0.0);  // it did learn to train
}

BOOST_AUTO_TEST_CASE(several_runs_per_outer_step_average_the_runs_hypergradients_and_accuracies) {
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 9);
    auto settings = small_settings();
    settings.learn_mom = settings.learn_wd = true;
    settings.n_inner_epochs_per_outer_steps = {1, 1};
    settings.fixed_validation_split = true;
    const fds::outer_step_record single = small_trainer(settings, dataset).run_outer_step({});
    settings.hypergradient_runs = 2;
    auto averaged_trainer = small_trainer(settings, dataset);
    const fds::outer_step_record averaged = averaged_trainer.run_outer_step({});

    // run 1 on its own: the streams of outer step 0 + 2^32, the split and loaders of outer step 0
    auto network = fds::nn::make_mlp<double>(1, 4, 4, 3, {8});
    const std::uint64_t stream_index = std::uint64_t{1} << 32;
    const auto split =
        fds::data::make_validation_split(dataset.train_labels.size(), settings.val_train_fraction, false,
                                         fds::stream_seed(settings.seed, fds::seed_stream::validation_split, 0));
    const auto train = fds::training_loader(
        settings, dataset, split.train, fds::stream_seed(settings.seed, fds::seed_stream::train_batches, stream_index));
    const auto validation =
        fds::evaluation_loader(settings, dataset, fds::data::split_part::train, split.validation,
                               fds::stream_seed(settings.seed, fds::seed_stream::validation_batches, 0));
    const std::size_t steps = train.batches_per_epoch();
    const fds::tangent_layout layout({3, 1, 1}, {true, true, true}, steps);
    const auto inner = fds::run_inner_loop(
        network,
        network.initial_parameters(fds::initializer_of(settings),
                                   fds::stream_seed(settings.seed, fds::seed_stream::initial_weights, stream_index)),
        averaged.schedules_used, layout, fds::inner_loop_options_from(settings),
        [&](std::size_t step) { return train.load(0, step); });
    const auto second = fds::hypergradients(
        inner.parameters, fds::mean_validation_gradient(network, inner.parameters.value(), validation).gradient, layout,
        inner.tangent_steps);
    const double second_val_acc =
        fds::evaluate_loader(network, inner.parameters.value(), validation, fds::nn::mode::evaluation).accuracy();

    BOOST_TEST(averaged.inner_steps == 2 * single.inner_steps);
    for (std::size_t j = 0; j < 3; ++j)
        BOOST_TEST((*averaged.hypergrad_lr)[j] == ((*single.hypergrad_lr)[j] + second.lr[j]) / 2,
                   boost::test_tools::tolerance(1e-12));
    BOOST_TEST((*averaged.hypergrad_mom)[0] == ((*single.hypergrad_mom)[0] + second.mom[0]) / 2,
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(averaged.val_acc == (single.val_acc + second_val_acc) / 2, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(second.lr != *single.hypergrad_lr);  // the second run is another draw
}
