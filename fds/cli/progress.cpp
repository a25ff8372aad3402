#include "progress.hpp"

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include <csignal>

#include <unistd.h>

namespace fds::cli {

progress_reporter::progress_reporter(std::ostream& stream, bool live, std::vector<std::size_t> budget)
    : stream_(stream), live_(live), budget_(std::move(budget)) {}

double progress_reporter::remaining_seconds(const progress_update& update) const {
    if (!(update.inner_steps_per_second > 0.0) || update.epochs == 0) return -1.0;
    double steps_left = static_cast<double>(update.inner_steps) - static_cast<double>(update.inner_step);
    // the outer steps still to come; `fds noise` passes its runs as outer steps of one epoch each
    if (update.phase == "hypertrain" || update.phase == "noise") {
        double steps_per_epoch = static_cast<double>(update.inner_steps) / static_cast<double>(update.epochs);
        for (std::size_t step = update.outer_step + 1; step < budget_.size(); ++step)
            steps_left += steps_per_epoch * static_cast<double>(budget_[step]);
    }
    return std::max(0.0, steps_left) / update.inner_steps_per_second;
}

progress_update update_of(const progress_event& event) {
    progress_update update;
    update.phase = event.phase;
    update.outer_step = event.outer_step;
    update.epoch = event.epoch;
    update.epochs = event.epochs;
    update.inner_step = event.inner_step;
    update.inner_steps = event.inner_steps;
    update.inner_steps_per_second = event.inner_steps_per_second;
    return update;
}

std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    long long whole = static_cast<long long>(std::llround(seconds));
    char text[32];
    if (whole >= 3600)
        std::snprintf(text, sizeof text, "%lldh%02lldm", whole / 3600, (whole % 3600) / 60);
    else if (whole >= 60)
        std::snprintf(text, sizeof text, "%lldm%02llds", whole / 60, whole % 60);
    else
        std::snprintf(text, sizeof text, "%llds", whole);
    return text;
}

void progress_reporter::update(const progress_update& update) {
    if (const int signal_number = requested_stop_signal()) {
        clear_live_line();
        throw stop_requested{signal_number};
    }
    std::ostringstream line;
    line << update.phase;
    if (update.phase == "hypertrain") line << " outer " << update.outer_step + 1 << "/" << budget_.size();
    if (update.phase == "noise")
        line << " run " << update.outer_step + 1 << "/" << budget_.size() << " step " << update.inner_step << "/"
             << update.inner_steps;
    else
        line << " epoch " << std::min(update.epoch + 1, update.epochs) << "/" << update.epochs;
    line << " | " << std::fixed << std::setprecision(1) << update.inner_steps_per_second << " steps/s | ETA "
         << format_duration(remaining_seconds(update));
    // an outer step's accuracy, shown while hyper-training goes on; retraining from scratch is a
    // new run, which that figure does not describe
    if (last_val_acc_ && update.phase == "hypertrain") {
        line << " | last val acc " << std::setprecision(1) << 100.0 * *last_val_acc_ << "%";
    }

    if (live_) {
        auto now = std::chrono::steady_clock::now();
        // redraw at most 5 times a second; a terminal does not need more
        if (now - last_draw_ < std::chrono::milliseconds(200) && update.inner_step < update.inner_steps) return;
        last_draw_ = now;
        std::string text = line.str();
        std::string padding(live_line_length_ > text.size() ? live_line_length_ - text.size() : 0, ' ');
        stream_ << "\r" << text << padding << std::flush;
        live_line_length_ = text.size();
        return;
    }
    // a log line per epoch, and every 30 seconds within a long epoch
    std::string key = update.phase + "/" + std::to_string(update.outer_step) + "/" + std::to_string(update.epoch);
    auto now = std::chrono::steady_clock::now();
    if (key == last_plain_key_ && now - last_draw_ < std::chrono::seconds(30)) return;
    last_plain_key_ = key;
    last_draw_ = now;
    stream_ << line.str() << "\n" << std::flush;
}

void progress_reporter::clear_live_line() {
    if (live_ && live_line_length_ > 0) {
        stream_ << "\r" << std::string(live_line_length_, ' ') << "\r";
        live_line_length_ = 0;
    }
}

void progress_reporter::outer_step_finished(std::size_t outer_step, double val_acc, double test_acc, double seconds) {
    last_val_acc_ = val_acc;
    std::ostringstream line;
    line << "outer step " << outer_step + 1 << "/" << budget_.size() << " done in " << format_duration(seconds)
         << ": val acc " << std::fixed << std::setprecision(2) << 100.0 * val_acc << "%, test acc " << 100.0 * test_acc
         << "%";
    message(line.str());
}

void progress_reporter::message(const std::string& text) {
    clear_live_line();
    stream_ << text << "\n" << std::flush;
    last_plain_key_.clear();
    if (const int signal_number = requested_stop_signal()) throw stop_requested{signal_number};
}

void progress_reporter::finish() { clear_live_line(); }

bool standard_output_is_terminal() {
    static const bool terminal = ::isatty(STDOUT_FILENO) == 1;
    return terminal;
}

bool progress_stream_is_terminal(bool json_output) {
    static const bool error_terminal = ::isatty(STDERR_FILENO) == 1;
    return json_output ? error_terminal : standard_output_is_terminal();
}

namespace detail {

volatile std::sig_atomic_t stop_signal = 0;

extern "C" void ask_to_stop(int signal_number) {
    // only async-signal-safe work here: a flag, or the default action on the second signal
    if (stop_signal != 0) {
        std::signal(signal_number, SIG_DFL);
        std::raise(signal_number);
        return;
    }
    stop_signal = signal_number;
}

}  // namespace detail

void stop_cleanly_on_signals() {
    std::signal(SIGINT, detail::ask_to_stop);
    std::signal(SIGTERM, detail::ask_to_stop);
}

int requested_stop_signal() { return detail::stop_signal; }

}  // namespace fds::cli
