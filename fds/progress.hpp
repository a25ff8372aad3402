#pragma once
// Progress reports of a hyper-training or retraining run, for a command line or a log.

#include <cstddef>
#include <functional>
#include <string>

namespace fds {

struct progress_event {
    std::string phase;  // "hypertrain" | "retrain"
    std::size_t outer_step = 0;  // 0 while retraining
    std::size_t epoch = 0, epochs = 0;
    std::size_t inner_step = 0, inner_steps = 0;  // step within the run, steps of the run
    double inner_steps_per_second = 0.0;
};

using progress_callback = std::function<void(const progress_event&)>;

}  // namespace fds
