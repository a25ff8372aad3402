#define BOOST_TEST_MODULE schedule_plot
#include <boost/test/unit_test.hpp>

#include <fds/cli/schedule_plot.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace fds::cli;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

fs::path fresh_directory(const std::string& name) {
    fs::path directory = fs::temp_directory_path() / ("fds_cli_plot_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(directory);
    fs::create_directories(directory);
    return directory;
}

std::vector<json> two_steps() {
    return {json{{"lr", {0.0, 0.0}}, {"mom", {0.0}}, {"wd", {0.0}}},
            json{{"lr", {0.1, 0.05}}, {"mom", {0.1}}, {"wd", {3e-4}}}};
}

bool png_signature(const fs::path& path) {
    std::ifstream file(path, std::ios::binary);
    char bytes[8] = {};
    file.read(bytes, 8);
    return std::string(bytes + 1, 3) == "PNG";
}

}  // namespace

BOOST_AUTO_TEST_CASE(table_has_one_block_per_schedule_with_step_breakpoints) {
    std::vector<json> schedules = {json{{"lr", {1.0, 2.0, 3.0, 4.0}}, {"mom", {0.5, 0.6}}, {"wd", {0.01}}},
                                   json{{"lr", {5.0}}, {"mom", {0.7}}, {"wd", {0.02}}}};
    std::string table = schedule_table(schedules);
    // block 0: breakpoints 0, 0.25, 0.5, 0.75, 1 (the union of the lr and mom bucket starts, then the end)
    std::string expected_block =
        "# outer step 0\n0 1 0.5 0.01\n0.25 2 0.5 0.01\n0.5 3 0.6 0.01\n0.75 4 0.6 0.01\n1 4 0.6 0.01\n\n\n"
        "# final\n0 5 0.7 0.02\n1 5 0.7 0.02\n";
    BOOST_TEST(table.find(expected_block) != std::string::npos, table);
}

BOOST_AUTO_TEST_CASE(table_refuses_a_schedule_without_values) {
    BOOST_CHECK_THROW(schedule_table({json{{"lr", json::array()}, {"mom", {0.0}}, {"wd", {0.0}}}}), std::runtime_error);
}

static boost::test_tools::assertion_result gnuplot_installed(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result result(std::system("command -v gnuplot > /dev/null 2>&1") == 0);
    result.message() << "skipped: gnuplot is not installed";
    return result;
}

BOOST_AUTO_TEST_CASE(plot_draws_a_png_with_gnuplot, *boost::unit_test::precondition(gnuplot_installed)) {
    fs::path directory = fresh_directory("png");
    unsetenv("FDS_GNUPLOT");
    plot_outcome outcome = plot_schedules(directory, two_steps());
    BOOST_TEST(outcome.image_written, outcome.warning);
    BOOST_TEST(png_signature(directory / "schedules.png"));
    BOOST_TEST(fs::exists(directory / "schedules.dat"));
    BOOST_TEST(fs::exists(directory / "schedules.gp"));
    for (const auto& entry : fs::directory_iterator(directory))
        BOOST_TEST(entry.path().filename().string().rfind(".fds-tmp", 0) != 0, entry.path().string());
    fs::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(plot_without_gnuplot_writes_the_data_and_warns) {
    fs::path directory = fresh_directory("missing");
    setenv("FDS_GNUPLOT", "/nonexistent/gnuplot", 1);
    plot_outcome outcome = plot_schedules(directory, two_steps());
    unsetenv("FDS_GNUPLOT");
    BOOST_TEST(!outcome.image_written);
    BOOST_TEST(!outcome.warning.empty());
    BOOST_TEST(fs::exists(directory / "schedules.dat"));
    BOOST_TEST(!fs::exists(directory / "schedules.png"));
    fs::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(an_image_cut_short_is_not_renamed_into_place) {
    // a gnuplot that exits 0 after writing only the start of its PNG, as on a full disk
    fs::path directory = fresh_directory("truncated");
    const fs::path fake = directory / "fake-gnuplot";
    std::ofstream(fake) << "#!/bin/sh\n"
                           "image=$(sed -n \"s/^set output '\\(.*\\)'$/\\1/p\" \"$1\" | head -n 1)\n"
                           "printf '\\211PNG\\r\\n\\032\\n0000' > \"$image\"\n";
    fs::permissions(fake, fs::perms::owner_all);
    setenv("FDS_GNUPLOT", fake.c_str(), 1);
    plot_outcome outcome = plot_schedules(directory, two_steps());
    unsetenv("FDS_GNUPLOT");
    BOOST_TEST(!outcome.image_written);
    BOOST_TEST(outcome.warning.find("incomplete image") != std::string::npos, outcome.warning);
    BOOST_TEST(!fs::exists(directory / "schedules.png"));
    for (const auto& entry : fs::directory_iterator(directory))
        BOOST_TEST(entry.path().filename().string().rfind(".fds-tmp", 0) != 0, entry.path().string());
    fs::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(a_plot_script_that_cannot_be_written_is_a_warning_not_an_error) {
    fs::path directory = fresh_directory("unwritable");
    fs::create_directories(directory / "schedules.gp");  // in the way of the script's rename
    plot_outcome outcome;
    BOOST_REQUIRE_NO_THROW(outcome = plot_schedules(directory, two_steps()));
    BOOST_TEST(!outcome.image_written);
    BOOST_TEST(outcome.warning.find("schedules.gp") != std::string::npos, outcome.warning);
    fs::remove_all(directory);
}

BOOST_AUTO_TEST_CASE(script_sets_each_panel_range_from_its_values) {
    // weight decays of 1e-4 would be drawn flat on gnuplot's autoscaled range
    fs::path directory = fresh_directory("range");
    setenv("FDS_GNUPLOT", "/nonexistent/gnuplot", 1);
    plot_schedules(directory, {json{{"lr", {0.0, 0.2}}, {"mom", {0.5}}, {"wd", {0.0}}},
                               json{{"lr", {0.1, 0.4}}, {"mom", {0.5}}, {"wd", {0.0006}}}});
    unsetenv("FDS_GNUPLOT");
    std::ifstream file(directory / "schedules.gp");
    std::stringstream script;
    script << file.rdbuf();
    BOOST_TEST(script.str().find("set yrange [-0.02:0.46]") != std::string::npos, script.str());  // lr 0..0.4
    BOOST_TEST(script.str().find("set yrange [0.475:0.575]") != std::string::npos, script.str());  // mom constant 0.5
    BOOST_TEST(script.str().find("set yrange [-3e-05:0.00069]") != std::string::npos, script.str());  // wd 0..6e-4
    fs::remove_all(directory);
}
