#define BOOST_TEST_MODULE progress
#include <boost/test/unit_test.hpp>

#include <fds/cli/progress.hpp>

#include <sstream>

using namespace fds::cli;

namespace {
progress_update hypertrain_update(std::size_t outer_step, std::size_t epoch, std::size_t inner_step) {
    progress_update update;
    update.phase = "hypertrain";
    update.outer_step = outer_step;
    update.epoch = epoch;
    update.epochs = 2;
    update.inner_step = inner_step;
    update.inner_steps = 200;  // 100 steps per epoch
    update.inner_steps_per_second = 50.0;
    return update;
}
}  // namespace

BOOST_AUTO_TEST_CASE(eta_counts_this_run_and_the_budget_still_to_come) {
    std::ostringstream stream;
    progress_reporter reporter(stream, false, {2, 3, 1});
    // 150 steps left here, then 3 + 1 epochs of 100 steps: 550 steps at 50/s
    BOOST_TEST(reporter.remaining_seconds(hypertrain_update(0, 0, 50)) == 11.0);
    // last outer step: only this run
    BOOST_TEST(reporter.remaining_seconds(hypertrain_update(2, 1, 200)) == 0.0);
    progress_update unknown_rate = hypertrain_update(0, 0, 0);
    unknown_rate.inner_steps_per_second = 0.0;
    BOOST_TEST(reporter.remaining_seconds(unknown_rate) < 0.0);
}

BOOST_AUTO_TEST_CASE(plain_output_prints_one_line_per_epoch) {
    std::ostringstream stream;
    progress_reporter reporter(stream, false, {2, 2});
    for (std::size_t step = 0; step < 200; step += 10) reporter.update(hypertrain_update(0, step / 100, step));
    reporter.outer_step_finished(0, 0.8125, 0.8, 12.0);
    reporter.update(hypertrain_update(1, 0, 0));
    std::string text = stream.str();
    BOOST_TEST(std::count(text.begin(), text.end(), '\n') == 4);
    BOOST_TEST(text.find('\r') == std::string::npos);
    BOOST_TEST(text.find("hypertrain outer 1/2 epoch 1/2 | 50.0 steps/s | ETA 8s") != std::string::npos, text);
    BOOST_TEST(text.find("outer step 1/2 done in 12s: val acc 81.25%, test acc 80.00%") != std::string::npos, text);
    BOOST_TEST(text.find("last val acc 81.2%") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(retraining_does_not_show_the_outer_steps_accuracy) {
    std::ostringstream stream;
    progress_reporter reporter(stream, false, {1});
    reporter.outer_step_finished(0, 0.153, 0.14, 20.0);
    progress_update retrain;
    retrain.phase = "retrain";
    retrain.epochs = 3;
    retrain.inner_steps = 300;
    retrain.inner_step = 10;
    retrain.inner_steps_per_second = 100.0;
    reporter.update(retrain);
    const std::string text = stream.str();
    BOOST_TEST(text.find("retrain epoch 1/3 | 100.0 steps/s | ETA 3s\n") != std::string::npos, text);
    BOOST_TEST(text.find("last val acc") == std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(terminal_output_redraws_one_line_in_place) {
    std::ostringstream stream;
    progress_reporter reporter(stream, true, {2});
    reporter.update(hypertrain_update(0, 0, 0));
    reporter.update(hypertrain_update(0, 1, 200));  // the end of a run is always drawn
    reporter.finish();
    std::string text = stream.str();
    BOOST_TEST(text.find('\n') == std::string::npos);
    BOOST_TEST(std::count(text.begin(), text.end(), '\r') >= 3);
    BOOST_TEST(text.find("epoch 2/2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(durations_read_naturally) {
    BOOST_TEST(format_duration(12.4) == "12s");
    BOOST_TEST(format_duration(245) == "4m05s");
    BOOST_TEST(format_duration(3720) == "1h02m");
    BOOST_TEST(format_duration(-1) == "?");
}
