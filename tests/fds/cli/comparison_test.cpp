#define BOOST_TEST_MODULE cli_comparison
#include <boost/test/unit_test.hpp>

#include <fds/cli/atomic_file.hpp>
#include <fds/cli/comparison.hpp>

#include <cmath>
#include <filesystem>
#include <unistd.h>

using namespace fds::cli;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

fs::path fresh_path(const std::string& name) {
    fs::path path = fs::temp_directory_path() / ("fds_cli_comparison_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
    return path;
}

json run_with(const std::string& method, std::uint64_t seed, const std::vector<curve_point>& curve,
              double final_test_acc, double seconds) {
    json points = json::array();
    for (const curve_point& point : curve)
        points.push_back({{"seconds", point.seconds}, {"val_acc", point.val_acc}, {"test_acc", point.test_acc}});
    return {{"method", method},
            {"seed", seed},
            {"curve", points},
            {"final",
             {{"method", method},
              {"seed", seed},
              {"seconds", seconds},
              {"final_test_acc", final_test_acc},
              {"trainings", 2.0},
              {"retrain_seconds", 1.0}}}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(best_so_far_keeps_the_best_validation_and_its_own_test_accuracy) {
    const auto curve = best_so_far({{2, 0.5, 0.4}, {3, 0.7, 0.6}, {1, 0.6, 0.9}, {4, 0.8, 0.7}});
    BOOST_REQUIRE(curve.size() == 4u);
    const double seconds[] = {2, 5, 6, 10}, val[] = {0.5, 0.7, 0.7, 0.8}, test[] = {0.4, 0.6, 0.6, 0.7};
    for (std::size_t i = 0; i < 4; ++i) {
        BOOST_TEST(curve[i].seconds == seconds[i]);
        BOOST_TEST(curve[i].val_acc == val[i]);
        BOOST_TEST(curve[i].test_acc == test[i]);  // a better test accuracy on a worse validation is not chosen
    }
}

BOOST_AUTO_TEST_CASE(the_table_gives_mean_sample_sd_equal_time_accuracy_and_time_against_black_box) {
    json runs = json::array();
    runs.push_back(run_with("fds", 0, {{10, 0.8, 0.80}, {20, 0.9, 0.85}}, 0.86, 20));
    runs.push_back(run_with("fds", 1, {{10, 0.8, 0.82}, {30, 0.9, 0.87}}, 0.88, 30));
    runs.push_back(run_with("random", 0, {{5, 0.7, 0.70}, {100, 0.9, 0.86}}, 0.85, 100));
    runs.push_back(run_with("random", 1, {{5, 0.7, 0.72}, {200, 0.9, 0.84}}, 0.83, 200));
    const json table = comparison_table(runs);
    BOOST_REQUIRE(table.size() == 2u);
    BOOST_TEST(table[0]["method"] == "fds");
    BOOST_TEST(table[0]["seeds"] == 2);
    BOOST_TEST(table[0]["seconds"].get<double>() == 25.0);
    BOOST_TEST(table[0]["final_test_acc_mean"].get<double>() == 0.87, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(table[0]["final_test_acc_sd"].get<double>() == std::sqrt(2.0) * 0.01,
               boost::test_tools::tolerance(1e-9));
    // at FDS's mean time (25 s): fds seeds at 0.85 and 0.82, random at 0.70 and 0.72
    BOOST_TEST(table[0]["curve_test_acc_at_fds_seconds"].get<double>() == 0.835, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(table[1]["curve_test_acc_at_fds_seconds"].get<double>() == 0.71, boost::test_tools::tolerance(1e-12));
    // the only black-box method, random, took 150 s on average
    BOOST_TEST(table[0]["seconds_vs_best_black_box"].get<double>() == 25.0 / 150.0,
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(table[1]["seconds_vs_best_black_box"].get<double>() == 1.0);
    const std::string markdown = comparison_markdown({{"setup",
                                                       {{"dataset", "FashionMNIST"},
                                                        {"architecture", "MLP"},
                                                        {"retrain_n_epochs", 3},
                                                        {"seeds", {0, 1}},
                                                        {"cpu", "test CPU"}}},
                                                      {"table", table}});
    BOOST_TEST(markdown.find("| fds | 25 | 2.0 | 87.00 +- 1.41 | 83.50 | 0.17 |") != std::string::npos, markdown);
    BOOST_TEST(markdown.find("| random | 150 | 2.0 | 84.00 +- 1.41 | 71.00 | 1.00 |") != std::string::npos, markdown);
}

BOOST_AUTO_TEST_CASE(plot_data_has_one_block_per_method_with_mean_low_and_high) {
    json runs = json::array();
    runs.push_back(run_with("fds", 0, {{10, 0.8, 0.80}}, 0.86, 10));
    runs.push_back(run_with("fds", 1, {{20, 0.8, 0.90}}, 0.88, 20));
    runs.push_back(run_with("hand", 0, {{1, 0.7, 0.70}}, 0.85, 1));
    const json comparison = {{"runs", runs}, {"table", comparison_table(runs)}};
    const std::string data = comparison_plot_data(comparison);
    BOOST_TEST(data.find("# fds\n") != std::string::npos);
    BOOST_TEST(data.find("\n\n\n# hand\n") != std::string::npos);
    // fds is drawn only once both seeds have a point (from 20 s on): mean 85, low 80, high 90
    BOOST_TEST(data.find("20 85 80 90\n") != std::string::npos, data);
    BOOST_TEST(data.find("# fds\n1 ") == std::string::npos);
    BOOST_TEST(data.find("# hand\n1 70 70 70\n") != std::string::npos, data);
}

BOOST_AUTO_TEST_CASE(reading_a_run_names_the_file_and_key_that_is_wrong) {
    const fs::path directory = fresh_path("read");
    BOOST_CHECK_EXCEPTION(read_method_run("fds", 0, directory), std::runtime_error,
                          [&](const std::runtime_error& error) {
                              return std::string(error.what()).find("summary.json is missing") != std::string::npos;
                          });
    write_file_atomically(directory / "summary.json", json({{"status", "finished"}, {"search_seconds", 3.0}}).dump());
    write_file_atomically(directory / "trials.jsonl", "{\"seconds\": 1, \"val_acc\": 0.5, \"test_acc\": 0.4}\n");
    BOOST_CHECK_EXCEPTION(read_method_run("random", 0, directory), std::runtime_error,
                          [&](const std::runtime_error& error) {
                              return std::string(error.what()).find("\"trainings\"") != std::string::npos;
                          });
    write_file_atomically(directory / "summary.json", json({{"status", "finished"},
                                                            {"search_seconds", 3.0},
                                                            {"trainings", 1.5},
                                                            {"retrain_test_acc", 0.8},
                                                            {"retrain_seconds", 2.0}})
                                                          .dump());
    const json run = read_method_run("random", 4, directory);
    BOOST_TEST(run["final"]["final_test_acc"] == 0.8);
    BOOST_TEST(run["final"]["seed"] == 4);
    BOOST_TEST(run["curve"].size() == 1u);
    BOOST_CHECK_THROW(read_method_run("bohb", 0, directory), std::runtime_error);
    fs::remove_all(directory);
}
