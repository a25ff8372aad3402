#define BOOST_TEST_MODULE fds_outer_optimizer
#include <boost/test/unit_test.hpp>

#include <fds/outer_optimizer.hpp>

#include <cmath>
#include <limits>

namespace {
const double not_a_number = std::numeric_limits<double>::quiet_NaN();
}

BOOST_AUTO_TEST_CASE(sign_update_moves_against_the_hypergradient_by_the_step) {
    fds::sign_outer_optimizer optimizer(3, 0.1, 0.5, 0.05);
    const auto next = optimizer.update({0.0, 0.0, 0.0}, {-2.0, 3e-9, 0.0});
    BOOST_TEST(next[0] == 0.1);
    BOOST_TEST(next[1] == -0.1);
    BOOST_TEST(next[2] == 0.0);  // zero hypergradient: sign 0, no move
}

BOOST_AUTO_TEST_CASE(sign_step_halves_on_a_sign_flip_only) {
    fds::sign_outer_optimizer optimizer(2, 0.1, 0.5, 0.05);
    auto values = optimizer.update({0.0, 0.0}, {-1.0, -1.0});
    values = optimizer.update(values, {1.0, -1.0});  // first flips, second keeps its sign
    BOOST_TEST(optimizer.step_sizes()[0] == 0.05);
    BOOST_TEST(optimizer.step_sizes()[1] == 0.1);
    BOOST_TEST(values[0] == 0.1 - 0.05);
    BOOST_TEST(values[1] == 0.2);
    values = optimizer.update(values, {-1.0, 1.0});
    BOOST_TEST(optimizer.step_sizes()[0] == 0.025);
    BOOST_TEST(optimizer.step_sizes()[1] == 0.05);
}

BOOST_AUTO_TEST_CASE(sign_nan_hypergradient_gives_no_move_and_no_flip_after) {
    fds::sign_outer_optimizer optimizer(1, 0.1, 0.5, 0.05);
    auto values = optimizer.update({0.0}, {-1.0});
    values = optimizer.update(values, {not_a_number});
    BOOST_TEST(values[0] == 0.1);
    BOOST_TEST(optimizer.signs()[0] == 0.0);
    // NaN reset the sign to 0, so the next opposite sign is not a flip (as the reference)
    values = optimizer.update(values, {1.0});
    BOOST_TEST(optimizer.step_sizes()[0] == 0.1);
    BOOST_TEST(values[0] == 0.0);
}

BOOST_AUTO_TEST_CASE(sign_converges_when_every_step_is_a_small_fraction_of_its_value) {
    fds::sign_outer_optimizer optimizer(2, 0.1, 0.5, 0.05);
    std::vector<double> values{1.0, 1.0};
    double sign = 1.0;
    std::size_t updates = 0;
    while (!optimizer.converged() && updates < 100) {
        values = optimizer.update(values, {sign, sign});
        sign = -sign;
        ++updates;
    }
    // steps 0.1, 0.05, 0.025, 0.0125, ... and h ~= 1: step / h < 0.05 first holds at step 0.025
    BOOST_TEST(optimizer.converged());
    BOOST_TEST(updates == 3u);
    for (double step : optimizer.step_sizes()) BOOST_TEST(step / 1.0 < 0.05 * 1.1);
}

BOOST_AUTO_TEST_CASE(sign_is_never_converged_at_zero_values) {
    fds::sign_outer_optimizer optimizer(1, 1e-9, 0.5, 0.05);
    optimizer.update({0.0}, {0.0});
    BOOST_TEST(!optimizer.converged());
}

BOOST_AUTO_TEST_CASE(sign_convergence_of_a_negative_value_compares_the_step_with_its_size) {
    // without hyper_ranges a value may go negative: step / h < frac holds for every h < 0, so a
    // value of -0.01 moved by 0.1 would have counted as converged
    fds::sign_outer_optimizer far(1, 0.1, 0.5, 0.05);
    far.update({-0.01}, {1.0});
    BOOST_TEST(!far.converged());
    fds::sign_outer_optimizer near(1, 0.001, 0.5, 0.05);
    near.update({-1.0}, {1.0});
    BOOST_TEST(near.converged());  // 0.001 / |-1| < 0.05
}

