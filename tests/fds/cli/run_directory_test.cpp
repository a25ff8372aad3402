#define BOOST_TEST_MODULE run_directory
#include <boost/test/unit_test.hpp>

#include <fds/cli/atomic_file.hpp>
#include <fds/cli/cli_error.hpp>
#include <fds/cli/options.hpp>
#include <fds/cli/run_directory.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace fds::cli;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

fs::path fresh_path(const std::string& name) {
    fs::path directory = fs::temp_directory_path() / ("fds_cli_run_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(directory);
    return directory;
}

json config_of(const fds::hypertrain_settings& settings) {
    return json{
        {"program", "fds"}, {"version", "test"}, {"command", "hypertrain"}, {"settings", settings_to_json(settings)}};
}

json record(std::size_t step) { return json{{"outer_step", step}, {"val_acc", 0.1 * static_cast<double>(step)}}; }

}  // namespace

BOOST_AUTO_TEST_CASE(opening_a_new_directory_creates_it_with_the_config) {
    fs::path path = fresh_path("new") / "nested";
    run_directory run(path);
    BOOST_TEST(!run.open(config_of({})));
    BOOST_TEST(fs::is_directory(path));
    BOOST_TEST(*run.read_config() == config_of({}));
    fs::remove_all(path.parent_path());
}

BOOST_AUTO_TEST_CASE(reopening_with_the_same_config_resumes) {
    fs::path path = fresh_path("same");
    run_directory(path).open(config_of({}));
    fds::hypertrain_settings other_threads;
    other_threads.threads = 1;  // does not change results, so it may differ
    BOOST_TEST(run_directory(path).open(config_of(other_threads)));
    fs::remove_all(path);
}

BOOST_AUTO_TEST_CASE(a_different_config_is_refused_naming_the_keys) {
    fs::path path = fresh_path("different");
    run_directory(path).open(config_of({}));
    fds::hypertrain_settings changed;
    changed.n_lrs = 3;
    changed.seed = 5;
    try {
        run_directory(path).open(config_of(changed));
        BOOST_FAIL("expected a conflict");
    } catch (const cli_error& error) {
        BOOST_TEST(static_cast<int>(error.code()) == 4);
        std::string message = error.what();
        BOOST_TEST(message.find("n_lrs: 7 -> 3") != std::string::npos, message);
        BOOST_TEST(message.find("seed: 0 -> 5") != std::string::npos, message);
        BOOST_TEST(message.find("dataset") == std::string::npos, message);
    }
    fs::remove_all(path);
}

BOOST_AUTO_TEST_CASE(a_foreign_non_empty_directory_is_refused) {
    fs::path path = fresh_path("foreign");
    fs::create_directories(path);
    std::ofstream(path / "notes.txt") << "mine";
    try {
        run_directory(path).open(config_of({}));
        BOOST_FAIL("expected a conflict");
    } catch (const cli_error& error) {
        BOOST_TEST(static_cast<int>(error.code()) == 4);
        BOOST_TEST(std::string(error.what()).find("notes.txt") != std::string::npos);
    }
    fs::remove_all(path);
}

BOOST_AUTO_TEST_CASE(a_directory_holding_only_a_killed_temporary_file_is_usable) {
    fs::path path = fresh_path("temporary_only");
    fs::create_directories(path);
    std::ofstream(path / ".fds-tmp.config.json.99") << "{\"half";
    BOOST_TEST(!run_directory(path).open(config_of({})));
    fs::remove_all(path);
}

BOOST_AUTO_TEST_CASE(a_second_process_in_a_locked_directory_is_refused_until_the_first_is_done) {
    fs::path path = fresh_path("locked");
    {
        run_directory first(path);
        first.open(config_of({}));
        run_directory second(path);  // its own open file description: flock treats it as another process
        try {
            second.open(config_of({}));
            BOOST_FAIL("a second opener of a locked run directory was let in");
        } catch (const cli_error& error) {
            BOOST_TEST(static_cast<int>(error.code()) == static_cast<int>(exit_code::run_directory_conflict));
            BOOST_TEST(std::string(error.what()).find("another fds process is working in " + path.string()) !=
                       std::string::npos);
        }
    }
    BOOST_TEST(run_directory(path).open(config_of({})));  // the first is gone: resumable
    fs::remove_all(path);
}

