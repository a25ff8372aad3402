#define BOOST_TEST_MODULE fds_greedy_hyper_training
#include <boost/test/unit_test.hpp>

#include <fds/greedy_hyper_training.hpp>
#include <fds/hyper_trainer.hpp>

#include "synthetic_dataset.hpp"

#include <cmath>

namespace {

using fds::hyper_type;

fds::hypertrain_settings small_settings() {
    fds::hypertrain_settings settings;
    settings.dataset = "MNIST";
    settings.n_lrs = 1;
    settings.n_moms = 1;
    settings.n_wds = 1;
    settings.n_inner_epochs_per_outer_steps = {2};
    settings.retrain_n_epochs = 2;
    settings.train_batch_size = 20;
    settings.val_batch_size = 20;
    settings.val_train_fraction = 0.2;
    settings.seed = 3;
    return settings;
}

fds::nn::network<double> small_network() { return fds::nn::make_mlp<double>(1, 4, 4, 3, {8}); }

// The training loss of batch `step` after one plain step from (parameters, velocity) with `hypers`.
double loss_after_step(fds::nn::network<double>& network, xt::xarray<double> parameters, xt::xarray<double> velocity,
                       const fds::data::batch& step_batch, const fds::data::batch& next_batch,
                       const fds::step_hypers& hypers, const fds::inner_loop_options& options) {
    fds::detail::plain_training_step(network, parameters, velocity,
                                     fds::images_as<double>(xt::xarray<float>(step_batch.images)), step_batch.labels,
                                     hypers, options);
    return network
        .loss_and_gradient(parameters, fds::images_as<double>(xt::xarray<float>(next_batch.images)), next_batch.labels)
        .loss();
}

}  // namespace

BOOST_AUTO_TEST_CASE(hd_hypergradient_is_the_finite_difference_of_the_next_training_loss) {
    const auto dataset = fds::testing::synthetic_dataset(200, 20, 7);
    const auto settings = small_settings();
    auto network = small_network();
    const auto loader = fds::training_loader(settings, dataset, fds::all_indices(200), 11);
    auto batch_at = [&](std::size_t step) {
        return loader.load(step / loader.batches_per_epoch(), step % loader.batches_per_epoch());
    };
    const xt::xarray<double> initial = network.initial_parameters(fds::initializer_of(settings), 13);
    const fds::inner_loop_options options;  // gradient clamp on, as hyper-training
    const fds::step_hypers start{0.1, 0.8, 1e-3, 0, 0, 0};
    fds::greedy_objective<double> next_training_loss = [&](const xt::xarray<double>& parameters, std::size_t next) {
        auto batch = batch_at(next);
        return network.loss_and_gradient(parameters, fds::images_as<double>(std::move(batch.images)), batch.labels)
            .gradient;
    };
    const fds::greedy_update keep = [](hyper_type, std::size_t, double value, double, double) { return value; };
    const auto run = fds::run_greedy_segments<double>(network, initial, 3, 3, start, {true, true, true}, options,
                                                      batch_at, next_training_loss, keep)
                         .run;
    BOOST_TEST_REQUIRE(run.segments.size() == 3u);

    // Step 1 starts from the weights and velocity after step 0 (velocity non-zero, so the momentum's
    // hypergradient is not trivially 0).
    xt::xarray<double> parameters = initial, velocity = xt::zeros<double>(initial.shape());
    {
        auto batch = batch_at(0);
        fds::detail::plain_training_step(network, parameters, velocity, fds::images_as<double>(std::move(batch.images)),
                                         batch.labels, start, options);
    }
    for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd}) {
        const double value = start.value(type), h = 1e-5 * std::max(1e-2, std::abs(value));
        auto perturbed = [&](double delta) {
            fds::step_hypers hypers = start;
            (type == hyper_type::lr ? hypers.lr : type == hyper_type::mom ? hypers.mom : hypers.wd) += delta;
            return loss_after_step(network, parameters, velocity, batch_at(1), batch_at(2), hypers, options);
        };
        const double finite_difference = (perturbed(h) - perturbed(-h)) / (2 * h);
        const double forward_mode = run.segments[1].hypergradient.of(type)[0];
        BOOST_TEST(forward_mode == finite_difference, boost::test_tools::tolerance(1e-6));
        BOOST_TEST(std::abs(forward_mode) > 1e-8);  // a real signal, not two zeros
    }
}

