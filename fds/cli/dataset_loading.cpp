#include "dataset_loading.hpp"

#include "cli_error.hpp"

#include <fds/data/dataset_error.hpp>
#include <fds/run_setup.hpp>

#include <fds/autodiff/parallel.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <thread>

#include <sched.h>

namespace fds::cli {

data::dataset load_dataset_for(const hypertrain_settings& settings) {
    try {
        return data::load_dataset(settings.dataset, settings.datasets_path);
    } catch (const data::dataset_error& error) {
        // the data module says where to get the dataset; say how to point fds at it
        throw cli_error(exit_code::data,
                        std::string(error.what()) + "\n(fds reads the directory given by --datasets_path)");
    }
}

data::dataset load_checked_dataset(const hypertrain_settings& settings) {
    data::dataset dataset = load_dataset_for(settings);
    try {
        check_setup_fits(settings, dataset);
    } catch (const std::invalid_argument& error) {
        throw usage_error(std::string("these options cannot be trained: ") + error.what());
    }
    return dataset;
}

std::size_t usable_cpu_count() {
    std::size_t cpus = std::max(1u, std::thread::hardware_concurrency());
    cpu_set_t mask;
    if (::sched_getaffinity(0, sizeof mask, &mask) == 0) cpus = std::max(1, CPU_COUNT(&mask));
    // cgroup v2: "max 100000" (no quota) or "<quota> <period>" in microseconds
    std::ifstream quota_file("/sys/fs/cgroup/cpu.max");
    std::string quota;
    double period = 0;
    if (quota_file >> quota >> period && quota != "max" && period > 0) {
        const double quota_cpus = std::ceil(std::stod(quota) / period);
        if (quota_cpus >= 1) cpus = std::min(cpus, static_cast<std::size_t>(quota_cpus));
    }
    return cpus;
}

std::string apply_thread_count(const hypertrain_settings& settings) {
    if (settings.threads == 0) return "";
    const std::size_t usable = usable_cpu_count();
    const std::size_t threads = std::min(settings.threads, usable);
    autodiff::set_thread_count(threads);
    if (threads == settings.threads) return "";
    return "fds: --threads " + std::to_string(settings.threads) + " is more than the " + std::to_string(usable) +
           " CPUs this process may use; running " + std::to_string(threads) + " threads";
}

}  // namespace fds::cli
