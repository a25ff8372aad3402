#define BOOST_TEST_MODULE autodiff_random
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include <fds/autodiff/random.hpp>

using namespace fds::autodiff;

BOOST_AUTO_TEST_CASE(mt19937_64_gives_the_value_the_standard_prescribes) {
    // [rand.predef]: the 10000th consecutive invocation of a default-constructed
    // mt19937_64 produces 9981545732273789042.
    std::mt19937_64 engine;
    engine.discard(9999);
    BOOST_TEST(engine() == 9981545732273789042ULL);
    // random_source's bits are that engine's output
    random_source random(std::mt19937_64::default_seed);
    for (int draw = 0; draw < 9999; ++draw) random.bits();
    BOOST_TEST(random.bits() == 9981545732273789042ULL);
}

BOOST_AUTO_TEST_CASE(draws_from_a_seed_match_the_recorded_values_on_any_machine) {
    // Recorded once; any standard library or platform must reproduce them exactly.
    random_source random(derive_seed(2021, 1, 2, 3));
    std::vector<std::uint64_t> below;
    for (int draw = 0; draw < 8; ++draw) below.push_back(random.uniform_below(1000));
    const std::vector<std::uint64_t> expected_below = {259, 509, 482, 97, 759, 195, 200, 618};
    BOOST_TEST(below == expected_below, boost::test_tools::per_element());

    std::vector<std::size_t> values(10);
    std::iota(values.begin(), values.end(), std::size_t{0});
    shuffle(values, random);
    const std::vector<std::size_t> expected_shuffle = {4, 9, 8, 5, 3, 2, 7, 6, 0, 1};
    BOOST_TEST(values == expected_shuffle, boost::test_tools::per_element());
    BOOST_TEST(random.uniform() == 0.2896869598451608);
}

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_draws) {
    random_source a(42), b(42);
    for (int draw = 0; draw < 100; ++draw) {
        BOOST_REQUIRE_EQUAL(a.normal(), b.normal());
        BOOST_REQUIRE_EQUAL(a.uniform(), b.uniform());
    }
    BOOST_TEST(random_source(42).uniform() != random_source(43).uniform());
}

BOOST_AUTO_TEST_CASE(derived_seeds_differ_for_every_coordinate) {
    std::set<std::uint64_t> seeds;
    for (std::uint64_t seed = 0; seed < 4; ++seed)
        for (std::uint64_t stream = 0; stream < 4; ++stream)
            for (std::uint64_t first = 0; first < 4; ++first)
                for (std::uint64_t second = 0; second < 4; ++second)
                    seeds.insert(derive_seed(seed, stream, first, second));
    BOOST_TEST(seeds.size() == 256u);
    BOOST_TEST(derive_seed(5, 6, 7, 8) == derive_seed(5, 6, 7, 8));
}