BOOST_AUTO_TEST_CASE(greedy_with_one_segment_is_the_first_outer_step_of_fds) {
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 1);
    auto settings = small_settings();
    settings.method = "greedy";
    settings.greedy_horizon = 1000;  // longer than the run: one segment, the whole horizon
    settings.inner_lr_init_shape = "constant";  // greedy starts from the single value inner_lr_init
    fds::basic_hyper_trainer<double> trainer(settings, dataset, small_network());
    const fds::outer_step_record outer = trainer.run_outer_step({});
    auto network = small_network();
    const fds::greedy_run greedy = fds::greedy_hyper_train(network, settings, dataset, {});
    BOOST_TEST_REQUIRE(greedy.segments.size() == 1u);
    BOOST_TEST(greedy.total_steps == outer.inner_steps);
    BOOST_TEST(greedy.segments[0].hypergradient.lr == *outer.hypergrad_lr, boost::test_tools::per_element());
    BOOST_TEST(greedy.segments[0].hypergradient.mom == *outer.hypergrad_mom, boost::test_tools::per_element());
    BOOST_TEST(greedy.segments[0].hypergradient.wd == *outer.hypergrad_wd, boost::test_tools::per_element());
    BOOST_TEST(greedy.val_acc == outer.val_acc);
    BOOST_TEST(greedy.test_acc == outer.test_acc);
    BOOST_TEST(greedy.schedule.lr == std::vector<double>{settings.inner_lr_init});
}

BOOST_AUTO_TEST_CASE(hd_moves_each_value_by_its_multiplicative_rule_within_the_ranges) {
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 2);
    auto settings = small_settings();
    settings.method = "hd";
    settings.hd_lr_beta = 0.05;
    settings.hd_mom_beta = 0.5;
    settings.hd_wd_beta = 0.2;
    auto network = small_network();
    const fds::greedy_run run = fds::greedy_hyper_train(network, settings, dataset, {});
    BOOST_TEST_REQUIRE(!run.diverged);
    BOOST_TEST(run.segments.size() == run.total_steps);  // one step per segment
    BOOST_TEST(run.schedule.lr.size() == run.total_steps);
    const double betas[] = {settings.hd_lr_beta, settings.hd_mom_beta, settings.hd_wd_beta};
    std::size_t moved = 0;
    for (std::size_t s = 0; s + 1 < run.segments.size(); ++s)
        for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd}) {
            const auto range = fds::valid_range::of(type);
            const double value = run.schedule.of(type)[s], next = run.schedule.of(type)[s + 1];
            const double cosine = run.segments[s].cosine.of(type)[0], beta = betas[static_cast<int>(type)];
            BOOST_TEST(std::abs(cosine) <= 1.0 + 1e-12);
            // a positive hypergradient (raising h raises the loss) has a positive cosine: h goes down
            const double hypergradient = run.segments[s].hypergradient.of(type)[0];
            BOOST_TEST((cosine == 0 || (cosine > 0) == (hypergradient > 0)));
            const double expected = type == hyper_type::mom ? range.project(1 - (1 - value) * (1 + beta * cosine))
                                                            : range.project(value * (1 - beta * cosine));
            BOOST_TEST(next == expected);
            BOOST_TEST(next >= range.lower);
            BOOST_TEST(next <= range.upper);
            moved += next != value;
        }
    BOOST_TEST(moved > run.segments.size());  // the values do move
}

BOOST_AUTO_TEST_CASE(greedy_segments_cover_the_run_in_order_and_only_learned_types_move) {
    const auto dataset = fds::testing::synthetic_dataset(200, 40, 4);
    auto settings = small_settings();
    settings.method = "greedy";
    settings.greedy_horizon = 5;
    settings.learn_wd = false;
    auto network = small_network();
    const fds::greedy_run run = fds::greedy_hyper_train(network, settings, dataset, {});
    BOOST_TEST_REQUIRE(!run.diverged);
    const std::size_t expected_segments = (run.total_steps + 4) / 5;
    BOOST_TEST(run.segments.size() == expected_segments);
    std::size_t next_step = 0;
    for (const auto& segment : run.segments) {
        BOOST_TEST(segment.first_step == next_step);
        BOOST_TEST(segment.steps >= run.total_steps / expected_segments);
        BOOST_TEST(segment.steps <= run.total_steps / expected_segments + 1);
        for (std::size_t t = segment.first_step; t < segment.first_step + segment.steps; ++t)
            BOOST_TEST(fds::bucket_index(expected_segments, t, run.total_steps) == segment.segment);
        next_step += segment.steps;
        BOOST_TEST(segment.hypergradient.wd.empty());
        BOOST_TEST(segment.wd == settings.inner_wd_init);
    }
    BOOST_TEST(next_step == run.total_steps);
    BOOST_TEST(run.schedule.lr.front() != run.schedule.lr.back());
}

BOOST_AUTO_TEST_CASE(an_unknown_method_is_refused_by_name) {
    BOOST_CHECK_EXCEPTION(fds::parse_greedy_method("fds"), std::invalid_argument,
                          [](const std::invalid_argument& error) {
                              return std::string(error.what()).find("method") != std::string::npos;
                          });
}
