#pragma once
// What a person watching a run sees. On a terminal one live line, redrawn in place with "\r":
//   hypertrain outer 3/10 epoch 4/10 | 41.2 steps/s | ETA 6m12s | last val acc 81.4%
// When the output is a file or a pipe (a log), plain lines instead: one per epoch and one per
// finished outer step, so the log is readable and not flooded. Retraining's line has no "last val
// acc": the outer steps' accuracy says nothing about the new run.
//
// The ETA counts the inner steps still to run at the current rate: the rest of this inner run,
// then the epochs of the outer steps still to come (each epoch as long as this one's), and for
// retraining the rest of the retraining run.

#include <chrono>
#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <fds/progress.hpp>

namespace fds::cli {

struct progress_update {
    std::string phase;  // "hypertrain" | "retrain" | "greedy" | "noise"
    std::size_t outer_step = 0;  // 0-based
    std::size_t epoch = 0;  // 0-based epoch of the current inner run
    std::size_t epochs = 0;
    std::size_t inner_step = 0;  // steps done in the current inner run (0..inner_steps)
    std::size_t inner_steps = 0;
    double inner_steps_per_second = 0.0;
};

class progress_reporter {
 public:
    // `budget`: epochs of every outer step (n_inner_epochs_per_outer_steps).
    progress_reporter(std::ostream& stream, bool live, std::vector<std::size_t> budget);

    void update(const progress_update& update);
    // A finished outer step: one plain line (and the live line's "last val acc").
    void outer_step_finished(std::size_t outer_step, double val_acc, double test_acc, double seconds);
    // Any other line of output, printed without garbling the live line.
    void message(const std::string& text);
    // Ends the live line (before the program's final output).
    void finish();

    // Seconds left at the rate of `update` (exposed for tests).
    double remaining_seconds(const progress_update& update) const;

 private:
    void clear_live_line();

    std::ostream& stream_;
    bool live_;
    std::vector<std::size_t> budget_;
    std::optional<double> last_val_acc_;
    std::size_t live_line_length_ = 0;
    std::chrono::steady_clock::time_point last_draw_{};
    std::string last_plain_key_;
};

// The reporter's view of the library's progress event.
progress_update update_of(const progress_event& event);

// "1h02m", "4m05s", "12s"; "?" for a non-finite or negative time.
std::string format_duration(double seconds);

// Whether standard output is a terminal (isatty), decided once.
bool standard_output_is_terminal();
// The same for the stream a command's progress goes to: standard error with --json.
bool progress_stream_is_terminal(bool json_output);

// A stop asked for by SIGINT or SIGTERM, thrown by the next progress update or message once the
// write in progress has finished (run_command_line turns it into exit 128 + signal).
struct stop_requested {
    int signal_number;
};

// Makes SIGINT and SIGTERM ask for a stop (stop_requested) instead of killing the process; a
// second signal kills it at once.
void stop_cleanly_on_signals();

// The signal that asked for a stop, or 0.
int requested_stop_signal();

}  // namespace fds::cli
