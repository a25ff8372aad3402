#define BOOST_TEST_MODULE history_record
#include <boost/test/unit_test.hpp>

#include <fds/cli/history_record.hpp>

#include <cmath>
#include <limits>

using namespace fds::cli;
using nlohmann::json;

namespace {

fds::outer_step_record example_record() {
    fds::outer_step_record record;
    record.outer_step = 2;
    record.epochs = 3;
    record.inner_steps = 666;
    record.seconds = 12.5;
    record.schedules_used.lr = {0.1, 0.2};
    record.schedules_used.mom = {0.5};
    record.schedules_used.wd = {0.0};
    record.hypergrad_lr = std::vector<double>{-0.25, 0.5};
    record.hypergrad_mom = std::vector<double>{-1.0};
    record.step_size_lr = std::vector<double>{0.1, 0.05};
    record.step_size_mom = std::vector<double>{0.1};
    record.val_loss = 0.4;
    record.val_acc = 0.85;
    record.test_acc = 0.84;
    record.train_loss = 0.5;
    record.train_acc = 0.8;
    return record;
}

}  // namespace

BOOST_AUTO_TEST_CASE(record_has_every_key_of_the_documented_schema) {
    fds::hyper_values next;
    next.lr = {0.2, 0.15};
    next.mom = {0.6};
    next.wd = {0.0};
    json line = history_record(example_record(), next);
    for (const char* key : {"outer_step", "epochs", "inner_steps", "seconds", "lr", "mom", "wd", "hypergrad", "delta",
                            "step_size", "val_loss", "val_acc", "test_acc", "train_loss", "train_acc", "diverged"})
        BOOST_TEST(line.contains(key), key);
    BOOST_TEST(line["outer_step"] == 2);
    BOOST_TEST(line["inner_steps"] == 666);
    BOOST_TEST((line["lr"] == json{0.1, 0.2}));
    BOOST_TEST((line["hypergrad"]["lr"] == json{-0.25, 0.5}));
    BOOST_TEST(!line["hypergrad"].contains("wd"));  // weight decay not learned here
    BOOST_TEST((line["step_size"]["mom"] == json{0.1}));
    BOOST_TEST(std::abs(line["delta"]["lr"][0].get<double>() - 0.1) < 1e-15);
    BOOST_TEST(std::abs(line["delta"]["lr"][1].get<double>() + 0.05) < 1e-15);
    BOOST_TEST(line["val_acc"] == 0.85);
    BOOST_TEST(history_record_problems(line) == "");
    // one line of JSON: no newline inside
    BOOST_TEST(line.dump().find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(non_finite_numbers_of_a_diverged_step_become_null) {
    fds::outer_step_record record = example_record();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    record.diverged = true;
    record.hypergrad_lr = std::vector<double>{nan, nan};
    record.val_loss = nan;
    json line = history_record(record, record.schedules_used);
    BOOST_TEST(line["hypergrad"]["lr"][0].is_null());
    BOOST_TEST(line["val_loss"].is_null());
    BOOST_TEST(line["diverged"] == true);
    BOOST_TEST(history_record_problems(line) == "");
    BOOST_TEST(json::parse(line.dump()) == line);  // still valid JSON (NaN is not)
}

BOOST_AUTO_TEST_CASE(problems_name_what_is_wrong) {
    json line = history_record(example_record(), example_record().schedules_used);
    json missing = line;
    missing.erase("val_acc");
    BOOST_TEST(history_record_problems(missing).find("val_acc") != std::string::npos);
    json short_list = line;
    short_list["hypergrad"]["lr"] = json{1.0};
    BOOST_TEST(history_record_problems(short_list).find("hypergrad.lr") != std::string::npos);
    json negative = line;
    negative["outer_step"] = -1;
    BOOST_TEST(history_record_problems(negative).find("outer_step") != std::string::npos);
    BOOST_TEST(history_record_problems(json::array()) == "not an object");
}

BOOST_AUTO_TEST_CASE(schedules_of_a_line_are_its_used_schedules) {
    json line = history_record(example_record(), example_record().schedules_used);
    BOOST_TEST((schedules_of(line) == json{{"lr", {0.1, 0.2}}, {"mom", {0.5}}, {"wd", {0.0}}}));
}
