#define BOOST_TEST_MODULE atomic_file
#include <boost/test/unit_test.hpp>

#include <fds/cli/atomic_file.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace fds::cli;
namespace fs = std::filesystem;

namespace {
fs::path fresh_directory(const std::string& name) {
    fs::path directory = fs::temp_directory_path() / ("fds_cli_test_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(directory);
    fs::create_directories(directory);
    return directory;
}
}  // namespace

BOOST_AUTO_TEST_CASE(write_then_read_returns_exact_bytes) {
    fs::path directory = fresh_directory("atomic_bytes");
    std::string content = std::string("line 1\nline 2\n") + std::string(1, '\0') + "binary";
    write_file_atomically(directory / "a.txt", content);
    BOOST_TEST(*read_whole_file(directory / "a.txt") == content);
    fs::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(rewriting_replaces_the_whole_file_and_leaves_no_temporary) {
    fs::path directory = fresh_directory("atomic_replace");
    write_file_atomically(directory / "a.txt", std::string(10000, 'x'));
    write_file_atomically(directory / "a.txt", "short");
    BOOST_TEST(*read_whole_file(directory / "a.txt") == "short");
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(directory)) {
        ++files;
        BOOST_TEST(!is_temporary_file_name(entry.path().filename().string()));
    }
    BOOST_TEST(files == 1u);
    fs::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(reading_a_missing_file_gives_nothing) {
    fs::path directory = fresh_directory("atomic_missing");
    BOOST_TEST(!read_whole_file(directory / "absent.json").has_value());
    fs::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(writing_into_a_missing_directory_names_the_file) {
    fs::path directory = fresh_directory("atomic_error");
    fs::path target = directory / "no_such_folder" / "a.txt";
    try {
        write_file_atomically(target, "x");
        BOOST_FAIL("expected an error");
    } catch (const std::runtime_error& error) {
        BOOST_TEST(std::string(error.what()).find("no_such_folder") != std::string::npos);
    }
    fs::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(temporary_names_are_recognised) {
    BOOST_TEST(is_temporary_file_name(".fds-tmp.history.jsonl.1234"));
    BOOST_TEST(!is_temporary_file_name("history.jsonl"));
}

BOOST_AUTO_TEST_CASE(appended_lines_read_back_whole_and_a_torn_last_line_is_dropped_from_the_file) {
    fs::path directory = fresh_directory("append_lines");
    const fs::path file = directory / "trials.jsonl";
    BOOST_TEST(read_whole_lines(file).empty());
    append_line_durably(file, "{\"trial\": 0}");
    append_line_durably(file, "{\"trial\": 1}");
    BOOST_TEST((read_whole_lines(file) == std::vector<std::string>{"{\"trial\": 0}", "{\"trial\": 1}"}));
    {
        std::ofstream torn(file, std::ios::app);
        torn << "{\"tri";  // a write cut short by a kill
    }
    BOOST_TEST((read_whole_lines(file) == std::vector<std::string>{"{\"trial\": 0}", "{\"trial\": 1}"}));
    append_line_durably(file, "{\"trial\": 2}");
    BOOST_TEST(*read_whole_file(file) == "{\"trial\": 0}\n{\"trial\": 1}\n{\"trial\": 2}\n");
    BOOST_CHECK_THROW(append_line_durably(directory / "missing" / "x.jsonl", "x"), std::runtime_error);
    fs::remove_all(directory);
}
