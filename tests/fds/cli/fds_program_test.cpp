#define BOOST_TEST_MODULE fds_program
#include <boost/test/unit_test.hpp>

// The built `fds` program run as a child process, as a user runs it: end to end on real
// Fashion-MNIST, stopped between outer steps, and killed with SIGKILL at arbitrary moments.

#include <fds/autodiff/random.hpp>
#include <fds/cli/atomic_file.hpp>
#include <fds/cli/history_record.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fashion_subset.hpp"

extern char** environ;

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string program() {
    const char* path = std::getenv("FDS_PROGRAM");
    BOOST_REQUIRE_MESSAGE(path != nullptr, "FDS_PROGRAM (the built fds program) is not set");
    return path;
}

// Everything a test writes lives under one directory per test process, removed at the end.
const fs::path& scratch_root() {
    static const fs::path root = fs::temp_directory_path() / ("fds_program_test_" + std::to_string(::getpid()));
    return root;
}

struct remove_scratch_at_exit {
    ~remove_scratch_at_exit() {
        std::error_code ignored;
        fs::remove_all(scratch_root(), ignored);
    }
};

fs::path scratch(const std::string& name) {
    fs::create_directories(scratch_root());
    fs::path path = scratch_root() / name;
    fs::remove_all(path);
    return path;
}

const fs::path& data_directory() {
    // real Fashion-MNIST, first 2,000 training and 1,000 test images
    static const fs::path directory = fds::cli::testing::write_fashion_mnist_subset(scratch("data"), 2000, 1000);
    return directory;
}

struct child {
    pid_t pid;
    fs::path log;
};

// `fault`: a value for FDS_FAULT_POINT (fds/cli/fault_injection.hpp), or empty for none.
child start(const std::vector<std::string>& arguments, const fs::path& log, const std::string& fault = "") {
    std::vector<std::string> words = {program()};
    words.insert(words.end(), arguments.begin(), arguments.end());
    std::vector<char*> pointers;
    for (std::string& word : words) pointers.push_back(word.data());
    pointers.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<std::string> variables;
    for (char** variable = environ; *variable != nullptr; ++variable)
        if (std::string(*variable).rfind("FDS_FAULT_POINT=", 0) != 0) variables.push_back(*variable);
    if (!fault.empty()) variables.push_back("FDS_FAULT_POINT=" + fault);
    std::vector<char*> environment;
    for (std::string& variable : variables) environment.push_back(variable.data());
    environment.push_back(nullptr);
    pid_t pid = 0;
    BOOST_REQUIRE(posix_spawn(&pid, words[0].c_str(), &actions, nullptr, pointers.data(), environment.data()) == 0);
    posix_spawn_file_actions_destroy(&actions);
    return {pid, log};
}

