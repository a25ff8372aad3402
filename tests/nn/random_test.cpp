#define BOOST_TEST_MODULE nn_random
#include <boost/test/unit_test.hpp>

#include <cmath>

#include <fds/nn/random.hpp>

using fds::nn::random_source;

BOOST_AUTO_TEST_CASE(random_source_is_reproducible_from_its_seed) {
    random_source a(42), b(42), c(43);
    for (int i = 0; i < 100; ++i) {
        const double x = a.normal();
        BOOST_CHECK_EQUAL(x, b.normal());
        (void)c;
    }
    BOOST_CHECK_NE(random_source(42).uniform(), random_source(43).uniform());
    // first draw of std::mt19937_64 with the default seed is specified by the standard
    std::mt19937_64 engine(5489u);
    engine.discard(9999);
    BOOST_CHECK_EQUAL(engine(), 9981545732273789042ull);
}

BOOST_AUTO_TEST_CASE(normal_draws_have_mean_zero_and_unit_variance) {
    random_source random(7);
    const int count = 200000;
    double sum = 0, sum_squares = 0;
    for (int i = 0; i < count; ++i) {
        const double x = random.normal();
        sum += x;
        sum_squares += x * x;
    }
    const double mean = sum / count;
    BOOST_CHECK_SMALL(mean, 0.01);  // standard error 0.0022
    BOOST_CHECK_CLOSE(sum_squares / count - mean * mean, 1.0, 1.5);
}

BOOST_AUTO_TEST_CASE(uniform_draws_stay_in_range_with_mean_one_half) {
    random_source random(8);
    double sum = 0;
    for (int i = 0; i < 100000; ++i) {
        const double u = random.uniform();
        BOOST_REQUIRE(u >= 0.0 && u < 1.0);
        sum += u;
    }
    BOOST_CHECK_CLOSE(sum / 100000, 0.5, 1.0);
}
