#define BOOST_TEST_MODULE fds_retrain
#include <boost/test/unit_test.hpp>

#include <fds/retrain.hpp>

#include "synthetic_dataset.hpp"

namespace {

fds::hypertrain_settings small_settings() {
    fds::hypertrain_settings settings;
    settings.dataset = "MNIST";
    settings.train_batch_size = 20;
    settings.val_batch_size = 50;
    settings.retrain_n_epochs = 4;
    settings.n_inner_epochs_per_outer_steps = {1, 3};
    return settings;
}

}  // namespace

BOOST_AUTO_TEST_CASE(retraining_with_a_good_schedule_learns_and_reports_every_epoch) {
    const auto dataset = fds::testing::synthetic_dataset(400, 100, 2);
    auto network = fds::nn::make_mlp<double>(1, 4, 4, 3, {16});
    const fds::hyper_values schedule{{0.2, 0.1}, {0.9}, {1e-4}};
    std::size_t events = 0;
    const auto result =
        fds::retrain_network(network, small_settings(), dataset, schedule, [&](const fds::progress_event& event) {
            ++events;
            BOOST_TEST(event.phase == "retrain");
        });
    BOOST_TEST(result.epoch_test_acc.size() == 4u);
    BOOST_TEST(events == 4u * (400u / 20u));
    BOOST_TEST(result.test_acc == result.epoch_test_acc.back());
    BOOST_TEST(result.test_acc > 0.80);  // measured 0.85 (Intel Xeon); chance is 1/3
    BOOST_TEST(!result.diverged);
}

BOOST_AUTO_TEST_CASE(retraining_with_zero_learning_rate_keeps_the_initial_accuracy) {
    const auto dataset = fds::testing::synthetic_dataset(400, 100, 2);
    auto network = fds::nn::make_mlp<double>(1, 4, 4, 3, {16});
    const fds::hyper_values frozen{{0.0}, {0.9}, {1e-4}};
    auto settings = small_settings();
    settings.retrain_n_epochs = -1;  // the last budget: 3 epochs
    const auto result = fds::retrain_network(network, settings, dataset, frozen, {});
    BOOST_TEST(result.epoch_test_acc.size() == 3u);
    BOOST_TEST(result.epoch_test_acc.front() == result.epoch_test_acc.back());
}

BOOST_AUTO_TEST_CASE(a_diverging_retrain_is_reported_not_thrown) {
    const auto dataset = fds::testing::synthetic_dataset(400, 100, 2);
    auto network = fds::nn::make_mlp<double>(1, 4, 4, 3, {16});
    const auto result =
        fds::retrain_network(network, small_settings(), dataset, fds::hyper_values{{1e300}, {0.0}, {0.0}}, {});
    BOOST_TEST(result.diverged);
    BOOST_TEST(result.test_acc == 0.0);
}

BOOST_AUTO_TEST_CASE(a_retraining_resumed_from_any_epoch_checkpoint_ends_as_the_uninterrupted_one) {
    // 8x8 images: the CNN's batch norm keeps running statistics that the checkpoint must carry
    const auto dataset = fds::testing::synthetic_dataset(200, 60, 3, 8);
    auto settings = small_settings();
    settings.retrain_n_epochs = 3;
    const fds::hyper_values schedule{{0.1, 0.05, 0.01}, {0.9}, {1e-4}};
    auto network = fds::nn::make_cnn<double>(1, 8, 3);
    std::vector<fds::retrain_checkpoint<double>> checkpoints;
    const auto whole = fds::retrain_network<double>(network, settings, dataset, schedule, {}, nullptr,
                                                    [&](const auto& checkpoint) { checkpoints.push_back(checkpoint); });
    BOOST_TEST_REQUIRE(checkpoints.size() == 2u);  // after epochs 1 and 2; none after the last
    BOOST_TEST(checkpoints[0].state.steps_done == 200u / 20u);
    BOOST_TEST(checkpoints[1].epoch_test_acc.size() == 2u);
    for (const auto& checkpoint : checkpoints) {
        auto fresh = fds::nn::make_cnn<double>(1, 8, 3);
        const auto resumed = fds::retrain_network<double>(fresh, settings, dataset, schedule, {}, &checkpoint);
        BOOST_TEST(resumed.epoch_test_acc == whole.epoch_test_acc);
        BOOST_TEST(resumed.test_loss == whole.test_loss);  // bit for bit: the same steps on the same state
    }
    auto broken = checkpoints[0];
    broken.buffers = xt::zeros<double>({3});
    auto fresh = fds::nn::make_cnn<double>(1, 8, 3);
    BOOST_CHECK_THROW(fds::retrain_network<double>(fresh, settings, dataset, schedule, {}, &broken),
                      std::invalid_argument);
}
