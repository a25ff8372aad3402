#pragma once
// The directory one experiment leaves behind, and how a re-run of the same command resumes it.
//
//   config.json      {"program": "fds", "version", "command", "settings": {every resolved option}}
//   .fds-lock        locked (flock) by the process working in the directory
//   history.jsonl    one JSON object per finished outer step (see history_record.hpp), appended
//                    and fsynced line by line
//   checkpoint.json  {"next_outer_step", "hypertrain_seconds", "trainer": hyper_trainer::checkpoint()}
//   retrain_checkpoint.json, retrain_state.<epochs>.npy   while retraining: where it stands after
//                    its last finished epoch (retrain_summary.hpp); removed when it is done
//   summary.json     final schedules, best outer step, retraining result, total seconds
//   schedules.dat/.gp/.png   the learned schedules (schedule_plot.hpp)
//
// Every other file is replaced atomically (atomic_file.hpp). After an outer step the history line
// is appended first and the checkpoint written second, so a kill between the two leaves at most
// one history line beyond the checkpoint; resuming drops every line at or beyond the checkpoint's
// next outer step (that step is run again) and rewrites the file.

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fds::cli {

// Options that do not change a run's results and so may differ when resuming.
const std::set<std::string>& settings_ignored_on_resume();

class run_directory {
 public:
    explicit run_directory(std::filesystem::path directory);
    ~run_directory();
    run_directory(const run_directory&) = delete;
    run_directory& operator=(const run_directory&) = delete;

    const std::filesystem::path& path() const;
    std::filesystem::path file(const std::string& name) const;

    // Makes the directory ready for the experiment described by `config` (its "settings" are
    // compared): creates it and writes config.json, or finds the same experiment there.
    // Returns true when it already held this experiment (the run resumes).
    // Holds an exclusive lock on DIR/.fds-lock (flock) until destroyed and removes the temporary
    // files a killed writer left. Throws cli_error(run_directory_conflict) when another process
    // holds the lock, when the directory holds a different experiment (naming every differing key
    // with its recorded and requested value), or when it holds other files.
    bool open(const nlohmann::json& config);

    std::optional<nlohmann::json> read_config() const;

    // history.jsonl: every line is one object. An unterminated last line (a kill while appending)
    // is dropped and removed from the file; any other line that does not parse is an error naming
    // the file and line.
    std::vector<nlohmann::json> read_history() const;
    // Replaces the whole history atomically (on resume, to drop lines beyond the checkpoint).
    void write_history(const std::vector<nlohmann::json>& records) const;
    // Appends one record as a line and flushes it to disk, so `tail -f` follows the run.
    void append_history(const nlohmann::json& record) const;

    std::optional<nlohmann::json> read_checkpoint() const;
    void write_checkpoint(const nlohmann::json& checkpoint) const;

    std::optional<nlohmann::json> read_summary() const;
    void write_summary(const nlohmann::json& summary) const;

 private:
    std::optional<nlohmann::json> read_json(const std::string& name) const;
    void write_json(const std::string& name, const nlohmann::json& value) const;

    void lock();

    std::filesystem::path directory_;
    int lock_descriptor_ = -1;
};

// The history records of outer steps before `next_outer_step`, in order, one per step: lines of
// steps not covered by the checkpoint are dropped, and a repeated step keeps its last line.
// Throws std::runtime_error naming the missing outer step when the history has a gap.
std::vector<nlohmann::json> reconcile_history(const std::vector<nlohmann::json>& records, std::size_t next_outer_step);

// "runs/<dataset>_<architecture>_S<seed>"
std::string default_run_directory(const std::string& dataset, const std::string& architecture, std::uint64_t seed);

}  // namespace fds::cli