BOOST_AUTO_TEST_CASE(temporary_files_a_killed_writer_left_are_removed_on_resume) {
    fs::path path = fresh_path("stale");
    run_directory(path).open(config_of({}));
    std::ofstream(path / ".fds-tmp.history.jsonl.12345") << "{\"outer_st";
    std::ofstream(path / "notes.txt") << "the user's own file stays";
    BOOST_TEST(run_directory(path).open(config_of({})));
    BOOST_TEST(!fs::exists(path / ".fds-tmp.history.jsonl.12345"));
    BOOST_TEST(fs::exists(path / "notes.txt"));
    fs::remove_all(path);
}

BOOST_AUTO_TEST_CASE(history_round_trips_one_object_per_line) {
    fs::path path = fresh_path("history");
    run_directory run(path);
    run.open(config_of({}));
    BOOST_TEST(run.read_history().empty());
    std::vector<json> records = {record(0), record(1), record(2)};
    run.write_history(records);
    BOOST_TEST(run.read_history() == records);
    std::string content = *read_whole_file(path / "history.jsonl");
    BOOST_TEST(std::count(content.begin(), content.end(), '\n') == 3);
    fs::remove_all(path);
}

BOOST_AUTO_TEST_CASE(history_lines_are_appended_and_a_torn_last_line_is_dropped_on_reading) {
    fs::path path = fresh_path("appended");
    run_directory run(path);
    run.open(config_of({}));
    run.append_history(record(0));
    run.append_history(record(1));
    std::ofstream(path / "history.jsonl", std::ios::app) << "{\"outer_step\": 2, \"val_";  // a kill mid-append
    const std::vector<json> records = run.read_history();
    BOOST_TEST(records.size() == 2u);
    BOOST_TEST(records[1] == record(1));
    std::stringstream content;
    content << std::ifstream(path / "history.jsonl").rdbuf();
    BOOST_TEST(content.str() == record(0).dump() + "\n" + record(1).dump() + "\n");  // the torn line is gone
    run.append_history(record(2));
    BOOST_TEST(run.read_history().back() == record(2));
    fs::remove_all(path);
}

BOOST_AUTO_TEST_CASE(a_broken_history_line_is_an_error_naming_the_line) {
    fs::path path = fresh_path("broken");
    run_directory run(path);
    run.open(config_of({}));
    std::ofstream(path / "history.jsonl") << record(0).dump() << "\n{\"outer_step\": 1, \"val\n";
    try {
        run.read_history();
        BOOST_FAIL("expected an error");
    } catch (const std::runtime_error& error) {
        BOOST_TEST(std::string(error.what()).find("line 2") != std::string::npos);
    }
    fs::remove_all(path);
}

BOOST_AUTO_TEST_CASE(reconciling_drops_lines_beyond_the_checkpoint_and_duplicates) {
    std::vector<json> records = {record(0), record(1), record(1), record(2), record(3)};
    std::vector<json> kept = reconcile_history(records, 2);
    BOOST_TEST(kept.size() == 2u);
    BOOST_TEST(kept[0]["outer_step"] == 0);
    BOOST_TEST(kept[1]["outer_step"] == 1);
    BOOST_TEST(reconcile_history(records, 0).empty());
    BOOST_CHECK_THROW(reconcile_history({record(0), record(2)}, 3), std::runtime_error);  // step 1 missing
}

BOOST_AUTO_TEST_CASE(checkpoint_and_summary_round_trip) {
    fs::path path = fresh_path("checkpoint");
    run_directory run(path);
    run.open(config_of({}));
    BOOST_TEST(!run.read_checkpoint().has_value());
    json checkpoint = {{"next_outer_step", 3}, {"trainer", {{"lr", {0.1, 0.2}}}}};
    run.write_checkpoint(checkpoint);
    BOOST_TEST(*run.read_checkpoint() == checkpoint);
    json summary = {{"retrain", {{"test_acc", 0.9}}}};
    run.write_summary(summary);
    BOOST_TEST(*run.read_summary() == summary);
    fs::remove_all(path);
}

BOOST_AUTO_TEST_CASE(default_directory_names_dataset_architecture_and_seed) {
    BOOST_TEST(default_run_directory("FashionMNIST", "LeNet", 3) == "runs/FashionMNIST_LeNet_S3");
}
