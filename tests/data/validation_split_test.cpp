#define BOOST_TEST_MODULE data_validation_split
#include <boost/test/unit_test.hpp>

#include <fds/data/validation_split.hpp>

#include <algorithm>
#include <iterator>
#include <numeric>

using namespace fds::data;

BOOST_AUTO_TEST_CASE(validation_takes_the_truncated_fraction_and_train_the_rest) {
    const validation_split split = make_validation_split(50000, 0.05, false, 1);
    BOOST_TEST(split.validation.size() == 2500u);
    BOOST_TEST(split.train.size() == 47500u);
    // int(0.1 * 1005) = 100 in the reference.
    BOOST_TEST(make_validation_split(1005, 0.1, false, 1).validation.size() == 100u);
    BOOST_TEST(make_validation_split(10, 0.0, false, 1).validation.empty());
    BOOST_TEST(make_validation_split(10, 1.0, false, 1).train.empty());
}

BOOST_AUTO_TEST_CASE(without_overlap_the_parts_are_disjoint_and_cover_every_index) {
    const validation_split split = make_validation_split(1000, 0.2, false, 42);
    BOOST_TEST(std::is_sorted(split.train.begin(), split.train.end()));
    BOOST_TEST(std::is_sorted(split.validation.begin(), split.validation.end()));
    BOOST_TEST((std::adjacent_find(split.validation.begin(), split.validation.end()) == split.validation.end()));
    std::vector<std::size_t> common;
    std::set_intersection(split.train.begin(), split.train.end(), split.validation.begin(), split.validation.end(),
                          std::back_inserter(common));
    BOOST_TEST(common.empty());
    std::vector<std::size_t> all;
    std::merge(split.train.begin(), split.train.end(), split.validation.begin(), split.validation.end(),
               std::back_inserter(all));
    std::vector<std::size_t> expected(1000);
    std::iota(expected.begin(), expected.end(), std::size_t{0});
    BOOST_TEST(all == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(with_overlap_train_keeps_every_index) {
    const validation_split split = make_validation_split(1000, 0.2, true, 42);
    BOOST_TEST(split.validation.size() == 200u);
    BOOST_TEST(split.train.size() == 1000u);
    BOOST_TEST(split.validation == make_validation_split(1000, 0.2, false, 42).validation,
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(same_seed_same_split_other_seed_other_split) {
    const validation_split first = make_validation_split(5000, 0.05, false, 7);
    const validation_split again = make_validation_split(5000, 0.05, false, 7);
    const validation_split other = make_validation_split(5000, 0.05, false, 8);
    BOOST_TEST(first.validation == again.validation, boost::test_tools::per_element());
    BOOST_TEST(first.train == again.train, boost::test_tools::per_element());
    BOOST_TEST(first.validation != other.validation);
}

BOOST_AUTO_TEST_CASE(split_from_a_seed_matches_the_recorded_one_on_any_machine) {
    const validation_split split = make_validation_split(20, 0.25, false, 2021);
    const std::vector<std::size_t> recorded = {0, 4, 7, 12, 14};
    BOOST_TEST(split.validation == recorded, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(validation_indices_are_spread_over_the_whole_training_set) {
    // Each index is held out with probability 0.1; over 200 seeds, about 20 times each.
    std::vector<int> held_out(100, 0);
    for (std::uint64_t seed = 0; seed < 200; ++seed)
        for (std::size_t index : make_validation_split(100, 0.1, false, seed).validation) ++held_out[index];
    for (int count : held_out) BOOST_TEST((count > 3 && count < 45));
}

BOOST_AUTO_TEST_CASE(fraction_outside_the_unit_interval_is_rejected) {
    BOOST_CHECK_THROW(make_validation_split(10, -0.1, false, 0), std::invalid_argument);
    BOOST_CHECK_THROW(make_validation_split(10, 1.5, false, 0), std::invalid_argument);
}
