#pragma once
// One line of history.jsonl: what one outer step did, as a JSON object.
//
//   {"outer_step": 0, "epochs": 1, "inner_steps": 222, "seconds": 31.5,
//    "lr": [...], "mom": [...], "wd": [...],          the schedules this step's inner run used
//    "hypergrad": {"lr": [...], ...},                 raw hypergradients, learned types only
//    "delta": {"lr": [...], ...},                     the update: next schedule - used schedule
//    "step_size": {"lr": [...], ...},                 outer step sizes after the update
//    "val_loss": 0.41, "val_acc": 0.85, "test_acc": 0.84, "train_loss": 0.52, "train_acc": 0.81,
//    "diverged": false}
//
// A non-finite number (the hypergradients and losses of a diverged inner run) is written as null.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <fds/hyper_trainer.hpp>

namespace fds::cli {

// `next`: the trainer's schedules after this step's update (for "delta").
nlohmann::json history_record(const outer_step_record& record, const hyper_values& next);

// What is wrong with `record` as a history line: missing keys, wrong types, lists of unequal
// length ("" when nothing). Used on resume and by the tests of the format.
std::string history_record_problems(const nlohmann::json& record);

// The schedules used by a history line, as {"lr", "mom", "wd"}.
nlohmann::json schedules_of(const nlohmann::json& record);

}  // namespace fds::cli
