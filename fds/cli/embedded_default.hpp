#pragma once
// The run `fds hypertrain` makes when no dataset is named: real Fashion-MNIST (Debian package
// dataset-fashion-mnist), a small budget that finishes in a few minutes on a 2-core machine,
// then retraining. It replaces the reference's defaults (CIFAR-10, WRN-16-1, ten outer steps of
// up to 10 epochs: many hours on a CPU) for the keys below only, and only when neither a flag
// nor a config file names the dataset; each key can still be set on its own. With --dataset,
// every default is the reference's.

#include "options.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace fds::cli {

struct embedded_default {
    static constexpr const char* dataset = "FashionMNIST";
    static constexpr const char* architecture = "MLP";
    // epochs of the inner run of each outer step: every inner run at the retraining horizon, so
    // the schedule is learned for the run it will be used in
    static const std::vector<std::size_t>& budget();
    static constexpr int retrain_n_epochs = 3;
};

// Sets the embedded default's values on every one of its keys that `arguments` did not set,
// unless `arguments` set the dataset. Returns whether it applied.
bool apply_embedded_default(parsed_arguments& arguments);

// Lines for --help describing the embedded default.
std::string embedded_default_help();

}  // namespace fds::cli