BOOST_AUTO_TEST_CASE(sign_state_round_trips_and_bad_state_names_the_key) {
    fds::sign_outer_optimizer optimizer(2, 0.1, 0.5, 0.05), copy(2, 0.1, 0.5, 0.05);
    auto values = optimizer.update({0.0, 0.0}, {1.0, -1.0});
    values = optimizer.update(values, {-1.0, -1.0});
    copy.restore(optimizer.state());
    BOOST_TEST(copy.step_sizes() == optimizer.step_sizes());
    BOOST_TEST(copy.signs() == optimizer.signs());
    nlohmann::json broken = optimizer.state();
    broken.erase("signs");
    try {
        copy.restore(broken);
        BOOST_FAIL("restore accepted a state without signs");
    } catch (const std::runtime_error& error) {
        BOOST_TEST(std::string(error.what()).find("signs") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(adam_first_step_moves_by_alpha_against_the_gradient) {
    fds::adam_outer_optimizer optimizer(2, 0.01, fds::valid_range{-1e9, 1e9}, 0.05);
    const auto next = optimizer.update({0.5, 0.5}, {-3e-7, 40.0});
    BOOST_TEST(next[0] == 0.51, boost::test_tools::tolerance(1e-5));  // epsilon 1e-12 vs |g| 3e-7
    BOOST_TEST(next[1] == 0.49, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(every_optimizer_keeps_every_type_in_its_valid_range) {
    for (const char* method : {"rprop", "sign", "adam"}) {
        BOOST_TEST_CONTEXT(method) {
            fds::hypertrain_settings settings;
            settings.outer_optimizer = method;
            settings.adam_lr = 0.5;
            settings.lr_init_step_size = 0.5;  // sign: steps far larger than the values
            settings.mom_init_step_size = 0.5;
            settings.wd_init_step_size = 0.5;
            auto lr = fds::make_outer_optimizer(settings, fds::hyper_type::lr, 2);
            auto mom = fds::make_outer_optimizer(settings, fds::hyper_type::mom, 1);
            auto wd = fds::make_outer_optimizer(settings, fds::hyper_type::wd, 1);
            std::vector<double> lrs{0.1, 0.3}, moms{0.95}, wds{1e-4};
            for (int i = 0; i < 20; ++i) {
                lrs = lr->update(lrs, {1.0, 1.0});  // pushes lr down, below 0
                moms = mom->update(moms, {-1.0});  // pushes mom up, past 1
                wds = wd->update(wds, {1.0});  // pushes wd down, below 0
                for (double value : lrs) BOOST_TEST(value >= 0.0);
                BOOST_TEST(moms[0] >= 0.0);
                BOOST_TEST(moms[0] < 1.0);
                BOOST_TEST(wds[0] >= 0.0);
            }
            BOOST_TEST(lrs[0] < 0.1 * 1e-3);
            BOOST_TEST(moms[0] > 0.999);
            BOOST_TEST(wds[0] < 1e-4 * 1e-3);
            for (int i = 0; i < 20; ++i) moms = mom->update(moms, {1.0});  // and down, below 0
            BOOST_TEST(moms[0] >= 0.0);
        }
    }
}

BOOST_AUTO_TEST_CASE(without_ranges_the_sign_rule_goes_negative_as_the_reference) {
    fds::hypertrain_settings settings;
    settings.outer_optimizer = "sign";
    settings.hyper_ranges = false;
    auto wd = fds::make_outer_optimizer(settings, fds::hyper_type::wd, 1);
    BOOST_TEST(wd->update({0.0}, {1.0})[0] == -settings.wd_init_step_size);
    settings.hyper_ranges = true;
    auto bounded = fds::make_outer_optimizer(settings, fds::hyper_type::wd, 1);
    BOOST_TEST(bounded->update({0.0}, {1.0})[0] == 0.0);
}

BOOST_AUTO_TEST_CASE(rprop_moves_each_bucket_by_a_fraction_of_itself_against_its_hypergradient) {
    fds::rprop_settings steps;  // initial step 0.3
    fds::rprop_outer_optimizer optimizer(3, fds::hyper_type::lr, steps, 0.05,
                                         fds::valid_range::of(fds::hyper_type::lr));
    const auto next = optimizer.update({0.1, 0.02, 0.5}, {2.0, -1e-9, 0.0});
    BOOST_TEST(next[0] == 0.1 * std::exp(-0.3), boost::test_tools::tolerance(1e-15));
    BOOST_TEST(next[1] == 0.02 * std::exp(0.3), boost::test_tools::tolerance(1e-15));
    BOOST_TEST(next[2] == 0.5);  // zero hypergradient: no move
}

BOOST_AUTO_TEST_CASE(rprop_step_grows_while_a_buckets_sign_holds_and_shrinks_on_a_flip) {
    fds::rprop_settings steps;
    steps.initial_step = 0.2;
    steps.growth = 2.0;
    steps.step_decay = 0.5;
    steps.max_step = 0.7;
    fds::rprop_outer_optimizer optimizer(2, fds::hyper_type::wd, steps, 0.05,
                                         fds::valid_range::of(fds::hyper_type::wd));
    std::vector<double> values{1e-3, 1e-3};
    values = optimizer.update(values, {1.0, 1.0});
    values = optimizer.update(values, {1.0, -1.0});  // first holds (0.4), second flips (0.1)
    BOOST_TEST(optimizer.step_sizes()[0] == 0.4);
    BOOST_TEST(optimizer.step_sizes()[1] == 0.1);
    BOOST_TEST(values[0] == 1e-3 * std::exp(-0.2) * std::exp(-0.4), boost::test_tools::tolerance(1e-14));
    BOOST_TEST(values[1] == 1e-3 * std::exp(-0.2) * std::exp(0.1), boost::test_tools::tolerance(1e-14));
    values = optimizer.update(values, {1.0, -1.0});
    BOOST_TEST(optimizer.step_sizes()[0] == 0.7);  // 0.8, capped
    BOOST_TEST(optimizer.step_sizes()[1] == 0.2);
}

BOOST_AUTO_TEST_CASE(rprop_moves_momentum_on_the_log_of_one_minus_momentum) {
    fds::rprop_settings steps;
    fds::rprop_outer_optimizer optimizer(1, fds::hyper_type::mom, steps, 0.05,
                                         fds::valid_range::of(fds::hyper_type::mom));
    const auto up = optimizer.update({0.9}, {-1.0});  // loss falls as momentum rises
    BOOST_TEST(up[0] == 1.0 - 0.1 * std::exp(-0.3), boost::test_tools::tolerance(1e-14));
    BOOST_TEST(up[0] > 0.9);
    BOOST_TEST(up[0] < 1.0);
}

BOOST_AUTO_TEST_CASE(rprop_converges_when_every_step_is_below_the_fraction) {
    fds::rprop_settings steps;
    steps.initial_step = 0.08;
    fds::rprop_outer_optimizer optimizer(1, fds::hyper_type::lr, steps, 0.05,
                                         fds::valid_range::of(fds::hyper_type::lr));
    auto values = optimizer.update({0.1}, {1.0});
    BOOST_TEST(!optimizer.converged());
    values = optimizer.update(values, {-1.0});  // 0.04 < 0.05
    BOOST_TEST(optimizer.converged());
}

BOOST_AUTO_TEST_CASE(rprop_refuses_a_learning_rate_it_cannot_scale) {
    fds::rprop_outer_optimizer optimizer(1, fds::hyper_type::lr, {}, 0.05, fds::valid_range::of(fds::hyper_type::lr));
    try {
        optimizer.update({0.0}, {1.0});
        BOOST_FAIL("rprop accepted lr 0");
    } catch (const std::invalid_argument& error) {
        BOOST_TEST(std::string(error.what()).find("inner_lr_init") != std::string::npos, error.what());
    }
}

BOOST_AUTO_TEST_CASE(shrink_scales_the_steps_and_forgets_the_signs) {
    fds::hypertrain_settings settings;
    for (const char* method : {"rprop", "sign", "adam"}) {
        BOOST_TEST_CONTEXT(method) {
            settings.outer_optimizer = method;
            auto optimizer = fds::make_outer_optimizer(settings, fds::hyper_type::lr, 1);
            auto values = optimizer->update({0.1}, {-1.0});
            const double before = optimizer->step_sizes()[0];
            optimizer->shrink(0.25);
            BOOST_TEST(optimizer->step_sizes()[0] == 0.25 * before, boost::test_tools::tolerance(1e-15));
            // the next update starts afresh: an opposite sign is no flip, Adam's first step is its alpha
            const auto next = optimizer->update(values, {1.0});
            BOOST_TEST(optimizer->step_sizes()[0] == 0.25 * before, boost::test_tools::tolerance(1e-15));
            BOOST_TEST(next[0] < values[0]);
            fds::hypertrain_settings same = settings;
            auto restored = fds::make_outer_optimizer(same, fds::hyper_type::lr, 1);
            restored->restore(optimizer->state());
            BOOST_TEST(restored->step_sizes() == optimizer->step_sizes());  // the shrunk step is in the state
        }
    }
}

BOOST_AUTO_TEST_CASE(adam_steps_scale_with_each_types_initial_step) {
    fds::hypertrain_settings settings;
    settings.outer_optimizer = "adam";
    settings.adam_lr = 0.02;
    auto wd = fds::make_outer_optimizer(settings, fds::hyper_type::wd, 1);
    BOOST_TEST(wd->step_sizes()[0] == 0.02 * settings.wd_init_step_size / settings.lr_init_step_size,
               boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(adam_nan_hypergradient_gives_no_move) {
    fds::adam_outer_optimizer optimizer(1, 0.01, fds::valid_range::of(fds::hyper_type::lr), 0.05);
    auto values = optimizer.update({0.2}, {-1.0});
    const auto state_before = optimizer.state();
    const auto after_nan = optimizer.update(values, {not_a_number});
    BOOST_TEST(after_nan[0] == values[0]);
    BOOST_TEST(optimizer.state()["first_moment"] == state_before["first_moment"]);
}

BOOST_AUTO_TEST_CASE(unknown_outer_optimizer_is_rejected_by_name) {
    fds::hypertrain_settings settings;
    settings.outer_optimizer = "lbfgs";
    try {
        fds::make_outer_optimizer(settings, fds::hyper_type::lr, 1);
        BOOST_FAIL("accepted an unknown optimizer");
    } catch (const std::invalid_argument& error) {
        BOOST_TEST(std::string(error.what()).find("lbfgs") != std::string::npos);
    }
}
