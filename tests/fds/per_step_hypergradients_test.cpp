// The measurement of fds noise (per_step_hypergradients.hpp), in double on a small model: every
// per-step hypergradient is the central difference of the final validation loss in that step's
// learning rate, every greedy one the central difference of the validation loss one step later,
// and sharing the per-step ones over a window gives what hypertrain computes with that many
// buckets.
#define BOOST_TEST_MODULE fds_per_step_hypergradients
#include <boost/test/unit_test.hpp>

#include <fds/hyper_trainer.hpp>
#include <fds/hypergradient_noise.hpp>
#include <fds/per_step_hypergradients.hpp>

#include "synthetic_dataset.hpp"

#include <cmath>

namespace {

fds::hypertrain_settings small_settings() {
    fds::hypertrain_settings settings;
    settings.dataset = "MNIST";
    settings.inner_lr_init = 0.1;
    settings.inner_lr_init_shape = "constant";
    settings.inner_mom_init = 0.5;
    settings.inner_wd_init = 1e-3;
    settings.train_batch_size = 20;
    settings.val_batch_size = 20;
    settings.val_train_fraction = 0.2;
    settings.clamp_grads = false;  // exact derivatives, no kink for the differences to straddle
    settings.clamp_HZ = false;
    settings.seed = 9;
    return settings;
}

fds::nn::network<double> small_network() { return fds::nn::make_mlp<double>(1, 4, 4, 3, {8}); }

// The validation loss (training mode, mean over the validation batches) after the first `stop`
// of `steps` plain steps of run `run` with `schedule`, on the streams the measurement draws.
double validation_loss_after(fds::nn::network<double>& network, const fds::hypertrain_settings& settings,
                             const fds::data::dataset& dataset, const fds::hyper_values& schedule, std::size_t steps,
                             std::size_t stop, std::size_t run) {
    const auto split = fds::data::make_validation_split(
        dataset.train_labels.size(), settings.val_train_fraction, settings.val_train_overlap,
        fds::stream_seed(settings.seed, fds::seed_stream::validation_split, 0));
    const auto train = fds::training_loader(settings, dataset, split.train,
                                            fds::stream_seed(settings.seed, fds::seed_stream::train_batches, run));
    const auto validation =
        fds::evaluation_loader(settings, dataset, fds::data::split_part::train, split.validation,
                               fds::stream_seed(settings.seed, fds::seed_stream::validation_batches, 0));
    network.reset_buffers();
    xt::xarray<double> parameters = network.initial_parameters(
        fds::initializer_of(settings), fds::stream_seed(settings.seed, fds::seed_stream::initial_weights, run));
    xt::xarray<double> velocity = xt::zeros<double>(parameters.shape());
    const auto options = fds::inner_loop_options_from(settings);
    for (std::size_t step = 0; step < stop; ++step) {
        auto batch = train.load(step / train.batches_per_epoch(), step % train.batches_per_epoch());
        fds::detail::plain_training_step(network, parameters, velocity, fds::images_as<double>(std::move(batch.images)),
                                         batch.labels, fds::hypers_at(schedule, step, steps), options);
    }
    return fds::mean_validation_gradient(network, parameters, validation).loss;
}

}  // namespace

