#include "embedded_default.hpp"

#include <sstream>

namespace fds::cli {

const std::vector<std::size_t>& embedded_default::budget() {
    static const std::vector<std::size_t> epochs = {3, 3, 3, 3, 3, 3};
    return epochs;
}

bool apply_embedded_default(parsed_arguments& arguments) {
    if (arguments.given.count("dataset")) return false;
    hypertrain_settings& settings = arguments.settings;
    settings.dataset = embedded_default::dataset;
    if (!arguments.given.count("architecture")) settings.architecture = embedded_default::architecture;
    if (!arguments.given.count("n_inner_epochs_per_outer_steps"))
        settings.n_inner_epochs_per_outer_steps = embedded_default::budget();
    if (!arguments.given.count("retrain_n_epochs")) settings.retrain_n_epochs = embedded_default::retrain_n_epochs;
    return true;
}

std::string embedded_default_help() {
    std::ostringstream text;
    text << "Without --dataset (on the command line or in the --config file), fds runs its embedded default:\n"
         << "  --dataset " << embedded_default::dataset << " --architecture " << embedded_default::architecture
         << " --n_inner_epochs_per_outer_steps";
    for (std::size_t epochs : embedded_default::budget()) text << " " << epochs;
    text << " --retrain_n_epochs " << embedded_default::retrain_n_epochs << "\n"
         << "(real Fashion-MNIST from Debian's dataset-fashion-mnist; about 2 minutes on 2 cores), each of\n"
         << "these overridable. With --dataset, every default is the reference's (shown below).\n";
    return text.str();
}

}  // namespace fds::cli