int wait_for(const child& process) {
    int status = 0;
    while (::waitpid(process.pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_text(const fs::path& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

int run(const std::vector<std::string>& arguments, const fs::path& log) {
    int code = wait_for(start(arguments, log));
    if (code != 0) BOOST_TEST_MESSAGE("fds exited with " << code << ":\n" << read_text(log));
    return code;
}

// A hyper-training run of a few seconds: MLP on the subset, batch 128 (15 inner steps per epoch).
std::vector<std::string> tiny_run(const fs::path& out, bool retrain) {
    return {"hypertrain",
            "--dataset",
            "FashionMNIST",
            "--datasets_path",
            data_directory().string(),
            "--architecture",
            "MLP",
            "--train_batch_size",
            "128",
            "--n_inner_epochs_per_outer_steps",
            "1",
            "2",
            "1",
            "--n_lrs",
            "3",
            "--retrain_from_scratch",
            retrain ? "true" : "false",
            "--retrain_n_epochs",
            "2",
            "--threads",
            "1",
            "--out",
            out.string()};
}

std::vector<json> history_of(const fs::path& out) {
    std::vector<json> records;
    std::ifstream file(out / "history.jsonl");
    for (std::string line; std::getline(file, line);) records.push_back(json::parse(line));
    return records;
}

// Same outer steps with the same schedules, hypergradients and accuracies (timings aside).
void check_same_history(const std::vector<json>& actual, const std::vector<json>& expected) {
    BOOST_REQUIRE(actual.size() == expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i) {
        BOOST_TEST(actual[i]["outer_step"] == i);
        for (const char* key : {"lr", "mom", "wd", "hypergrad", "step_size", "val_acc", "test_acc", "inner_steps"})
            BOOST_TEST(actual[i][key] == expected[i][key],
                       "outer step " << i << " key " << key << ": " << actual[i][key] << " vs " << expected[i][key]);
    }
}

// Every file a killed run left is whole: JSON files parse, history lines parse and are one per
// finished outer step, at most one beyond the checkpoint, and a last line torn by the kill (no
// newline yet) is the only incomplete one. Before config.json nothing else may exist.
void check_consistent(const fs::path& out) {
    if (!fs::exists(out / "config.json")) {
        for (const char* name : {"history.jsonl", "checkpoint.json", "summary.json"})
            BOOST_TEST(!fs::exists(out / name), name << " exists without config.json");
        return;
    }
    BOOST_REQUIRE_NO_THROW(json::parse(read_text(out / "config.json")));
    std::size_t checkpointed = 0;
    if (fs::exists(out / "checkpoint.json")) {
        json checkpoint;
        BOOST_REQUIRE_NO_THROW(checkpoint = json::parse(read_text(out / "checkpoint.json")));
        checkpointed = checkpoint["next_outer_step"].get<std::size_t>();
    }
    std::string history = read_text(out / "history.jsonl");
    if (!history.empty() && history.back() != '\n') history.erase(history.rfind('\n') + 1);  // the torn line
    std::vector<json> records;
    std::istringstream lines(history);
    for (std::string line; std::getline(lines, line);) BOOST_REQUIRE_NO_THROW(records.push_back(json::parse(line)));
    BOOST_TEST(records.size() >= checkpointed);
    BOOST_TEST(records.size() <= checkpointed + 1);
    for (std::size_t i = 0; i < records.size(); ++i) {
        BOOST_TEST(records[i]["outer_step"] == i);
        BOOST_TEST(fds::cli::history_record_problems(records[i]) == "");
    }
    if (fs::exists(out / "summary.json")) BOOST_REQUIRE_NO_THROW(json::parse(read_text(out / "summary.json")));
}

const std::vector<json>& uninterrupted_history() {
    static const std::vector<json> history = [] {
        fs::path out = scratch("uninterrupted");
        BOOST_REQUIRE(run(tiny_run(out, false), scratch("uninterrupted.log")) == 0);
        std::vector<json> records = history_of(out);
        fs::remove_all(out);
        return records;
    }();
    return history;
}

}  // namespace

BOOST_GLOBAL_FIXTURE(remove_scratch_at_exit);

BOOST_AUTO_TEST_CASE(end_to_end_hypertrain_on_real_fashion_mnist_learns_and_retrains) {
    fs::path out = scratch("end_to_end");
    fs::path log = scratch("end_to_end.log");
    std::vector<std::string> arguments = {"hypertrain",
                                          "--dataset",
                                          "FashionMNIST",
                                          "--datasets_path",
                                          data_directory().string(),
                                          "--architecture",
                                          "MLP",
                                          "--train_batch_size",
                                          "128",
                                          "--n_inner_epochs_per_outer_steps",
                                          "1",
                                          "1",
                                          "1",
                                          "1",
                                          "--retrain_n_epochs",
                                          "2",
                                          "--threads",
                                          "1",
                                          "--out",
                                          out.string(),
                                          "--inner_lr_init_shape",
                                          "constant"};  // learning from a flat start
    BOOST_REQUIRE(run(arguments, log) == 0);
    std::string output = read_text(log);
    BOOST_TEST(output.find("learned schedules") != std::string::npos, output);
    BOOST_TEST(output.find("test accuracy") != std::string::npos, output);
    BOOST_TEST(output.find('\r') == std::string::npos);  // not a terminal: plain lines

    for (const char* file : {"config.json", "history.jsonl", "summary.json", "checkpoint.json", "schedules.dat"})
        BOOST_TEST(fs::exists(out / file), file);
    if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) BOOST_TEST(fs::exists(out / "schedules.png"));

    std::vector<json> history = history_of(out);
    BOOST_REQUIRE(history.size() == 4u);
    for (std::size_t i = 0; i < history.size(); ++i) {
        BOOST_TEST(fds::cli::history_record_problems(history[i]) == "", history[i].dump());
        BOOST_TEST(history[i]["outer_step"] == i);
        BOOST_TEST(history[i]["lr"].size() == 7u);
        BOOST_TEST(history[i]["hypergrad"]["lr"].size() == 7u);
        BOOST_TEST(history[i]["hypergrad"]["mom"].size() == 1u);
        BOOST_TEST(history[i]["hypergrad"]["wd"].size() == 1u);
    }
    // the first outer step runs the practitioner's default the search starts from
    BOOST_TEST((history[0]["lr"] == json{0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05}));

    json summary = json::parse(read_text(out / "summary.json"));
    for (const char* key :
         {"final", "best", "best_outer_step", "retrain_test_acc", "total_seconds", "retrain", "status"})
        BOOST_TEST(summary.contains(key), key);
    BOOST_TEST(summary["status"] == "finished");
    BOOST_TEST(summary["final"]["lr"].size() == 7u);
    for (const char* type : {"lr", "mom", "wd"})
        for (const json& value : summary["final"][type]) BOOST_TEST(value.get<double>() >= 0.0, type);
    // retraining uses the best outer step's schedule: the one with the highest validation
    // accuracy among the steps that did not collapse
    BOOST_TEST(summary["retrain"]["schedule"] == "best");
    BOOST_TEST(summary["retrain"]["values"] == summary["best"]);
    const std::size_t best_step = summary["best_outer_step"].get<std::size_t>();
    BOOST_TEST((summary["best"]["lr"] == history[best_step]["lr"]));
    for (const json& record : history)
        if (!record["reverted"].get<bool>())
            BOOST_TEST(record["val_acc"].get<double>() <= history[best_step]["val_acc"].get<double>());
    BOOST_TEST(summary["retrain"]["epoch_test_acc"].size() == 2u);
    BOOST_TEST(summary["total_seconds"].get<double>() > 0.0);

    // the learned schedule, retrained, beats the schedule the search started from, retrained alike
    fs::path untrained = scratch("untrained_schedule.json");
    fs::path untrained_result = scratch("untrained_result.json");
    std::ofstream(untrained) << json{
        {"lr", history[0]["lr"]},
        {"mom", history[0]["mom"]},
        {"wd", history[0]["wd"]}}.dump();
    BOOST_REQUIRE(run({"train", "--schedule", untrained.string(), "--dataset", "FashionMNIST", "--datasets_path",
                       data_directory().string(), "--architecture", "MLP", "--train_batch_size", "128",
                       "--retrain_n_epochs", "2", "--threads", "1", "--out", untrained_result.string()},
                      log) == 0);
    const double untrained_acc = json::parse(read_text(untrained_result))["test_acc"].get<double>();
    BOOST_TEST(summary["retrain_test_acc"].get<double>() > untrained_acc);

    // the same command again finds the finished run and changes nothing
    std::string before = read_text(out / "history.jsonl");
    BOOST_REQUIRE(run(arguments, log) == 0);
    BOOST_TEST(read_text(out / "history.jsonl") == before);
    BOOST_TEST(read_text(log).find("finished run") != std::string::npos);
    fs::remove_all(out);
}

BOOST_AUTO_TEST_CASE(a_run_stopped_between_outer_steps_resumes_to_the_same_result) {
    fs::path out = scratch("stopped");
    fs::path log = scratch("stopped.log");
    std::vector<std::string> first = tiny_run(out, false);
    first.insert(first.end(), {"--stop_after_outer_steps", "1"});
    BOOST_REQUIRE(run(first, log) == 0);
    BOOST_TEST(history_of(out).size() == 1u);
    BOOST_TEST(json::parse(read_text(out / "checkpoint.json"))["next_outer_step"] == 1);
    BOOST_TEST(!fs::exists(out / "summary.json"));

    BOOST_REQUIRE(run(tiny_run(out, false), log) == 0);
    BOOST_TEST(read_text(log).find("resuming") != std::string::npos);
    check_same_history(history_of(out), uninterrupted_history());
    BOOST_TEST(json::parse(read_text(out / "summary.json"))["outer_steps"] == 3);
    fs::remove_all(out);
}

BOOST_AUTO_TEST_CASE(sigkill_at_20_named_moments_resumes_each_time_to_the_uninterrupted_run) {
    const fs::path reference = scratch("uninterrupted_retrained");
    BOOST_REQUIRE(run(tiny_run(reference, true), scratch("uninterrupted_retrained.log")) == 0);
    const std::vector<json> expected_history = history_of(reference);
    const json expected = json::parse(read_text(reference / "summary.json"));
    const std::size_t outer_steps = expected_history.size();

    const fs::path out = scratch("killed"), log = scratch("killed.log");
    fds::autodiff::random_source random(2026);  // which moment each kill takes
    std::map<std::string, int> landed;
    for (int kill = 0; kill < 20; ++kill) {
        std::size_t done = 0;
        if (fs::exists(out / "checkpoint.json"))
            done = json::parse(read_text(out / "checkpoint.json"))["next_outer_step"].get<std::size_t>();
        const std::size_t remaining = outer_steps - done;
        // the moments this process can still reach: an outer step's writes while steps remain, the
        // first retraining epoch's checkpoint until it is written, and always some atomic write
        std::vector<std::pair<std::string, std::size_t>> moments = {{"atomic_write", 2}};
        if (remaining > 0)
            for (const char* point : {"outer_step_history", "outer_step_done", "append_line"})
                moments.push_back({point, std::min<std::size_t>(remaining, 2)});
        if (!fs::exists(out / "retrain_checkpoint.json")) moments.push_back({"retrain_epoch", 1});
        // Every moment must get kills: first each outer step's moment at its first occurrence (one
        // step at most per kill, so steps remain for all of them), then the least-killed ones.
        const auto outer_point_unkilled = [&](const auto& moment) {
            const bool outer_step = moment.first != "atomic_write" && moment.first != "retrain_epoch";
            return outer_step && landed[moment.first] == 0;
        };
        if (std::any_of(moments.begin(), moments.end(), outer_point_unkilled)) {
            moments.erase(std::remove_if(moments.begin(), moments.end(),
                                         [&](const auto& moment) { return !outer_point_unkilled(moment); }),
                          moments.end());
            for (auto& moment : moments) moment.second = 1;
        } else {
            const auto fewer_kills = [&](const auto& a, const auto& b) { return landed[a.first] < landed[b.first]; };
            const int least = landed[std::min_element(moments.begin(), moments.end(), fewer_kills)->first];
            moments.erase(std::remove_if(moments.begin(), moments.end(),
                                         [&](const auto& moment) { return landed[moment.first] > least; }),
                          moments.end());
        }
        const auto& [point, most] = moments[random.uniform_below(moments.size())];
        const std::string fault = point + ":" + std::to_string(1 + random.uniform_below(most));
        const int code = wait_for(start(tiny_run(out, true), log, fault));
        BOOST_TEST_CONTEXT("kill " << kill << " at " << fault) {
            BOOST_REQUIRE(code == 128 + SIGKILL);
            const std::string text = read_text(log);
            const std::size_t said = text.rfind("fds: fault injection: SIGKILL at ");
            BOOST_REQUIRE(said != std::string::npos);
            BOOST_TEST(text.substr(said).rfind("fds: fault injection: SIGKILL at " + point + " ", 0) == 0);
            check_consistent(out);
        }
        ++landed[point];
        const std::string history = read_text(out / "history.jsonl");
        BOOST_TEST_MESSAGE("kill " << kill << " at " << fault << ": "
                                   << std::count(history.begin(), history.end(), '\n') << " history lines");
    }
    for (const char* point : {"outer_step_history", "outer_step_done", "atomic_write", "append_line", "retrain_epoch"})
        BOOST_TEST(landed[point] > 0, "no kill landed at " << point);

    BOOST_REQUIRE(run(tiny_run(out, true), log) == 0);
    check_consistent(out);
    check_same_history(history_of(out), expected_history);
    const json summary = json::parse(read_text(out / "summary.json"));
    BOOST_TEST(summary["status"] == "finished");
    for (const char* key : {"final", "best", "retrain_test_acc"}) BOOST_TEST(summary[key] == expected[key], key);
    BOOST_TEST(summary["retrain"]["epoch_test_acc"] == expected["retrain"]["epoch_test_acc"]);
    for (const auto& entry : fs::directory_iterator(out))
        BOOST_TEST(!fds::cli::is_temporary_file_name(entry.path().filename().string()), entry.path().string());
    fs::remove_all(out);
    fs::remove_all(reference);
}

BOOST_AUTO_TEST_CASE(a_run_killed_while_retraining_retrains_again_without_new_outer_steps) {
    fs::path out = scratch("retraining");
    fs::path log = scratch("retraining.log");
    BOOST_REQUIRE(run(tiny_run(out, true), log) == 0);
    json finished = json::parse(read_text(out / "summary.json"));
    std::string history = read_text(out / "history.jsonl");
    // what a kill during retraining leaves: every outer step checkpointed, no summary yet
    fs::remove(out / "summary.json");
    fs::remove(log);
    BOOST_REQUIRE(run(tiny_run(out, true), log) == 0);
    std::string output = read_text(log);
    BOOST_TEST(output.find("3/3 outer steps done") != std::string::npos, output);
    BOOST_TEST(output.find("outer step 1/3 done") == std::string::npos, output);  // no outer step ran again
    BOOST_TEST(read_text(out / "history.jsonl") == history);
    json again = json::parse(read_text(out / "summary.json"));
    BOOST_TEST(again["retrain_test_acc"] == finished["retrain_test_acc"]);  // same seed, same retraining
    BOOST_TEST(again["final"] == finished["final"]);
    fs::remove_all(out);
}

BOOST_AUTO_TEST_CASE(sigterm_and_sigint_stop_after_the_write_in_progress_and_the_run_resumes) {
    const std::vector<json>& expected = uninterrupted_history();
    for (int signal_number : {SIGTERM, SIGINT}) {
        fs::path out = scratch(signal_number == SIGTERM ? "terminated" : "interrupted");
        fs::path log = scratch(signal_number == SIGTERM ? "terminated.log" : "interrupted.log");
        child process = start(tiny_run(out, false), log);
        // once the first outer step is recorded the run is inside the second: stop it there
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!(fs::exists(out / "checkpoint.json")) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        BOOST_REQUIRE(::kill(process.pid, signal_number) == 0);
        const int code = wait_for(process);
        const std::string output = read_text(log);
        // the two outer steps after the first take far longer than the polling interval
        BOOST_REQUIRE_MESSAGE(code == 128 + signal_number, "exit " << code << ":\n" << output);
        BOOST_TEST(output.find(std::string("fds: stopped by ") + (signal_number == SIGTERM ? "SIGTERM" : "SIGINT")) !=
                       std::string::npos,
                   output);
        check_consistent(out);
        BOOST_TEST(history_of(out).size() < expected.size());
        BOOST_REQUIRE(run(tiny_run(out, false), log) == 0);
        check_same_history(history_of(out), expected);
        fs::remove_all(out);
    }
}

BOOST_AUTO_TEST_CASE(a_retraining_killed_after_an_epoch_goes_on_from_that_epoch) {
    auto with_four_epochs = [](std::vector<std::string> arguments) {
        for (std::size_t i = 0; i + 1 < arguments.size(); ++i)
            if (arguments[i] == "--retrain_n_epochs") arguments[i + 1] = "4";
        return arguments;
    };
    fs::path reference = scratch("retrain_reference");
    BOOST_REQUIRE(run(with_four_epochs(tiny_run(reference, true)), scratch("retrain_reference.log")) == 0);
    const json expected = json::parse(read_text(reference / "summary.json"));

    fs::path out = scratch("retrain_killed");
    fs::path log = scratch("retrain_killed.log");
    child process = start(with_four_epochs(tiny_run(out, true)), log);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(out / "retrain_checkpoint.json") && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    BOOST_REQUIRE(::kill(process.pid, SIGKILL) == 0);
    BOOST_REQUIRE_MESSAGE(wait_for(process) == 128 + SIGKILL, read_text(log));  // killed, not finished
    BOOST_REQUIRE(fs::exists(out / "retrain_checkpoint.json"));
    fs::remove(log);
    BOOST_REQUIRE(run(with_four_epochs(tiny_run(out, true)), log) == 0);
    const std::string output = read_text(log);
    BOOST_TEST(output.find("resuming the retraining of the best schedule after epoch") != std::string::npos, output);
    const json summary = json::parse(read_text(out / "summary.json"));
    BOOST_TEST(summary["retrain"]["epoch_test_acc"] == expected["retrain"]["epoch_test_acc"]);
    BOOST_TEST(summary["retrain_test_acc"] == expected["retrain_test_acc"]);
    BOOST_TEST(!fs::exists(out / "retrain_checkpoint.json"));  // removed once done
    fs::remove_all(out);
    fs::remove_all(reference);
}
