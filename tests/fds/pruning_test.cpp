#define BOOST_TEST_MODULE fds_pruning
#include <boost/test/unit_test.hpp>

#include <fds/pruning.hpp>

#include <string>

namespace {
// The pattern of pruned steps over one run, as a string of 'x' (pruned) and '.' (kept).
std::string pattern(const fds::pruning_rule& rule, std::size_t total_steps, std::size_t buckets) {
    std::string result;
    for (std::size_t t = 0; t < total_steps; ++t) result += rule.is_pruned(t, total_steps, buckets) ? 'x' : '.';
    return result;
}
}  // namespace

BOOST_AUTO_TEST_CASE(ratio_zero_prunes_nothing) {
    BOOST_TEST(pattern(fds::make_pruning_rule("alternate", 0.0), 12, 3) == "............");
    BOOST_TEST(pattern(fds::make_pruning_rule("truncate", 0.0), 12, 3) == "............");
}

BOOST_AUTO_TEST_CASE(alternate_below_half_prunes_every_kth_step_of_each_bucket) {
    // ratio 0.25 -> prune_every 4, counted within each bucket of 6 steps: i = 0 1 2 3 4 5
    BOOST_TEST(pattern(fds::make_pruning_rule("alternate", 0.25), 12, 2) == "x...x.x...x.");
    // the reference rounds down: 0.21 -> every 4th as well
    BOOST_TEST(pattern(fds::make_pruning_rule("alternate", 0.21), 12, 2) == "x...x.x...x.");
}

BOOST_AUTO_TEST_CASE(alternate_from_half_keeps_every_kth_step) {
    // ratio 0.75 -> keep_every 4
    BOOST_TEST(pattern(fds::make_pruning_rule("alternate", 0.75), 16, 2) == ".xxx.xxx.xxx.xxx");
    BOOST_TEST(pattern(fds::make_pruning_rule("alternate", 0.5), 8, 1) == ".x.x.x.x");
    BOOST_TEST(pattern(fds::make_pruning_rule("alternate", 1.0), 4, 1) == "xxxx");
}

BOOST_AUTO_TEST_CASE(truncate_prunes_the_first_fraction_of_each_bucket) {
    BOOST_TEST(pattern(fds::make_pruning_rule("truncate", 0.5), 12, 3) == "xx..xx..xx..");
    BOOST_TEST(pattern(fds::make_pruning_rule("truncate", 0.3), 10, 1) == "xxx.......");
}

BOOST_AUTO_TEST_CASE(runs_shorter_than_their_bucket_count_prune_nothing) {
    BOOST_TEST(pattern(fds::make_pruning_rule("truncate", 0.5), 3, 7) == "...");
}

BOOST_AUTO_TEST_CASE(bad_modes_and_ratios_are_rejected) {
    BOOST_CHECK_THROW(fds::make_pruning_rule("sometimes", 0.5), std::invalid_argument);
    BOOST_CHECK_THROW(fds::make_pruning_rule("alternate", 1.5), std::invalid_argument);
    BOOST_CHECK_THROW(fds::make_pruning_rule("alternate", -0.1), std::invalid_argument);
}
