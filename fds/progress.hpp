#pragma once
// Progress reports of a hyper-training or retraining run, for a command line or a log.

#include <cstddef>
#include <functional>
#include <string>

namespace fds {

struct progress_event {
    std::string phase;  // "hypertrain" | "retrain" | "greedy" | "noise"
    std::size_t outer_step = 0;  // 0 while retraining
    std::size_t epoch = 0, epochs = 0;
    std::size_t inner_step = 0, inner_steps = 0;  // step within the run, steps of the run
    double inner_steps_per_second = 0.0;
};

using progress_callback = std::function<void(const progress_event&)>;

// The event after steps_done of a run's total_steps steps, `seconds` after the run started.
inline progress_event progress_after(const std::string& phase, std::size_t outer_step, std::size_t steps_done,
                                     std::size_t total_steps, std::size_t batches_per_epoch, double seconds) {
    progress_event event;
    event.phase = phase;
    event.outer_step = outer_step;
    event.epoch = steps_done > 0 && batches_per_epoch > 0 ? (steps_done - 1) / batches_per_epoch : 0;
    event.epochs = batches_per_epoch > 0 ? total_steps / batches_per_epoch : 0;
    event.inner_step = steps_done;
    event.inner_steps = total_steps;
    event.inner_steps_per_second = seconds > 0 ? static_cast<double>(steps_done) / seconds : 0.0;
    return event;
}

}  // namespace fds
