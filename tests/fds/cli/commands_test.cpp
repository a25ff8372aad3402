#define BOOST_TEST_MODULE commands
#include <boost/test/unit_test.hpp>

#include <fds/cli/commands.hpp>
#include <fds/cli/dataset_loading.hpp>
#include <fds/cli/options.hpp>
#include <fds/cli/progress.hpp>
#include <fds/cli/retrain_summary.hpp>

#include <fds/data/dataset.hpp>
#include <fds/run_setup.hpp>
#include <fds/nn/npy.hpp>
#include <fds/nn/torch_state_dict.hpp>

#include <cstdlib>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "fashion_subset.hpp"

using namespace fds::cli;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct outcome {
    int code;
    std::string output, errors;
};

outcome run(const std::vector<std::string>& arguments) {
    std::ostringstream output, errors;
    int code = run_command_line(arguments, output, errors);
    return {code, output.str(), errors.str()};
}

bool contains(const std::string& text, const std::string& part) {
    bool found = text.find(part) != std::string::npos;
    if (!found) BOOST_TEST_MESSAGE("'" << part << "' not in: " << text);
    return found;
}

std::string read_text(const fs::path& path) {
    std::ifstream file(path);
    return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

fs::path fresh_path(const std::string& name) {
    fs::path path = fs::temp_directory_path() / ("fds_cli_commands_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(path);
    return path;
}

}  // namespace

BOOST_AUTO_TEST_CASE(program_help_lists_commands_and_exit_codes) {
    outcome result = run({"--help"});
    BOOST_TEST(result.code == 0);
    for (const char* part : {"hypertrain", "train", "info", "exit codes", "2  usage", "3  data", "4  run directory"})
        BOOST_TEST(contains(result.output, part));
    BOOST_TEST(run({}).code == 2);  // no command: usage on stderr
    BOOST_TEST(contains(run({"--version"}).output, "fds "));
}

BOOST_AUTO_TEST_CASE(hypertrain_help_lists_every_option) {
    outcome result = run({"hypertrain", "--help"});
    BOOST_TEST(result.code == 0);
    for (const option_spec& option : setting_options()) BOOST_TEST(contains(result.output, "--" + option.name + " "));
    for (const char* part : {"--config FILE.json", "--out DIR", "--stop_after_outer_steps", "FashionMNIST"})
        BOOST_TEST(contains(result.output, part));
    BOOST_TEST(run({"train", "--help"}).code == 0);
    BOOST_TEST(run({"info", "--help"}).code == 0);
}

BOOST_AUTO_TEST_CASE(unknown_command_suggests_the_closest) {
    outcome result = run({"hypertrian"});
    BOOST_TEST(result.code == 2);
    BOOST_TEST(contains(result.errors, "unknown command 'hypertrian' (did you mean 'hypertrain'?)"));
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_with_code_2_naming_the_flag) {
    outcome unknown = run({"hypertrain", "--n_lr", "3"});
    BOOST_TEST(unknown.code == 2);
    BOOST_TEST(contains(unknown.errors, "did you mean '--n_lrs'"));
    outcome invalid = run({"hypertrain", "--lr_step_decay", "1"});
    BOOST_TEST(invalid.code == 2);
    BOOST_TEST(contains(invalid.errors, "--lr_step_decay must be a number in (0, 1), found 1"));
    outcome nothing_learned = run({"hypertrain", "--learn_lr", "0", "--learn_mom", "0", "--learn_wd", "0"});
    BOOST_TEST(nothing_learned.code == 2);
    outcome stop = run({"hypertrain", "--stop_after_outer_steps", "0"});
    BOOST_TEST(stop.code == 2);
    BOOST_TEST(contains(stop.errors, "--stop_after_outer_steps must be an integer >= 1"));
}

BOOST_AUTO_TEST_CASE(missing_dataset_exits_with_code_3_saying_where_to_get_it) {
    fs::path out = fresh_path("missing_data");
    outcome result =
        run({"hypertrain", "--dataset", "MNIST", "--datasets_path", "/nonexistent/mnist", "--out", out.string()});
    BOOST_TEST(result.code == 3);
    BOOST_TEST(contains(result.errors, "/nonexistent/mnist"));
    BOOST_TEST(contains(result.errors, "yann.lecun.com"));
    BOOST_TEST(contains(result.errors, "--datasets_path"));
    outcome info = run({"info", "--dataset", "CIFAR10", "--datasets_path", "/nonexistent/cifar"});
    BOOST_TEST(info.code == 3);
    BOOST_TEST(contains(info.errors, "cifar-10-binary.tar.gz"));
    fs::remove_all(out);
}

BOOST_AUTO_TEST_CASE(config_json_of_a_run_round_trips_through_config) {
    fs::path out = fresh_path("round_trip");
    fs::create_directories(out);
    const outcome printed = run({"hypertrain", "--dataset", "MNIST", "--n_lrs", "5", "--learn_wd", "no",
                                 "--n_inner_epochs_per_outer_steps", "2", "3", "--print_config"});
    BOOST_REQUIRE_MESSAGE(printed.code == 0, printed.errors);
    std::ofstream(out / "config.json") << printed.output;
    // the printed config, given back with --config, is the same experiment
    const outcome again = run({"hypertrain", "--config", (out / "config.json").string(), "--print_config"});
    BOOST_TEST(again.code == 0, again.errors);
    BOOST_TEST(json::parse(again.output) == json::parse(printed.output));
    json settings = json::parse(std::ifstream(out / "config.json"))["settings"];
    BOOST_TEST(settings["n_lrs"] == 5);
    BOOST_TEST(settings["learn_wd"] == false);
    BOOST_TEST((settings["n_inner_epochs_per_outer_steps"] == json{2, 3}));
    BOOST_TEST(settings["retrain_n_epochs"] == 50);  // the reference's default, resolved
    BOOST_TEST(settings.size() == setting_options().size());
    fs::remove_all(out);
}

BOOST_AUTO_TEST_CASE(without_dataset_the_embedded_default_applies) {
    fs::path out = fresh_path("embedded");
    const outcome printed = run({"hypertrain", "--print_config", "--out", out.string()});
    BOOST_REQUIRE_MESSAGE(printed.code == 0, printed.errors);
    BOOST_TEST(!fs::exists(out));  // printing claims nothing
    json settings = json::parse(printed.output)["settings"];
    BOOST_TEST(settings["dataset"] == "FashionMNIST");
    BOOST_TEST(settings["architecture"] == "MLP");
    BOOST_TEST(settings["n_lrs"] == 7);
    BOOST_TEST(settings["n_moms"] == 1);
    BOOST_TEST(settings["n_wds"] == 1);
    BOOST_TEST(settings["outer_optimizer"] == "rprop");
    BOOST_TEST(settings["retrain_schedule"] == "best");
    fs::remove_all(out);
}

BOOST_AUTO_TEST_CASE(info_prints_the_dataset_summary) {
    fs::path directory = testing::write_fashion_mnist_subset(fresh_path("info_data"), 300, 100);
    outcome result = run({"info", "--dataset", "FashionMNIST", "--datasets_path", directory.string()});
    BOOST_TEST(result.code == 0, result.errors);
    json summary = json::parse(result.output);
    BOOST_TEST(summary["train"]["images"] == 300);
    BOOST_TEST(summary["test"]["images"] == 100);
    BOOST_TEST(summary["classes"] == 10);
    fs::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(train_refuses_a_bad_schedule_file) {
    fs::path schedule = fresh_path("schedule.json");
    std::ofstream(schedule) << R"({"lr": [0.1], "mom": [0.9]})";
    outcome result = run({"train", "--schedule", schedule.string()});
    BOOST_TEST(result.code == 2);
    BOOST_TEST(contains(result.errors, "\"wd\""));
    BOOST_TEST(run({"train"}).code == 2);
    BOOST_TEST(contains(run({"train", "--schedule", "/nonexistent.json"}).errors, "no such file"));
    // refused before any data is read: values outside the ranges, empty lists, unknown keys
    const std::pair<const char*, const char*> bad[] = {
        {R"({"lr": [0.1, -0.01], "mom": [0.9], "wd": [0]})", "\"lr\"[1] = -0.010000 is outside [0.000000, inf]"},
        {R"({"lr": [0.1], "mom": [1.0], "wd": [0]})", "\"mom\"[0] = 1.000000 is outside"},
        {R"({"lr": [], "mom": [0.9], "wd": [0]})", "\"lr\" must hold 1 to 1000000 values, found 0"},
        {R"({"lr": [0.1], "mom": [0.9], "wd": [0], "momentum": [0.5]})", "unknown key \"momentum\""}};
    for (const auto& [text, message] : bad) {
        std::ofstream(schedule) << text;
        const outcome refused = run({"train", "--schedule", schedule.string(), "--datasets_path", "/nonexistent"});
        BOOST_TEST(refused.code == 2);
        BOOST_TEST(contains(refused.errors, message));
    }
    BOOST_TEST(run({"hypertrain", "--out", ""}).code == 2);
    fs::remove(schedule);
}

BOOST_AUTO_TEST_CASE(train_with_a_schedule_reports_test_accuracy) {
    fs::path directory = testing::write_fashion_mnist_subset(fresh_path("train_data"), 1024, 500);
    fs::path schedule = fresh_path("train_schedule.json");
    fs::path result_file = fresh_path("train_result.json");
    std::ofstream(schedule) << R"({"lr": [0.1, 0.05], "mom": [0.9], "wd": [0.0005]})";
    outcome result = run({"train", "--schedule", schedule.string(), "--dataset", "FashionMNIST", "--datasets_path",
                          directory.string(), "--architecture", "MLP", "--retrain_n_epochs", "2", "--train_batch_size",
                          "128", "--out", result_file.string()});
    BOOST_TEST(result.code == 0, result.errors);
    BOOST_TEST(contains(result.output, "test accuracy after 2 epochs"));
    json report = json::parse(std::ifstream(result_file));
    BOOST_TEST(report["epoch_test_acc"].size() == 2u);
    BOOST_TEST(report["settings"]["n_lrs"] == 2);  // bucket counts follow the schedule
    BOOST_TEST(report["test_acc"].get<double>() > 0.62);  // measured 0.672 (Intel Xeon); chance is 0.1
    fs::remove_all(directory);
    fs::remove(schedule);
    fs::remove(result_file);
}

BOOST_AUTO_TEST_CASE(train_with_a_hand_schedule_runs_it_over_every_step) {
    fs::path directory = testing::write_fashion_mnist_subset(fresh_path("hand_data"), 1024, 500);
    fs::path result_file = fresh_path("hand_result.json");
    outcome result = run({"train", "--lr_schedule", "cosine", "--lr", "0.05", "--dataset", "FashionMNIST",
                          "--datasets_path", directory.string(), "--architecture", "MLP", "--retrain_n_epochs", "2",
                          "--train_batch_size", "128", "--out", result_file.string()});
    BOOST_TEST(result.code == 0, result.errors);
    json report = json::parse(std::ifstream(result_file));
    BOOST_TEST(report["schedule"]["shape"] == "cosine");
    BOOST_TEST(report["schedule"]["lr"] == 0.05);
    BOOST_TEST(report["schedule"]["mom"] == 0.9);
    BOOST_TEST(report["settings"]["n_lrs"] == 2 * (1024 / 128));  // one bucket per step
    BOOST_TEST(report["test_acc"].get<double>() > 0.68);  // measured 0.732 (Intel Xeon)
    outcome typo = run({"train", "--lr_schedule", "cosin", "--datasets_path", directory.string()});
    BOOST_TEST(typo.code == 2);
    BOOST_TEST(contains(typo.errors, "did you mean 'cosine'"));
    outcome both = run({"train", "--lr_schedule", "cosine", "--schedule", result_file.string()});
    BOOST_TEST(both.code == 2);
    BOOST_TEST(run({"train", "--lr", "-1"}).code == 2);
    fs::remove_all(directory);
    fs::remove(result_file);
}

BOOST_AUTO_TEST_CASE(search_resumes_without_losing_or_repeating_a_trial) {
    fs::path directory = testing::write_fashion_mnist_subset(fresh_path("search_data"), 1024, 500);
    fs::path out = fresh_path("search_run");
    const std::vector<std::string> arguments = {"search",
                                                "--search_method",
                                                "random",
                                                "--search_trials",
                                                "3",
                                                "--search_max_epochs",
                                                "1",
                                                "--dataset",
                                                "FashionMNIST",
                                                "--datasets_path",
                                                directory.string(),
                                                "--architecture",
                                                "MLP",
                                                "--train_batch_size",
                                                "128",
                                                "--val_batch_size",
                                                "100",
                                                "--val_train_fraction",
                                                "0.2",
                                                "--retrain_n_epochs",
                                                "1",
                                                "--search_lr_max",
                                                "0.3",
                                                "--out",
                                                out.string()};
    outcome first = run(arguments);
    BOOST_REQUIRE(first.code == 0);
    auto lines_of = [](const fs::path& file) {
        std::vector<std::string> lines;
        std::ifstream stream(file);
        for (std::string line; std::getline(stream, line);) lines.push_back(line);
        return lines;
    };
    const std::vector<std::string> complete = lines_of(out / "trials.jsonl");
    BOOST_REQUIRE(complete.size() == 3u);
    const json summary = json::parse(std::ifstream(out / "summary.json"));
    BOOST_TEST(summary["trials"] == 3);
    BOOST_TEST(summary["trainings"] == 3.0);
    for (const std::string& line : complete) {
        const json trial = json::parse(line);
        BOOST_TEST(trial["schedule"]["lr"].size() == 7u);
        for (const json& lr : trial["schedule"]["lr"])
            BOOST_TEST((lr.get<double>() >= 1e-3 && lr.get<double>() <= 0.3));
    }

    // as if killed during the third trial, with its line torn
    fs::remove(out / "summary.json");
    {
        std::ofstream rewrite(out / "trials.jsonl", std::ios::trunc);
        rewrite << complete[0] << "\n" << complete[1] << "\n" << complete[2].substr(0, 20);
    }
    outcome resumed = run(arguments);
    BOOST_REQUIRE(resumed.code == 0);
    BOOST_TEST(contains(resumed.output, "2 trials done"));
    const std::vector<std::string> after = lines_of(out / "trials.jsonl");
    BOOST_REQUIRE(after.size() == 3u);  // the torn line was dropped, the trial run again
    BOOST_TEST(after[0] == complete[0]);
    BOOST_TEST(after[1] == complete[1]);
    const json rerun = json::parse(after[2]);
    BOOST_TEST(rerun["trial"] == 2);
    BOOST_TEST(rerun["schedule"] == json::parse(complete[2])["schedule"]);
    BOOST_TEST(rerun["val_acc"] == json::parse(complete[2])["val_acc"]);  // the same trial, the same result
    const json resumed_summary = json::parse(std::ifstream(out / "summary.json"));
    BOOST_TEST(resumed_summary["best"] == summary["best"]);
    BOOST_TEST(resumed_summary["retrain_test_acc"] == summary["retrain_test_acc"]);
    fs::remove_all(directory);
    fs::remove_all(out);
}

namespace {

std::vector<std::string> subset_options(const fs::path& data) {
    return {"--dataset",
            "FashionMNIST",
            "--datasets_path",
            data.string(),
            "--architecture",
            "MLP",
            "--train_batch_size",
            "128",
            "--val_batch_size",
            "100",
            "--val_train_fraction",
            "0.2",
            "--retrain_n_epochs",
            "1",
            "--n_inner_epochs_per_outer_steps",
            "1",
            "1"};
}

std::vector<json> json_lines(const fs::path& file) {
    std::vector<json> lines;
    std::ifstream stream(file);
    for (std::string line; std::getline(stream, line);) lines.push_back(json::parse(line));
    return lines;
}

}  // namespace

BOOST_AUTO_TEST_CASE(train_on_validation_is_the_search_trial_with_its_accuracy_after_every_epoch) {
    fs::path directory = testing::write_fashion_mnist_subset(fresh_path("trial_data"), 1024, 300);
    fs::path out = fresh_path("trial_search");
    const std::vector<std::string> setup = {
        "--dataset",        "FashionMNIST", "--datasets_path",      directory.string(),
        "--architecture",   "MLP",          "--train_batch_size",   "64",
        "--val_batch_size", "100",          "--val_train_fraction", "0.2"};
    std::vector<std::string> search = {
        "search", "--search_method",    "random", "--search_trials", "3",         "--search_max_epochs",
        "2",      "--retrain_n_epochs", "1",      "--out",           out.string()};
    search.insert(search.end(), setup.begin(), setup.end());
    BOOST_REQUIRE(run(search).code == 0);
    std::ifstream trials(out / "trials.jsonl");
    std::string line;
    for (int i = 0; i < 3; ++i) std::getline(trials, line);
    const json trial = json::parse(line);
    BOOST_REQUIRE(trial["trial"] == 2);
    const fs::path schedule = out.string() + "_schedule.json";
    std::ofstream(schedule) << trial["schedule"].dump();

    const fs::path epoch_log = out.string() + "_epochs.jsonl";
    std::vector<std::string> train = {"train",
                                      "--schedule",
                                      schedule.string(),
                                      "--evaluate_on",
                                      "validation",
                                      "--trial_id",
                                      "2",
                                      "--retrain_n_epochs",
                                      "2",
                                      "--epoch_log",
                                      epoch_log.string(),
                                      "--json"};
    train.insert(train.end(), setup.begin(), setup.end());
    const outcome trained = run(train);
    BOOST_REQUIRE(trained.code == 0);
    const json report = json::parse(trained.output);
    // the same trial as the search's, to the bit: its weights, batches and held-out images
    BOOST_TEST(report["val_acc"].get<double>() == trial["val_acc"].get<double>());
    BOOST_TEST(report["test_acc"].get<double>() == trial["test_acc"].get<double>());
    BOOST_TEST(report["steps"] == trial["steps"]);
    BOOST_TEST(report["evaluate_on"] == "validation");
    std::vector<json> epochs;
    std::ifstream log(epoch_log);
    for (std::string record; std::getline(log, record);) epochs.push_back(json::parse(record));
    BOOST_REQUIRE(epochs.size() == 2u);
    BOOST_TEST(epochs[0]["epoch"] == 1);
    BOOST_TEST(epochs[1]["epoch"] == 2);
    BOOST_TEST(epochs[1]["val_acc"].get<double>() == report["val_acc"].get<double>());
    BOOST_TEST(report["epoch_val_acc"] == json::array({epochs[0]["val_acc"], epochs[1]["val_acc"]}));
    BOOST_TEST(contains(trained.errors, "epoch 1: validation accuracy"));

    // the trial's options need the validation mode, and the mode is one of two words
    std::vector<std::string> without_mode = {"train", "--schedule", schedule.string(), "--epoch_log",
                                             epoch_log.string()};
    without_mode.insert(without_mode.end(), setup.begin(), setup.end());
    const outcome refused = run(without_mode);
    BOOST_TEST(refused.code == 2);
    BOOST_TEST(contains(refused.errors, "--epoch_log needs --evaluate_on validation"));
    const outcome bad_mode = run({"train", "--schedule", schedule.string(), "--evaluate_on", "val"});
    BOOST_TEST(bad_mode.code == 2);
    BOOST_TEST(contains(bad_mode.errors, "--evaluate_on must be test or validation, found 'val'"));
    const outcome bad_id =
        run({"train", "--schedule", schedule.string(), "--evaluate_on", "validation", "--trial_id", "-1"});
    BOOST_TEST(bad_id.code == 2);
    BOOST_TEST(contains(bad_id.errors, "--trial_id must be an integer >= 0"));
    fs::remove_all(directory);
    fs::remove_all(out);
    fs::remove(schedule);
    fs::remove(epoch_log);
}

BOOST_AUTO_TEST_CASE(greedy_hypertrain_leaves_one_history_line_per_segment_and_a_retrained_summary) {
    fs::path data = testing::write_fashion_mnist_subset(fresh_path("greedy_data"), 1024, 500);
    fs::path out = fresh_path("greedy_run");
    std::vector<std::string> arguments = {"hypertrain", "--method", "greedy",    "--greedy_horizon",
                                          "2",          "--out",    out.string()};
    for (const std::string& word : subset_options(data)) arguments.push_back(word);
    const outcome first = run(arguments);
    BOOST_REQUIRE_MESSAGE(first.code == 0, first.errors);
    const std::vector<json> history = json_lines(out / "history.jsonl");
    const json summary = json::parse(std::ifstream(out / "summary.json"));
    // 819 training images of 1024 -> 6 batches of 128 per epoch, one epoch: 3 segments of 2 steps
    BOOST_REQUIRE(history.size() == 3u);
    for (std::size_t s = 0; s < history.size(); ++s) {
        BOOST_TEST(history[s]["segment"] == s);
        BOOST_TEST(history[s]["first_step"] == 2 * s);
        BOOST_TEST(history[s]["steps"] == 2);
        BOOST_TEST(history[s]["lr"] == summary["final"]["lr"][s]);
        BOOST_TEST(history[s]["hypergrad"].contains("lr"));
    }
    BOOST_TEST(history[0]["lr"] == 0.05);
    BOOST_TEST(history[1]["lr"] != history[0]["lr"]);
    BOOST_TEST(summary["method"] == "greedy");
    BOOST_TEST(summary["retrain"]["values"] == summary["final"]);
    BOOST_TEST(summary["retrain_test_acc"].get<double>() > 0.60);  // measured 0.656 (Intel Xeon)
    BOOST_TEST(fs::exists(out / "schedules.gp"));
    const outcome again = run(arguments);  // finished: the summary, no second run
    BOOST_TEST(again.code == 0);
    BOOST_TEST(contains(again.output, "holds a finished run"));
    fs::remove_all(data);
    fs::remove_all(out);
}

BOOST_AUTO_TEST_CASE(hand_search_trains_the_three_cosine_schedules_over_every_step) {
    fs::path data = testing::write_fashion_mnist_subset(fresh_path("hand_data"), 1024, 500);
    fs::path out = fresh_path("hand_run");
    std::vector<std::string> arguments = {"search", "--search_method", "hand", "--out", out.string()};
    for (const std::string& word : subset_options(data)) arguments.push_back(word);
    const outcome result = run(arguments);
    BOOST_REQUIRE_MESSAGE(result.code == 0, result.errors);
    const std::vector<json> trials = json_lines(out / "trials.jsonl");
    BOOST_REQUIRE(trials.size() == 3u);
    const double lr0[] = {0.01, 0.03, 0.1};
    for (std::size_t i = 0; i < 3; ++i) {
        const json& schedule = trials[i]["schedule"];
        BOOST_TEST(trials[i]["steps"] == 6);
        BOOST_REQUIRE(schedule["lr"].size() == 6u);  // one bucket per step
        BOOST_TEST(schedule["lr"][0].get<double>() == lr0[i]);
        BOOST_TEST(schedule["lr"][3].get<double>() == lr0[i] * 0.5, boost::test_tools::tolerance(1e-12));  // cos(pi/2)
        BOOST_TEST(schedule["mom"] == json::array({0.9}));
        BOOST_TEST(schedule["wd"] == json::array({5e-4}));
    }
    fs::remove_all(data);
    fs::remove_all(out);
}

BOOST_AUTO_TEST_CASE(compare_writes_every_run_and_resumes_without_rerunning_the_finished_ones) {
    fs::path data = testing::write_fashion_mnist_subset(fresh_path("compare_data"), 1024, 500);
    fs::path out = fresh_path("compare_run");
    std::vector<std::string> arguments = {"compare",
                                          "--methods",
                                          "hand,greedy,fds,random,random_at_fds_time",
                                          "--seeds",
                                          "2",
                                          "--search_trials",
                                          "2",
                                          "--search_lr_max",
                                          "0.3",
                                          "--out",
                                          out.string()};
    for (const std::string& word : subset_options(data)) arguments.push_back(word);
    const outcome first = run(arguments);
    BOOST_REQUIRE_MESSAGE(first.code == 0, first.errors + first.output);
    const json comparison = json::parse(std::ifstream(out / "compare.json"));
    BOOST_TEST(comparison["format"] == "fds-compare");
    BOOST_TEST(comparison["setup"]["seeds"] == json::array({0, 1}));
    BOOST_REQUIRE(comparison["runs"].size() == 10u);
    for (const json& method_run : comparison["runs"]) {
        for (const char* key : {"method", "seed", "seconds", "final_test_acc", "trainings"})
            BOOST_TEST(method_run["final"].contains(key), key);
        BOOST_TEST(!method_run["curve"].empty());
        double previous_seconds = 0.0, previous_val = 0.0;
        for (const json& point : method_run["curve"]) {  // best so far: never worse, time goes on
            BOOST_TEST(point["seconds"].get<double>() >= previous_seconds);
            BOOST_TEST(point["val_acc"].get<double>() >= previous_val);
            previous_seconds = point["seconds"].get<double>();
            previous_val = point["val_acc"].get<double>();
        }
        // each final test accuracy is that run's own retraining
        const json summary = json::parse(
            std::ifstream(out / "runs" / (method_run["method"].get<std::string>() + "_S" + method_run["seed"].dump()) /
                          "summary.json"));
        BOOST_TEST(method_run["final"]["final_test_acc"] == summary["retrain_test_acc"]);
    }
    BOOST_TEST(comparison["runs"][0]["final"]["trainings"] == 3.0);  // hand: three full trainings
    BOOST_TEST(comparison["runs"][2]["final"]["trainings"] == 2.0);  // fds: two 1-epoch outer steps
    BOOST_REQUIRE(comparison["table"].size() == 5u);
    for (std::size_t seed = 0; seed < 2; ++seed) {  // random search given FDS's time: no trial started after it
        const json& fds_run = comparison["runs"][5 * seed + 2];
        const json& timed = comparison["runs"][5 * seed + 4];
        BOOST_TEST(timed["method"] == "random_at_fds_time");
        const double fds_seconds = fds_run["final"]["seconds"].get<double>();
        const json& curve = timed["curve"];
        BOOST_TEST(curve.size() >= 1u);
        if (curve.size() > 1) BOOST_TEST(curve[curve.size() - 2]["seconds"].get<double>() < fds_seconds);
    }
    BOOST_TEST(comparison["table"][2]["method"] == "fds");
    BOOST_TEST(comparison["table"][2]["seeds"] == 2);
    std::ifstream markdown(out / "compare.md");
    const std::string table((std::istreambuf_iterator<char>(markdown)), std::istreambuf_iterator<char>());
    BOOST_TEST(contains(table, "| method | wall time (s) | trainings | final test acc (%)"));
    BOOST_TEST(fs::exists(out / "compare.gp"));

    // as if stopped while the last run (random, seed 1) was searching: the others are only read back
    const auto kept_time = fs::last_write_time(out / "runs" / "fds_S0" / "summary.json");
    fs::remove(out / "runs" / "random_S1" / "summary.json");
    fs::remove(out / "compare.json");
    const outcome resumed = run(arguments);
    BOOST_REQUIRE_MESSAGE(resumed.code == 0, resumed.errors + resumed.output);
    BOOST_TEST((fs::last_write_time(out / "runs" / "fds_S0" / "summary.json") == kept_time));
    const json again = json::parse(std::ifstream(out / "compare.json"));
    BOOST_REQUIRE(again["runs"].size() == comparison["runs"].size());
    for (std::size_t i = 0; i < again["runs"].size(); ++i) {  // the repeated run read its trials back: the same result
        BOOST_TEST(again["runs"][i]["curve"] == comparison["runs"][i]["curve"]);
        BOOST_TEST(again["runs"][i]["final"]["final_test_acc"] == comparison["runs"][i]["final"]["final_test_acc"]);
        BOOST_TEST(again["runs"][i]["final"]["seconds"] == comparison["runs"][i]["final"]["seconds"]);
    }

    std::vector<std::string> misordered = arguments;
    misordered[2] = "random_at_fds_time,fds";
    BOOST_TEST(run(misordered).code == 2);
    std::vector<std::string> unknown = arguments;
    unknown[2] = "hand,bohb";
    const outcome refused = run(unknown);
    BOOST_TEST(refused.code == 2);
    BOOST_TEST(contains(refused.errors, "bohb"));
    fs::remove_all(data);
    fs::remove_all(out);
}

BOOST_AUTO_TEST_CASE(a_retraining_that_diverges_goes_on_to_the_next_candidate_and_says_so) {
    fs::path data = testing::write_fashion_mnist_subset(fresh_path("fallback_data"), 512, 200);
    fds::hypertrain_settings settings;
    settings.dataset = "FashionMNIST";
    settings.datasets_path = data.string();
    settings.architecture = "MLP";
    settings.train_batch_size = 128;
    settings.val_batch_size = 100;
    settings.retrain_n_epochs = 1;
    const fds::data::dataset dataset = fds::data::load_dataset("FashionMNIST", data.string());
    const std::vector<retrain_candidate> candidates = {{{{1e30}, {0.9}, {5e-4}}, "unstable"},
                                                       {{{0.05}, {0.9}, {5e-4}}, "stable"}};
    std::ostringstream messages;
    progress_reporter reporter(messages, false, {});
    const json retrained = retrain_and_summarize(settings, dataset, candidates, reporter, {});
    BOOST_TEST(retrained["schedule"] == "stable");
    BOOST_TEST(retrained["diverged"] == false);
    BOOST_TEST(retrained["test_acc"].get<double>() > 0.40);  // measured 0.46 (Intel Xeon)
    BOOST_REQUIRE(retrained["attempts"].size() == 2u);
    BOOST_TEST(retrained["attempts"][0]["schedule"] == "unstable");
    BOOST_TEST(retrained["attempts"][0]["diverged"] == true);
    BOOST_TEST(retrained["seconds"].get<double>() >= retrained["attempts"][1]["seconds"].get<double>());
    BOOST_TEST(contains(messages.str(), "trying the next candidate"));

    settings.retrain_attempts = 1;  // the reference's single retraining
    const json single = retrain_and_summarize(settings, dataset, candidates, reporter, {});
    BOOST_TEST(single["schedule"] == "unstable");
    BOOST_TEST(single["diverged"] == true);
    BOOST_TEST(single["test_acc"] == 0.0);
    BOOST_TEST(single["attempts"].size() == 1u);
    fs::remove_all(data);
}

BOOST_AUTO_TEST_CASE(noise_writes_every_window_and_resumes_after_the_last_finished_run) {
    fs::path data = testing::write_fashion_mnist_subset(fresh_path("noise_data"), 1024, 100);
    fs::path out = fresh_path("noise_run");
    const std::vector<std::string> arguments = {"noise",
                                                "--dataset",
                                                "FashionMNIST",
                                                "--datasets_path",
                                                data.string(),
                                                "--architecture",
                                                "MLP",
                                                "--train_batch_size",
                                                "128",
                                                "--val_batch_size",
                                                "100",
                                                "--val_train_fraction",
                                                "0.2",
                                                "--noise_runs",
                                                "3",
                                                "--noise_steps",
                                                "8",
                                                "--out",
                                                out.string()};
    const outcome first = run(arguments);
    BOOST_REQUIRE_MESSAGE(first.code == 0, first.errors + first.output);
    const std::vector<json> history = json_lines(out / "history.jsonl");
    BOOST_REQUIRE(history.size() == 3u);
    for (std::size_t r = 0; r < history.size(); ++r) {
        BOOST_TEST(history[r]["run"] == r);
        BOOST_TEST(history[r]["hypergradient"].size() == 8u);
        BOOST_TEST(history[r]["greedy"].size() == 8u);
    }
    const json noise = json::parse(std::ifstream(out / "noise.json"));
    BOOST_TEST(noise["format"] == "fds-noise");
    BOOST_TEST(noise["runs"] == 3);
    BOOST_TEST(noise["steps"] == 8);
    std::vector<std::size_t> windows;
    for (const json& window : noise["windows"]) windows.push_back(window["window"].get<std::size_t>());
    BOOST_TEST(windows == (std::vector<std::size_t>{1, 2, 5, 8}));
    BOOST_TEST(noise["windows"][0]["mse"] == noise["mse_per_step"]);
    BOOST_TEST(noise.contains("greedy"));
    BOOST_TEST(fs::exists(out / "noise.gp"));
    BOOST_TEST(contains(first.output, "| W | MSE_W / signal"));

    // a stop after two runs: the re-run measures the third only and ends with the same figures
    std::ofstream(out / "history.jsonl") << history[0].dump() << "\n" << history[1].dump() << "\n";
    const outcome resumed = run(arguments);
    BOOST_REQUIRE_MESSAGE(resumed.code == 0, resumed.errors);
    BOOST_TEST(contains(resumed.output, "2 done"));
    const json again = json::parse(std::ifstream(out / "noise.json"));
    BOOST_TEST(again["windows"] == noise["windows"]);

    std::vector<std::string> too_long = arguments;
    too_long.insert(too_long.end(), {"--noise_windows", "4", "9"});
    const outcome refused = run(too_long);
    BOOST_TEST(refused.code == 2);
    BOOST_TEST(contains(refused.errors, "--noise_windows: window 9 is longer than the run (--noise_steps 8)"));
    fs::remove_all(data);
    fs::remove_all(out);
}

BOOST_AUTO_TEST_CASE(a_different_experiment_in_the_run_directory_exits_with_code_4) {
    fs::path data = testing::write_fashion_mnist_subset(fresh_path("conflict_data"), 1024, 100);
    fs::path out = fresh_path("conflict");
    auto hypertrain = [&](std::vector<std::string> extra) {
        std::vector<std::string> arguments = {
            "hypertrain", "--out", out.string(), "--stop_after_outer_steps", "1", "--retrain_from_scratch", "false"};
        for (const std::string& word : subset_options(data)) arguments.push_back(word);
        for (const std::string& word : extra) arguments.push_back(word);
        return run(arguments);
    };
    const outcome first = hypertrain({});
    BOOST_REQUIRE_MESSAGE(first.code == 0, first.errors);
    json config = json::parse(std::ifstream(out / "config.json"));
    BOOST_TEST(config["settings"]["dataset"] == "FashionMNIST");
    BOOST_TEST(config["program"] == "fds");
    BOOST_TEST(config.contains("version"));
    BOOST_TEST(config["seed"] == 0);
    outcome conflict = hypertrain({"--n_lrs", "3", "--seed", "4"});
    BOOST_TEST(conflict.code == 4);
    BOOST_TEST(contains(conflict.errors, "n_lrs: 7 -> 3"));
    BOOST_TEST(contains(conflict.errors, "seed: 0 -> 4"));
    // --threads does not change results, nor does a trailing slash on the data's directory
    const outcome resumed = hypertrain({"--threads", "1", "--datasets_path", data.string() + "/"});
    BOOST_TEST(resumed.code == 0);
    BOOST_TEST(contains(resumed.output, "resuming"));
    fs::remove_all(data);
    fs::remove_all(out);
}

BOOST_AUTO_TEST_CASE(broken_run_files_exit_1_and_a_corrupt_dataset_exits_3_naming_the_file) {
    const fs::path data = testing::write_fashion_mnist_subset(fresh_path("broken_data"), 600, 200);
    const fs::path out = fresh_path("broken_run");
    const std::vector<std::string> arguments = {"hypertrain",
                                                "--dataset",
                                                "FashionMNIST",
                                                "--datasets_path",
                                                data.string(),
                                                "--architecture",
                                                "MLP",
                                                "--n_inner_epochs_per_outer_steps",
                                                "1",
                                                "1",
                                                "1",
                                                "--retrain_n_epochs",
                                                "1",
                                                "--val_train_fraction",
                                                "0.2",
                                                "--out",
                                                out.string()};
    std::vector<std::string> first_step = arguments;
    first_step.insert(first_step.end(), {"--stop_after_outer_steps", "1"});
    BOOST_REQUIRE(run(first_step).code == 0);
    const std::string checkpoint = read_text(out / "checkpoint.json"), history = read_text(out / "history.jsonl");
    auto expect_refusal = [&](const std::string& what, const std::string& message) {
        BOOST_TEST_CONTEXT(what) {
            const outcome refused = run(arguments);
            BOOST_TEST(refused.code == 1);
            BOOST_TEST(contains(refused.errors, message));
        }
        std::ofstream(out / "checkpoint.json") << checkpoint;
        std::ofstream(out / "history.jsonl") << history;
    };
    std::ofstream(out / "checkpoint.json") << "{garbage";
    expect_refusal("unreadable checkpoint", (out / "checkpoint.json").string() + " is not valid JSON");
    json mismatched = json::parse(checkpoint);
    mismatched["trainer"]["current"]["lr"] = json::array({0.1});
    std::ofstream(out / "checkpoint.json") << mismatched.dump();
    expect_refusal("checkpoint of other buckets", "key \"current.lr\" has 1 buckets, the settings ask for 7");
    std::ofstream(out / "history.jsonl") << "{\"broken\": 1\n" << history;
    expect_refusal("bad history line", (out / "history.jsonl").string() + " line 1 is not valid JSON");
    // with the files repaired, the run goes on to its end
    BOOST_TEST(run(arguments).code == 0);

    const fs::path corrupt = fresh_path("corrupt_data");
    fs::create_directories(corrupt);
    for (const auto& entry : fs::directory_iterator(data))
        fs::copy_file(entry.path(), corrupt / entry.path().filename());
    fs::resize_file(corrupt / "train-images-idx3-ubyte", 5000);
    const outcome truncated = run({"train", "--dataset", "FashionMNIST", "--datasets_path", corrupt.string(),
                                   "--architecture", "MLP", "--lr_schedule", "cosine"});
    BOOST_TEST(truncated.code == 3);
    BOOST_TEST(contains(truncated.errors, "train-images-idx3-ubyte"));
    for (const fs::path& path : {data, out, corrupt}) fs::remove_all(path);
}

BOOST_AUTO_TEST_CASE(a_start_that_fails_its_checks_claims_no_run_directory) {
    fs::path data = testing::write_fashion_mnist_subset(fresh_path("claim_data"), 1024, 100);
    fs::path out = fresh_path("claim");
    auto with = [&](const std::string& command, std::vector<std::string> extra) {
        std::vector<std::string> arguments = {command,       "--out",          out.string(),
                                              "--dataset",   "FashionMNIST",   "--datasets_path",
                                              data.string(), "--architecture", "MLP"};
        for (const std::string& word : extra) arguments.push_back(word);
        return run(arguments);
    };
    const outcome huge_batch = with("hypertrain", {"--train_batch_size", "2000000000"});
    BOOST_TEST(huge_batch.code == 2);
    BOOST_TEST(contains(huge_batch.errors, "train_batch_size: 2000000000 does not fit"));
    const outcome tiny_split = with("hypertrain", {"--val_train_fraction", "0.00001"});
    BOOST_TEST(tiny_split.code == 2);
    BOOST_TEST(contains(tiny_split.errors, "holds no validation image"));
    const outcome wrong_model = with("hypertrain", {"--architecture", "WRN-16-1"});
    BOOST_TEST(wrong_model.code == 2);
    BOOST_TEST(contains(wrong_model.errors, "expected 32x32 images"));
    for (const std::string command : {"search", "noise"})
        BOOST_TEST(with(command, {"--train_batch_size", "2000000000"}).code == 2);
    const outcome greedy = with("hypertrain", {"--method", "hd", "--val_train_fraction", "0.00001"});
    BOOST_TEST(greedy.code == 2);
    const outcome missing = run({"hypertrain", "--out", out.string(), "--dataset", "FashionMNIST", "--datasets_path",
                                 (data / "nowhere").string(), "--architecture", "MLP"});
    BOOST_TEST(missing.code == 3);
    BOOST_TEST(!fs::exists(out));  // nothing claimed: the corrected command starts afresh
    const outcome buckets = with("hypertrain", {"--n_lrs", "2000000000"});
    BOOST_TEST(buckets.code == 2);
    BOOST_TEST(contains(buckets.errors, "--n_lrs must be an integer in [1, 1e+06]"));
    fs::remove_all(data);
}

BOOST_AUTO_TEST_CASE(train_checks_its_output_file_and_model_before_training) {
    fs::path data = testing::write_fashion_mnist_subset(fresh_path("train_checks_data"), 1024, 100);
    const std::vector<std::string> common = {
        "train",       "--lr_schedule",      "cosine", "--lr", "0.05", "--dataset", "FashionMNIST", "--datasets_path",
        data.string(), "--retrain_n_epochs", "1"};
    std::vector<std::string> unwritable = common;
    unwritable.insert(unwritable.end(),
                      {"--architecture", "MLP", "--out", (data / "missing" / "result.json").string()});
    const outcome missing_directory = run(unwritable);
    BOOST_TEST(missing_directory.code == 2);
    BOOST_TEST(contains(missing_directory.errors, "does not exist"));
    BOOST_TEST(!contains(missing_directory.output, "test accuracy"));
    std::vector<std::string> directory_out = common;
    directory_out.insert(directory_out.end(), {"--architecture", "MLP", "--out", data.string()});
    BOOST_TEST(run(directory_out).code == 2);
    const outcome default_model = run(common);  // WRN-16-1, the reference's default, needs 32x32 images
    BOOST_TEST(default_model.code == 2);
    BOOST_TEST(contains(default_model.errors, "expected 32x32 images"));
    fs::remove_all(data);
}

BOOST_AUTO_TEST_CASE(more_threads_than_usable_cpus_are_capped_with_a_note) {
    const std::size_t usable = usable_cpu_count();
    BOOST_TEST(usable >= 1u);
    BOOST_TEST(usable <= std::max(1u, std::thread::hardware_concurrency()));
    const outcome result = run({"noise", "--threads", "1000", "--dataset", "MNIST", "--datasets_path", "/nonexistent"});
    BOOST_TEST(result.code == 3);  // the note comes before the data are read
    BOOST_TEST(contains(result.errors, "--threads 1000 is more than the " + std::to_string(usable) +
                                           " CPUs this process may use; running " + std::to_string(usable) +
                                           " threads"));
}

BOOST_AUTO_TEST_CASE(json_output_is_one_document_on_stdout_with_everything_else_on_stderr) {
    fs::path data = testing::write_fashion_mnist_subset(fresh_path("json_data"), 1024, 100);
    fs::path out = fresh_path("json_noise");
    const outcome trained =
        run({"train", "--json", "--lr_schedule", "cosine", "--lr", "0.05", "--dataset", "FashionMNIST",
             "--datasets_path", data.string(), "--architecture", "MLP", "--retrain_n_epochs", "1"});
    BOOST_REQUIRE_MESSAGE(trained.code == 0, trained.errors);
    const json report = json::parse(trained.output);  // throws unless stdout is exactly one document
    BOOST_TEST(report["command"] == "train");
    BOOST_TEST(report["test_acc"].get<double>() > 0.52);  // measured 0.57 (Intel Xeon)
    BOOST_TEST(contains(trained.errors, "test accuracy after 1 epoch"));
    const outcome measured = run({"noise", "--json", "--dataset", "FashionMNIST", "--datasets_path", data.string(),
                                  "--architecture", "MLP", "--train_batch_size", "128", "--val_batch_size", "100",
                                  "--noise_runs", "2", "--noise_steps", "4", "--out", out.string()});
    BOOST_REQUIRE_MESSAGE(measured.code == 0, measured.errors);
    const json noise = json::parse(measured.output);
    BOOST_TEST(noise["format"] == "fds-noise");
    BOOST_TEST(noise["run_directory"] == out.string());
    BOOST_TEST(contains(measured.errors, "run 2/2 done"));
    fs::remove_all(data);
    fs::remove_all(out);
}

namespace {

// The flags of polo5/FDS scripts/paper_figure1.sh and paper_figure4.sh, as they are there.
std::vector<std::string> reference_script_flags(bool figure4, const std::string& datasets, const std::string& logs) {
    return {"--learn_lr",
            "True",
            "--learn_mom",
            "True",
            "--learn_wd",
            "True",
            "--n_lrs",
            figure4 ? "5" : "7",
            "--n_moms",
            "1",
            "--n_wds",
            "1",
            "--dataset",
            "CIFAR10",
            "--n_inner_epochs_per_outer_steps",
            "1",
            "10",
            "10",
            "10",
            "10",
            "10",
            "10",
            "10",
            "10",
            "10",
            "--pruning_mode",
            "alternate",
            "--pruning_ratio",
            "0.0",
            "--architecture",
            "WRN-16-1",
            "--init_type",
            "xavier",
            "--init_param",
            "1",
            "--init_norm_weights",
            "1",
            "--inner_lr_init",
            "0.0",
            "--inner_mom_init",
            "0.0",
            "--inner_wd_init",
            "0.0",
            "--train_batch_size",
            "256",
            "--clamp_grads",
            "True",
            "--clamp_grads_range",
            "3",
            "--cutout",
            "False",
            "--cutout_length",
            "16",
            "--cutout_prob",
            "1.0",
            "--val_batch_size",
            "500",
            "--val_train_fraction",
            "0.05",
            "--val_train_overlap",
            "False",
            "--lr_init_step_size",
            "0.1",
            "--mom_init_step_size",
            figure4 ? "0.3" : "0.1",
            "--wd_init_step_size",
            figure4 ? "4e-4" : "3e-4",
            "--lr_step_decay",
            "0.5",
            "--mom_step_decay",
            "0.5",
            "--wd_step_decay",
            "0.5",
            "--clamp_HZ",
            "True",
            "--clamp_HZ_range",
            figure4 ? "100" : "1",
            "--converged_frac",
            "0.05",
            "--retrain_from_scratch",
            "True",
            "--retrain_n_epochs",
            "50",
            "--datasets_path",
            datasets,
            "--log_directory_path",
            logs,
            "--epoch_log_freq",
            figure4 ? "5" : "1",
            "--outer_step_log_freq",
            "1",
            "--seed",
            figure4 ? "1" : "0",
            "--workers",
            "2",
            "--use_gpu",
            "True"};
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_reference_scripts_run_unchanged_with_notes_on_what_does_not_apply) {
    fs::path data = testing::write_fashion_mnist_subset(fresh_path("reference_data"), 1024, 100);
    fs::path logs = fresh_path("reference_logs");
    for (bool figure4 : {false, true}) {
        std::vector<std::string> arguments = {"hypertrain"};
        for (const std::string& word : reference_script_flags(figure4, "/home/me/mydatasets", logs.string()))
            arguments.push_back(word);
        arguments.push_back("--print_config");
        const outcome printed = run(arguments);
        BOOST_REQUIRE_MESSAGE(printed.code == 0, printed.errors);
        const json settings = json::parse(printed.output)["settings"];
        BOOST_TEST(settings["n_lrs"] == (figure4 ? 5 : 7));
        BOOST_TEST(settings["clamp_HZ_range"] == (figure4 ? 100.0 : 1.0));
        BOOST_TEST(settings["outer_optimizer"] == "sign");  // from 0, as the reference
        for (const char* flag :
             {"--use_gpu", "--workers", "--epoch_log_freq", "--outer_step_log_freq", "--log_directory_path"})
            BOOST_TEST(contains(printed.errors, std::string("fds: note: ") + flag));
    }
    // a run with figure 1's flags, its data and budget made small: the run directory goes under the log directory
    std::vector<std::string> arguments = {"hypertrain"};
    for (const std::string& word : reference_script_flags(false, data.string(), logs.string()))
        arguments.push_back(word);
    for (const char* word : {"--dataset", "FashionMNIST", "--architecture", "MLP", "--n_inner_epochs_per_outer_steps",
                             "1", "1", "--retrain_n_epochs", "1", "--val_batch_size", "100"})
        arguments.push_back(word);
    const outcome trained = run(arguments);
    BOOST_REQUIRE_MESSAGE(trained.code == 0, trained.errors);
    BOOST_TEST(fs::exists(logs / "FashionMNIST_MLP_S0" / "summary.json"));
    std::vector<std::string> bad_gpu = {"hypertrain", "--use_gpu", "maybe", "--print_config"};
    BOOST_TEST(run(bad_gpu).code == 2);
    fs::remove_all(data);
    fs::remove_all(logs);
}

namespace {

// A Python with PyTorch and NumPy, or "" (the weights test then checks the files only).
std::string python_with_torch() {
    for (const char* python : {"python3", "/usr/bin/python3"})
        if (std::system((std::string(python) + " -c 'import torch, numpy' > /dev/null 2>&1").c_str()) == 0)
            return python;
    return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_retrained_weights_are_written_as_a_pytorch_state_dict_that_gives_the_same_logits) {
    fs::path data = testing::write_fashion_mnist_subset(fresh_path("weights_data"), 1024, 200);
    fs::path out = fresh_path("weights_run");
    std::vector<std::string> arguments = {"hypertrain", "--out", out.string()};
    for (const std::string& word : subset_options(data)) arguments.push_back(word);
    for (const char* word : {"--architecture", "CNN", "--n_inner_epochs_per_outer_steps", "1"})
        arguments.push_back(word);
    const outcome trained = run(arguments);
    BOOST_REQUIRE_MESSAGE(trained.code == 0, trained.errors);
    const json summary = json::parse(std::ifstream(out / "summary.json"));
    const json listing = json::parse(std::ifstream(out / "weights" / "state_dict.json"));
    BOOST_TEST(listing["architecture"] == "CNN");
    BOOST_TEST(listing["test_acc"] == summary["retrain_test_acc"]);

    // the files hold the retrained model: put together again, it has the summary's test accuracy
    fds::hypertrain_settings settings;
    apply_settings_json(settings, json::parse(std::ifstream(out / "config.json"))["settings"], "config.json");
    const fds::data::dataset dataset = fds::data::load_dataset("FashionMNIST", data.string());
    auto network = fds::make_network<float>(settings, dataset);
    xt::xarray<float> parameters = xt::zeros<float>({network.parameter_count()});
    std::size_t filled = 0, buffers_filled = 0;
    for (const auto& entry : fds::nn::torch_state_dict("CNN", network.parameter_specs())) {
        const xt::xarray<float> tensor = fds::nn::load_npy<float>((out / "weights" / (entry.name + ".npy")).string());
        BOOST_TEST_REQUIRE(std::vector<std::size_t>(tensor.shape().begin(), tensor.shape().end()) ==
                           std::vector<std::size_t>(entry.shape.begin(), entry.shape.end()));
        float* target = entry.buffer ? network.buffers().data() : parameters.data();
        std::copy_n(tensor.data(), tensor.size(), target + entry.offset);
        (entry.buffer ? buffers_filled : filled) += tensor.size();
    }
    BOOST_TEST(filled == network.parameter_count());
    BOOST_TEST(buffers_filled == network.buffers().size());
    const auto test = fds::evaluation_loader(settings, dataset, fds::data::split_part::test, fds::all_indices(200),
                                             fds::stream_seed(settings.seed, fds::seed_stream::test_batches));
    BOOST_TEST(fds::evaluate_loader(network, parameters, test, fds::nn::mode::evaluation).accuracy() ==
               summary["retrain_test_acc"].get<double>());

    const std::string python = python_with_torch();
    if (python.empty()) {
        BOOST_TEST_MESSAGE("no Python with PyTorch: the PyTorch half of the check is skipped");
    } else {
        const auto batch = test.load(0, 0);
        const xt::xarray<float> images = batch.images;
        const xt::xarray<float> logits = network.forward(parameters, images, fds::nn::mode::evaluation, false);
        fds::nn::save_npy((out / "images.npy").string(), images);
        fds::nn::save_npy((out / "logits.npy").string(), logits);
        const std::string command = python + " " + FDS_WEIGHTS_LOADER + " " + out.string() + " " +
                                    (out / "images.npy").string() + " " + (out / "logits.npy").string() + " > " +
                                    (out / "compared.json").string();
        BOOST_TEST(std::system(command.c_str()) == 0, std::ifstream(out / "compared.json").rdbuf());
        const json compared = json::parse(std::ifstream(out / "compared.json"));
        BOOST_TEST(compared["argmax_agreement"] == 1.0);
        BOOST_TEST_MESSAGE("PyTorch logits differ by at most " << compared["max_abs_difference"]);
    }
    fs::remove_all(data);
    fs::remove_all(out);
}
