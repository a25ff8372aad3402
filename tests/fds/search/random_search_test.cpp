#define BOOST_TEST_MODULE fds_random_search
#include <boost/test/unit_test.hpp>

#include <fds/search/random_search.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {
fds::trial_outcome by_first_lr(const fds::trial_request& request) {
    fds::trial_outcome outcome;
    outcome.val_acc = -std::abs(std::log(request.schedule.lr[0] / 0.1));
    return outcome;
}
}  // namespace

BOOST_AUTO_TEST_CASE(every_configuration_lies_in_the_space_and_the_seed_reproduces_them) {
    fds::schedule_space space;  // 7 lr in [1e-3, 1], 1 mom in [0, 0.99], 1 wd in [1e-6, 1e-2]
    const auto first = fds::search::random_search(space, 30, 4.0, 3, by_first_lr);
    const auto again = fds::search::random_search(space, 30, 4.0, 3, by_first_lr);
    const auto other = fds::search::random_search(space, 30, 4.0, 4, by_first_lr);
    BOOST_REQUIRE(first.trials.size() == 30u);
    for (std::size_t i = 0; i < 30; ++i) {
        const auto& schedule = first.trials[i].request.schedule;
        BOOST_TEST(space.contains(schedule));
        BOOST_TEST(first.trials[i].request.epochs == 4.0);
        BOOST_TEST(schedule.lr == again.trials[i].request.schedule.lr);
        BOOST_TEST(schedule.mom == again.trials[i].request.schedule.mom);
        BOOST_TEST(schedule.lr != other.trials[i].request.schedule.lr);
    }
    const auto& best = first.best();
    for (const auto& trial : first.trials) BOOST_TEST(trial.outcome.val_acc <= best.outcome.val_acc);
}

BOOST_AUTO_TEST_CASE(log_uniform_draws_spread_evenly_over_the_decades) {
    fds::schedule_space space;
    space.n_lrs = 1;
    fds::autodiff::random_source random(1);
    std::vector<std::size_t> per_decade(3, 0);  // [1e-3, 1e-2), [1e-2, 1e-1), [1e-1, 1]
    const std::size_t draws = 30000;
    for (std::size_t i = 0; i < draws; ++i) {
        const double lr = space.sample(random).lr[0];
        per_decade[std::min<std::size_t>(2, static_cast<std::size_t>(std::floor(std::log10(lr) + 3)))]++;
    }
    // each decade holds a third; the binomial standard deviation is 0.0027 of the draws
    for (std::size_t count : per_decade) BOOST_TEST(std::abs(static_cast<double>(count) / draws - 1.0 / 3) < 0.015);
}

BOOST_AUTO_TEST_CASE(types_not_learned_keep_their_initial_value) {
    fds::hypertrain_settings settings;
    settings.learn_mom = false;
    settings.inner_mom_init = 0.8;
    const auto space = fds::schedule_space_of(settings);
    fds::autodiff::random_source random(2);
    for (int i = 0; i < 10; ++i) BOOST_TEST(space.sample(random).mom == std::vector<double>{0.8});
    settings.search_lr_min = 0;  // no log scale through 0
    BOOST_CHECK_THROW(fds::schedule_space_of(settings), std::invalid_argument);
    settings.search_lr_min = 2;  // above the maximum
    try {
        fds::schedule_space_of(settings);
        BOOST_FAIL("accepted an empty range");
    } catch (const std::invalid_argument& error) {
        BOOST_TEST(std::string(error.what()).find("search_lr") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(a_time_budget_stops_before_the_trial_that_would_start_after_it) {
    fds::schedule_space space;
    auto two_seconds_each = [](const fds::trial_request& request) {
        fds::trial_outcome outcome = by_first_lr(request);
        outcome.seconds = 2.0;
        return outcome;
    };
    BOOST_TEST(fds::search::random_search(space, 100, 1.0, 3, two_seconds_each, 7.0).trials.size() ==
               4u);  // 0, 2, 4, 6 s
    BOOST_TEST(fds::search::random_search(space, 100, 1.0, 3, two_seconds_each, 8.0).trials.size() == 4u);
    BOOST_TEST(fds::search::random_search(space, 3, 1.0, 3, two_seconds_each, 100.0).trials.size() == 3u);
    // the trials of a budgeted search are the first ones of the unbudgeted search
    const auto budgeted = fds::search::random_search(space, 100, 1.0, 3, two_seconds_each, 7.0);
    const auto full = fds::search::random_search(space, 100, 1.0, 3, two_seconds_each);
    BOOST_TEST(full.trials.size() == 100u);
    for (std::size_t i = 0; i < budgeted.trials.size(); ++i)
        BOOST_TEST(budgeted.trials[i].request.schedule.lr == full.trials[i].request.schedule.lr);
}
