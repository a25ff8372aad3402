#pragma once
// A picture of how the learned schedules converged: for each hyperparameter type a panel with
// the schedule used at every outer step (faded, older lighter) and the final one (bold), over the
// fraction of the inner run (a bucket j of n covers [j/n, (j+1)/n)).
//
// schedules.dat holds the data (one gnuplot block per outer step, the final schedule last;
// columns: fraction of the run, lr, mom, wd), schedules.gp the gnuplot script that draws
// schedules.png from it. Without gnuplot the .dat and .gp are still written and the caller gets
// a warning, not an error: the run itself is unaffected.

#include "gnuplot.hpp"

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fds::cli {

// `schedules`: objects {"lr": [...], "mom": [...], "wd": [...]}, one per outer step, then the
// final schedule. The gnuplot program is `gnuplot` on PATH, or $FDS_GNUPLOT when set.
plot_outcome plot_schedules(const std::filesystem::path& directory, const std::vector<nlohmann::json>& schedules);

// The text of schedules.dat for these schedules (exposed for tests).
std::string schedule_table(const std::vector<nlohmann::json>& schedules);

}  // namespace fds::cli
