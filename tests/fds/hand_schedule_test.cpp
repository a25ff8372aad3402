#define BOOST_TEST_MODULE fds_hand_schedule
#include <boost/test/unit_test.hpp>

#include <fds/hand_schedule.hpp>

#include <cmath>

namespace {
const double pi = 3.14159265358979323846;

fds::hand_schedule shaped(const std::string& shape) {
    fds::hand_schedule schedule;
    schedule.shape = shape;
    schedule.lr = 0.1;
    schedule.mom = 0.9;
    schedule.wd = 5e-4;
    return schedule;
}
}  // namespace

BOOST_AUTO_TEST_CASE(constant_is_one_bucket_of_each_value) {
    const auto values = fds::hand_schedule_values(shaped("constant"), 1000);
    BOOST_TEST(values.lr == std::vector<double>{0.1});
    BOOST_TEST(values.mom == std::vector<double>{0.9});
    BOOST_TEST(values.wd == std::vector<double>{5e-4});
}

BOOST_AUTO_TEST_CASE(cosine_is_one_bucket_per_step_from_lr0_down_towards_zero) {
    const std::size_t steps = 400;
    const auto values = fds::hand_schedule_values(shaped("cosine"), steps);
    BOOST_TEST(values.lr.size() == steps);
    BOOST_TEST(values.lr[0] == 0.1);
    BOOST_TEST(values.lr[steps / 2] == 0.05, boost::test_tools::tolerance(1e-15));
    for (std::size_t t = 0; t < steps; ++t) {
        BOOST_TEST(values.lr[t] == 0.05 * (1 + std::cos(pi * t / steps)), boost::test_tools::tolerance(1e-14));
        if (t > 0) BOOST_TEST(values.lr[t] < values.lr[t - 1]);
    }
    BOOST_TEST(values.lr.back() > 0.0);
    BOOST_TEST(values.lr.back() < 0.1 * 1e-4);
}

BOOST_AUTO_TEST_CASE(step_decays_by_gamma_at_half_and_three_quarters) {
    auto schedule = shaped("step");
    schedule.step_gamma = 0.2;
    const auto values = fds::hand_schedule_values(schedule, 10);
    const std::vector<double> expected = {
        0.1, 0.1, 0.1, 0.1, 0.1, 0.1 * 0.2, 0.1 * 0.2, 0.1 * 0.2 * 0.2, 0.1 * 0.2 * 0.2, 0.1 * 0.2 * 0.2};
    // milestones floor(10 / 2) = 5 and floor(30 / 4) = 7
    BOOST_TEST(values.lr == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(warmup_cosine_rises_linearly_then_follows_the_cosine_of_the_rest) {
    auto schedule = shaped("warmup_cosine");
    schedule.warmup_fraction = 0.1;
    const std::size_t steps = 200;  // 20 warm-up steps, then a cosine over 180
    const auto values = fds::hand_schedule_values(schedule, steps);
    for (std::size_t t = 0; t < 20; ++t)
        BOOST_TEST(values.lr[t] == 0.1 * (t + 1) / 20.0, boost::test_tools::tolerance(1e-15));
    BOOST_TEST(values.lr[19] == 0.1);
    BOOST_TEST(values.lr[20] == 0.1);
    for (std::size_t t = 20; t < steps; ++t)
        BOOST_TEST(values.lr[t] == 0.05 * (1 + std::cos(pi * (t - 20) / 180.0)), boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(bad_fields_are_refused_by_name) {
    auto expect_refused = [](fds::hand_schedule schedule, const std::string& name) {
        try {
            fds::hand_schedule_values(schedule, 10);
            BOOST_FAIL("accepted a bad " << name);
        } catch (const std::invalid_argument& error) {
            BOOST_TEST(std::string(error.what()).rfind(name + ":", 0) == 0, error.what());
        }
    };
    auto schedule = shaped("cosinus");
    expect_refused(schedule, "lr_schedule");
    schedule = shaped("cosine");
    schedule.mom = 1.0;
    expect_refused(schedule, "mom");
    schedule = shaped("cosine");
    schedule.lr = -0.1;
    expect_refused(schedule, "lr");
    schedule = shaped("cosine");
    schedule.wd = -1e-4;
    expect_refused(schedule, "wd");
    schedule = shaped("step");
    schedule.step_gamma = 0;
    expect_refused(schedule, "step_gamma");
    schedule = shaped("warmup_cosine");
    schedule.warmup_fraction = 1;
    expect_refused(schedule, "warmup_fraction");
}

BOOST_AUTO_TEST_CASE(cosine_bucket_values_sample_the_cosine_at_bucket_centres) {
    const double pi = 3.14159265358979323846;
    const std::vector<double> values = fds::cosine_bucket_values(0.1, 4);
    BOOST_REQUIRE(values.size() == 4u);
    const double centres[] = {0.125, 0.375, 0.625, 0.875};
    for (std::size_t j = 0; j < 4; ++j) {
        BOOST_TEST(values[j] == 0.05 * (1 + std::cos(pi * centres[j])), boost::test_tools::tolerance(1e-14));
        BOOST_TEST(values[j] > 0.0);
    }
    BOOST_TEST(values[0] + values[3] == 0.1, boost::test_tools::tolerance(1e-14));  // symmetric about lr0 / 2
    BOOST_TEST(fds::cosine_bucket_values(0.1, 1) == std::vector<double>{0.05});
}
