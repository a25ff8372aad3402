#define BOOST_TEST_MODULE fds_hyperband
#include <boost/test/unit_test.hpp>

#include <fds/search/hyperband.hpp>

#include <cmath>
#include <map>

namespace {

// A stand-in objective: the closer lr[0] to 0.1 on a log scale, the better; longer trials score higher.
fds::trial_outcome score(const fds::trial_request& request) {
    fds::trial_outcome outcome;
    outcome.val_acc = 1.0 / (1.0 + std::abs(std::log(request.schedule.lr[0] / 0.1))) * (1 - 0.1 / (1 + request.epochs));
    return outcome;
}

fds::schedule_space small_space() {
    fds::schedule_space space;
    space.n_lrs = 2;
    return space;
}

}  // namespace

BOOST_AUTO_TEST_CASE(brackets_for_R_81_and_eta_3_are_the_papers_table) {
    // Li et al., JMLR 2018, Table 1: (n_i, r_i) per bracket s
    const std::vector<std::vector<std::pair<std::size_t, double>>> table = {
        {{81, 1}, {27, 3}, {9, 9}, {3, 27}, {1, 81}},
        {{34, 3}, {11, 9}, {3, 27}, {1, 81}},
        {{15, 9}, {5, 27}, {1, 81}},
        {{8, 27}, {2, 81}},
        {{5, 81}}};
    const auto brackets = fds::search::hyperband_brackets(81, 3);
    BOOST_REQUIRE(brackets.size() == table.size());
    for (std::size_t b = 0; b < table.size(); ++b) {
        BOOST_TEST(brackets[b].s == table.size() - 1 - b);
        BOOST_REQUIRE(brackets[b].rungs.size() == table[b].size());
        for (std::size_t i = 0; i < table[b].size(); ++i) {
            BOOST_TEST(brackets[b].rungs[i].configurations == table[b][i].first);
            BOOST_TEST(brackets[b].rungs[i].epochs == table[b][i].second, boost::test_tools::tolerance(1e-12));
        }
    }
}

BOOST_AUTO_TEST_CASE(brackets_of_a_budget_that_is_no_power_of_eta_use_fractional_epochs) {
    const auto brackets = fds::search::hyperband_brackets(10, 3);  // s_max = 2
    BOOST_REQUIRE(brackets.size() == 3u);
    BOOST_TEST(brackets[0].rungs.front().configurations == 9u);
    BOOST_TEST(brackets[0].rungs.front().epochs == 10.0 / 9.0, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(brackets[0].rungs.back().epochs == 10.0, boost::test_tools::tolerance(1e-12));
    BOOST_CHECK_THROW(fds::search::hyperband_brackets(10, 1), std::invalid_argument);
    BOOST_CHECK_THROW(fds::search::hyperband_brackets(0, 3), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(each_rung_trains_the_best_of_the_previous_one_and_the_winner_is_full_length) {
    const auto result = fds::search::hyperband(small_space(), 27, 3, 7, score);
    std::size_t expected_trials = 0;
    for (const auto& bracket : fds::search::hyperband_brackets(27, 3))
        for (const auto& rung : bracket.rungs) expected_trials += rung.configurations;
    BOOST_TEST(result.trials.size() == expected_trials);
    // trial ids follow the order of the runs
    for (std::size_t i = 0; i < result.trials.size(); ++i) BOOST_TEST(result.trials[i].request.id == i);
    // within a bracket, rung i + 1 holds exactly the top configurations of rung i
    std::map<std::pair<std::size_t, std::size_t>, std::vector<const fds::search::search_trial*>> rungs;
    for (const auto& trial : result.trials) rungs[{trial.request.bracket, trial.request.rung}].push_back(&trial);
    for (const auto& [key, trials] : rungs) {
        auto next = rungs.find({key.first, key.second + 1});
        if (next == rungs.end()) continue;
        double worst_survivor = 1e9;
        for (const auto* survivor : next->second) {
            bool found = false;
            for (const auto* earlier : trials)
                if (earlier->request.schedule.lr == survivor->request.schedule.lr) {
                    found = true;
                    worst_survivor = std::min(worst_survivor, earlier->outcome.val_acc);
                }
            BOOST_TEST(found);
        }
        std::size_t better_than_worst = 0;
        for (const auto* earlier : trials) better_than_worst += earlier->outcome.val_acc >= worst_survivor;
        BOOST_TEST(better_than_worst == next->second.size());
    }
    const auto& best = result.best();
    BOOST_TEST(best.request.epochs == 27.0);
    for (const auto& trial : result.trials)
        if (trial.request.epochs == 27.0) BOOST_TEST(trial.outcome.val_acc <= best.outcome.val_acc);
}

BOOST_AUTO_TEST_CASE(the_same_seed_asks_for_the_same_trials) {
    const auto first = fds::search::hyperband(small_space(), 9, 3, 11, score);
    const auto again = fds::search::hyperband(small_space(), 9, 3, 11, score);
    const auto other = fds::search::hyperband(small_space(), 9, 3, 12, score);
    BOOST_REQUIRE(first.trials.size() == again.trials.size());
    for (std::size_t i = 0; i < first.trials.size(); ++i) {
        BOOST_TEST(first.trials[i].request.schedule.lr == again.trials[i].request.schedule.lr);
        BOOST_TEST(first.trials[i].request.epochs == again.trials[i].request.epochs);
    }
    BOOST_TEST(first.trials[0].request.schedule.lr != other.trials[0].request.schedule.lr);
}