BOOST_AUTO_TEST_CASE(uniform_below_is_in_range_and_balanced) {
    random_source random(7);
    constexpr int draws = 100000;
    std::vector<int> counts(10, 0);
    for (int draw = 0; draw < draws; ++draw) {
        const std::uint64_t value = random.uniform_below(10);
        BOOST_REQUIRE(value < 10u);
        ++counts[value];
    }
    // Each count is Binomial(100000, 0.1): standard deviation about 95; allow 6 of them.
    for (int count : counts) BOOST_TEST(std::abs(count - draws / 10) < 570);
    BOOST_TEST(random.uniform_below(1) == 0u);
    BOOST_CHECK_THROW(random.uniform_below(0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(uniform_below_reaches_both_ends_of_a_huge_bound) {
    // Bound just above 2^63: about half the raw draws are rejected; results still cover the range.
    random_source random(11);
    const std::uint64_t bound = (1ULL << 63) + 12345;
    bool upper_half = false, lower_half = false;
    for (int draw = 0; draw < 200; ++draw) {
        const std::uint64_t value = random.uniform_below(bound);
        BOOST_REQUIRE(value < bound);
        (value >= bound / 2 ? upper_half : lower_half) = true;
    }
    BOOST_TEST(upper_half);
    BOOST_TEST(lower_half);
}

BOOST_AUTO_TEST_CASE(uniform_lies_in_the_half_open_interval_with_the_middle_as_mean) {
    random_source random(3);
    double unit_sum = 0, interval_sum = 0;
    constexpr int draws = 100000;
    for (int draw = 0; draw < draws; ++draw) {
        const double unit = random.uniform();
        BOOST_REQUIRE(unit >= 0.0);
        BOOST_REQUIRE(unit < 1.0);
        unit_sum += unit;
        const double value = random.uniform(-2.0, 6.0);
        BOOST_REQUIRE(value >= -2.0);
        BOOST_REQUIRE(value < 6.0);
        interval_sum += value;
    }
    // Standard errors of the means: sqrt(1/12 / 100000) ~ 0.0009 and 8 times that.
    BOOST_TEST(std::abs(unit_sum / draws - 0.5) < 0.006);
    BOOST_TEST(std::abs(interval_sum / draws - 2.0) < 0.05);
}

BOOST_AUTO_TEST_CASE(normal_draws_have_the_asked_mean_and_deviation) {
    random_source random(7);
    constexpr int count = 200000;
    double sum = 0, sum_squares = 0;
    for (int i = 0; i < count; ++i) {
        const double x = random.normal();
        sum += x;
        sum_squares += x * x;
    }
    const double mean = sum / count;
    BOOST_CHECK_SMALL(mean, 0.01);  // standard error 0.0022
    BOOST_CHECK_CLOSE(sum_squares / count - mean * mean, 1.0, 1.5);

    double shifted_sum = 0, shifted_squares = 0;
    for (int i = 0; i < count; ++i) {
        const double x = random.normal(3.0, 0.5);
        shifted_sum += x;
        shifted_squares += (x - 3.0) * (x - 3.0);
    }
    BOOST_CHECK_CLOSE(shifted_sum / count, 3.0, 0.2);
    BOOST_CHECK_CLOSE(shifted_squares / count, 0.25, 1.5);
}

BOOST_AUTO_TEST_CASE(bernoulli_has_the_asked_frequency_and_exact_extremes) {
    random_source random(5);
    int hits = 0;
    for (int draw = 0; draw < 100000; ++draw) {
        hits += random.bernoulli(0.3);
        BOOST_REQUIRE(random.bernoulli(1.0));
        BOOST_REQUIRE(!random.bernoulli(0.0));
    }
    // Binomial(100000, 0.3): standard deviation ~145.
    BOOST_TEST(std::abs(hits - 30000) < 870);
}

BOOST_AUTO_TEST_CASE(shuffle_is_a_permutation_and_moves_every_position_over_many_draws) {
    random_source random(9);
    std::vector<std::vector<int>> position_counts(8, std::vector<int>(8, 0));
    for (int trial = 0; trial < 8000; ++trial) {
        std::vector<std::size_t> values(8);
        std::iota(values.begin(), values.end(), std::size_t{0});
        shuffle(values, random);
        std::vector<std::size_t> sorted = values;
        std::sort(sorted.begin(), sorted.end());
        for (std::size_t index = 0; index < 8; ++index) {
            BOOST_REQUIRE(sorted[index] == index);
            ++position_counts[values[index]][index];
        }
    }
    // Each value lands in each position with probability 1/8: about 1000 times (sd ~30).
    for (const auto& row : position_counts)
        for (int count : row) BOOST_TEST(std::abs(count - 1000) < 180);
}

BOOST_AUTO_TEST_CASE(sample_without_replacement_gives_distinct_values_in_range) {
    random_source random(13);
    const std::vector<std::size_t> sample = sample_without_replacement(1000, 300, random);
    BOOST_TEST(sample.size() == 300u);
    const std::set<std::size_t> distinct(sample.begin(), sample.end());
    BOOST_TEST(distinct.size() == 300u);
    BOOST_TEST(*distinct.rbegin() < 1000u);
    BOOST_TEST(sample_without_replacement(5, 5, random).size() == 5u);
    BOOST_CHECK_THROW(sample_without_replacement(5, 6, random), std::invalid_argument);
}