BOOST_AUTO_TEST_CASE(per_step_and_greedy_hypergradients_match_central_differences) {
    const auto dataset = fds::testing::synthetic_dataset(200, 20, 4);
    const auto settings = small_settings();
    auto network = small_network();
    const std::size_t steps = 6, run = 1;
    const fds::per_step_run measured = fds::measure_per_step_hypergradients(network, settings, dataset, steps, run, {});
    BOOST_TEST_REQUIRE(!measured.diverged);
    BOOST_TEST_REQUIRE(measured.hypergradient.size() == steps);
    BOOST_TEST_REQUIRE(measured.greedy.size() == steps);
    const fds::hyper_values schedule = fds::noise_schedule(settings, steps);
    BOOST_TEST(measured.val_loss == validation_loss_after(network, settings, dataset, schedule, steps, steps, run),
               boost::test_tools::tolerance(1e-12));
    const double h = 1e-6;
    for (std::size_t t = 0; t < steps; ++t) {
        fds::hyper_values up = schedule, down = schedule;
        up.lr[t] += h;
        down.lr[t] -= h;
        const double long_difference = (validation_loss_after(network, settings, dataset, up, steps, steps, run) -
                                        validation_loss_after(network, settings, dataset, down, steps, steps, run)) /
                                       (2 * h);
        const double greedy_difference = (validation_loss_after(network, settings, dataset, up, steps, t + 1, run) -
                                          validation_loss_after(network, settings, dataset, down, steps, t + 1, run)) /
                                         (2 * h);
        BOOST_TEST(measured.hypergradient[t] == long_difference, boost::test_tools::tolerance(1e-6));
        BOOST_TEST(measured.greedy[t] == greedy_difference, boost::test_tools::tolerance(1e-6));
    }
    // the last step's greedy and long-horizon hypergradients are the same derivative
    BOOST_TEST(measured.greedy.back() == measured.hypergradient.back(), boost::test_tools::tolerance(1e-10));
}

BOOST_AUTO_TEST_CASE(sharing_the_per_step_hypergradients_gives_hypertrains_bucket_hypergradients) {
    const auto dataset = fds::testing::synthetic_dataset(200, 20, 5);
    auto settings = small_settings();
    settings.clamp_grads = true;  // the clamp's mask is linear in the tangents: sharing still adds them up
    settings.learn_mom = settings.learn_wd = false;
    settings.n_inner_epochs_per_outer_steps = {1};
    auto network = small_network();
    const std::size_t steps = 8;  // one epoch of 160 training images in batches of 20
    const auto measured = fds::measure_per_step_hypergradients(network, settings, dataset, steps, 0, {});
    BOOST_TEST_REQUIRE(measured.hypergradient.size() == steps);
    for (std::size_t buckets : {1u, 3u, 4u, 8u}) {  // 3: buckets of 3, 3 and 2 steps
        settings.n_lrs = buckets;
        fds::basic_hyper_trainer<double> trainer(settings, dataset, small_network());
        const fds::outer_step_record record = trainer.run_outer_step({});
        BOOST_TEST_REQUIRE(record.inner_steps == steps);
        const std::vector<double> shared = fds::shared_hypergradients(measured.hypergradient, buckets);
        for (std::size_t j = 0; j < buckets; ++j)
            BOOST_TEST(shared[j] == (*record.hypergrad_lr)[j], boost::test_tools::tolerance(1e-9));
    }
}

BOOST_AUTO_TEST_CASE(runs_differ_in_data_order_and_weights_and_each_repeats_exactly) {
    const auto dataset = fds::testing::synthetic_dataset(200, 20, 6);
    auto settings = small_settings();
    settings.inner_lr_init_shape = "cosine";
    auto network = small_network();
    const auto first = fds::measure_per_step_hypergradients(network, settings, dataset, 5, 0, {});
    const auto again = fds::measure_per_step_hypergradients(network, settings, dataset, 5, 0, {});
    const auto second = fds::measure_per_step_hypergradients(network, settings, dataset, 5, 1, {});
    BOOST_TEST(first.hypergradient == again.hypergradient);
    BOOST_TEST(first.greedy == again.greedy);
    BOOST_TEST(first.hypergradient != second.hypergradient);
    // the cosine over the run's steps, one learning rate per step
    BOOST_TEST(fds::noise_schedule(settings, 5).lr == fds::cosine_bucket_values(settings.inner_lr_init, 5));
}

BOOST_AUTO_TEST_CASE(a_diverging_run_is_marked_and_gives_no_hypergradients) {
    const auto dataset = fds::testing::synthetic_dataset(200, 20, 7);
    auto settings = small_settings();
    settings.inner_lr_init = 1e300;
    auto network = small_network();
    const auto measured = fds::measure_per_step_hypergradients(network, settings, dataset, 6, 0, {});
    BOOST_TEST(measured.diverged);
    BOOST_TEST(measured.hypergradient.empty());
    BOOST_TEST(std::isnan(measured.val_loss));
}
