#pragma once
// The retraining every method ends with (`hypertrain`, `hypertrain --method hd|greedy`,
// `search`): the chosen schedule retrained from scratch and tested (fds/retrain.hpp). A schedule
// that wins on the validation split can still diverge from other initial weights; then the next
// candidate (the method's next best) is retrained, up to settings.retrain_attempts trainings in
// all, and every attempt is recorded. The summary for summary.json:
//   {"epochs", "schedule" (the label of the schedule retrained last), "values", "test_acc",
//    "test_loss", "epoch_test_acc", "seconds" (all attempts), "diverged" (the last attempt),
//    "attempts": [{"schedule", "diverged", "seconds"}]}

#include "progress.hpp"

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <fds/data/dataset.hpp>
#include <fds/hypertrain_settings.hpp>
#include <fds/progress.hpp>
#include <fds/schedule.hpp>

namespace fds::cli {

struct retrain_candidate {
    hyper_values schedule;
    std::string label;  // "best", "outer step 3", "trial 5": in messages and in the summary
};

// Null when settings.retrain_from_scratch is off. Candidates in order of preference (at least one).
// With a checkpoint directory (a run directory), the retraining leaves retrain_checkpoint.json and
// retrain_state.<epochs>.npy (weights, velocity, BatchNorm statistics; float32) after every epoch,
// goes on from them when they are there for the same attempt and schedule, and removes them when
// done; a stop during retraining then costs at most one epoch. The retrained model goes to
// DIR/weights/ as PyTorch state_dict tensors (.npy each) listed in DIR/weights/state_dict.json.
nlohmann::json retrain_and_summarize(const hypertrain_settings& settings, const data::dataset& dataset,
                                     const std::vector<retrain_candidate>& candidates, progress_reporter& reporter,
                                     const progress_callback& progress,
                                     const std::filesystem::path& checkpoint_directory = {});

// Adds "retrain", "retrain_test_acc", "retrain_seconds" and "total_seconds" (search_seconds plus
// the retraining's) to a summary.
void add_retrain_summary(nlohmann::json& summary, const nlohmann::json& retrain, double search_seconds);

}  // namespace fds::cli
