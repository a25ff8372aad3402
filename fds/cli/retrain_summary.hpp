#pragma once
// The retraining every method ends with (`hypertrain`, `hypertrain --method hd|greedy`,
// `search`): the chosen schedule retrained from scratch and tested (fds/retrain.hpp), reported in
// the progress output and summarized for summary.json as
//   {"epochs", "schedule", "values", "test_acc", "test_loss", "epoch_test_acc", "seconds", "diverged"}.

#include "progress.hpp"

#include <string>

#include <nlohmann/json.hpp>

#include <data/dataset.hpp>
#include <fds/hypertrain_settings.hpp>
#include <fds/progress.hpp>
#include <fds/schedule.hpp>

namespace fds::cli {

// Null when settings.retrain_from_scratch is off. `what` names the schedule in messages ("the
// best schedule") and `label` in the summary ("best").
nlohmann::json retrain_and_summarize(const hypertrain_settings& settings, const data::dataset& dataset,
                                     const hyper_values& schedule, const std::string& what, const std::string& label,
                                     progress_reporter& reporter, const progress_callback& progress);

// Adds "retrain", "retrain_test_acc", "retrain_seconds" and "total_seconds" (search_seconds plus
// the retraining's) to a summary.
void add_retrain_summary(nlohmann::json& summary, const nlohmann::json& retrain, double search_seconds);

}  // namespace fds::cli
