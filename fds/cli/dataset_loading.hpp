#pragma once
// Loading the dataset named by the settings, with the command line's error contract: a missing
// or unreadable dataset is a cli_error with exit code 3 whose message (from the data module)
// names the file and directory and says where to get the dataset.

#include <fds/data/dataset.hpp>
#include <fds/hypertrain_settings.hpp>

#include <cstddef>
#include <string>

namespace fds::cli {

data::dataset load_dataset_for(const hypertrain_settings& settings);

// The same, then fds::check_setup_fits: settings the data cannot hold are a usage error (exit 2)
// raised before a command claims its run directory.
data::dataset load_checked_dataset(const hypertrain_settings& settings);

// Applies settings.threads to the library's threads (0: keep the default, OpenBLAS's count: all
// cores unless OPENBLAS_NUM_THREADS says otherwise), capped at the CPUs this process may use (its
// affinity mask and cgroup quota). Returns the note to print when it capped, else "".
std::string apply_thread_count(const hypertrain_settings& settings);

// CPUs this process may run on: the affinity mask's, lowered by a cgroup v2 CPU quota.
std::size_t usable_cpu_count();

}  // namespace fds::cli
