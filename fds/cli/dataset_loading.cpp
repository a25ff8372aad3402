#include "dataset_loading.hpp"

#include "cli_error.hpp"

#include <data/dataset_error.hpp>
#include <fds/run_setup.hpp>

#include <autodiff/parallel.hpp>

namespace fds::cli {

data::dataset load_dataset_for(const hypertrain_settings& settings) {
    try {
        return data::load_dataset(settings.dataset, settings.datasets_path);
    } catch (const data::dataset_error& error) {
        // the data module says where to get the dataset; say how to point fds at it
        throw cli_error(exit_code::data, std::string(error.what()) + "\n(fds reads the directory given by --datasets_path)");
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

void apply_thread_count(const hypertrain_settings& settings) {
    if (settings.threads > 0) autodiff::set_thread_count(settings.threads);
}

}  // namespace fds::cli
