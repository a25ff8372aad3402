#pragma once
// The subcommands of `fds`, each a function of its arguments (after the subcommand's name) and
// of the two output streams, returning the process exit code (cli_error.hpp), so that tests
// run them in-process and main() only dispatches.
//
//   fds hypertrain [options]   hyper-train (FDS), then retrain with the learned schedule
//   fds train --schedule FILE  plain training with a given schedule (or --lr_schedule SHAPE)
//   fds search                 black-box search over the same schedules, then retraining
//   fds compare                every method on one setup and several seeds, side by side
//   fds noise                  hypergradient noise against the sharing window (Theorem 4.1)
//   fds info [--dataset NAME]  the dataset's summary as JSON

#include <iosfwd>

#include <nlohmann/json.hpp>

#include <fds/data/dataset.hpp>
#include <fds/hypertrain_settings.hpp>
#include <string>
#include <vector>

namespace fds::cli {

// `arguments` holds everything after the program name. Errors are printed to `errors` and turned
// into their exit code; nothing throws.
int run_command_line(const std::vector<std::string>& arguments, std::ostream& output, std::ostream& errors);

int run_hypertrain(const std::vector<std::string>& arguments, std::ostream& output, std::ostream& errors);
int run_train(const std::vector<std::string>& arguments, std::ostream& output, std::ostream& errors);
int run_search(const std::vector<std::string>& arguments, std::ostream& output, std::ostream& errors);
int run_info(const std::vector<std::string>& arguments, std::ostream& output, std::ostream& errors);
int run_compare(const std::vector<std::string>& arguments, std::ostream& output, std::ostream& errors);
int run_noise(const std::vector<std::string>& arguments, std::ostream& output, std::ostream& errors);

// `fds hypertrain --method hd|greedy` (greedy_command.cpp), on resolved settings and their checked
// dataset: progress and the report on `output`, the summary as JSON on `json` when given (--json).
int run_greedy_hypertrain(const hypertrain_settings& settings, const data::dataset& dataset,
                          const std::string& directory, std::ostream& output, std::ostream* json);

std::string program_help();
std::string program_version();

// What config.json records of a run: {"program", "version", "command", "seed", "settings"}.
nlohmann::json run_config(const std::string& command, const hypertrain_settings& settings);

}  // namespace fds::cli
