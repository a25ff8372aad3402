#pragma once
// What `fds compare` reads from each method's run directory and writes for the comparison.
//
// A method's run is reduced to its best-so-far curve and its final entry:
//   curve   one point per evaluation the method made (an FDS outer step, a black-box trial, the
//           end of a greedy run): wall seconds since the method started, and the validation and
//           test accuracy of the best configuration so far (by validation accuracy; the test
//           accuracy is that configuration's own model, before any retraining)
//   final   {"method", "seed", "seconds" (search time, without the final retraining),
//            "final_test_acc" (the retrained test accuracy of the chosen schedule),
//            "trainings" (the search's cost in full-length trainings), "retrain_seconds"}
//
// compare.json = {"setup": {...}, "runs": [{"method", "seed", "curve": [...], "final": {...}}],
//                 "table": [one row per method, below]}
// A table row: method, seeds, seconds (mean), trainings (mean), final_test_acc_mean / _sd (sample
// standard deviation over seeds; 0 for one seed), curve_test_acc_at_fds_seconds (the mean
// best-so-far test accuracy at FDS's mean wall time: the equal-time comparison),
// seconds_vs_best_black_box (its mean wall time over that of the black-box method, random or
// hyperband or optuna, with the best mean final test accuracy).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fds::cli {

struct curve_point {
    double seconds = 0.0, val_acc = 0.0, test_acc = 0.0;
};

// Evaluations in time order (seconds = each evaluation's own duration, val and test accuracy)
// to the best-so-far curve (seconds accumulated).
std::vector<curve_point> best_so_far(const std::vector<curve_point>& evaluations);

// The best-so-far value of a curve at a time (its last point at or before t); NaN before its first.
double curve_test_acc_at(const nlohmann::json& curve, double seconds);

// Reads one method's run (`method`: fds, hd, greedy, or a search method random|hyperband|hand|optuna|
// random_at_fds_time).
// Throws std::runtime_error naming the file and key when the run is not finished or malformed.
nlohmann::json read_method_run(const std::string& method, std::uint64_t seed, const std::filesystem::path& directory);

// The table rows of compare.json from its runs (in the order methods first appear).
nlohmann::json comparison_table(const nlohmann::json& runs);

// compare.md: the setup and the table.
std::string comparison_markdown(const nlohmann::json& comparison);

// compare.dat: per method a gnuplot block "seconds mean low high" of the best-so-far test
// accuracy (%), on log-spaced times where every seed of the method has a point.
std::string comparison_plot_data(const nlohmann::json& comparison);

// The method names a comparison knows, in a sensible order of cost.
const std::vector<std::string>& comparison_methods();

}  // namespace fds::cli
