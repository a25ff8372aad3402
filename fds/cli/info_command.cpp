// `fds info`: a dataset's summary as JSON (counts per split and class, channel statistics).

#include "commands.hpp"

#include "dataset_loading.hpp"
#include "embedded_default.hpp"
#include "options.hpp"

#include <fds/data/dataset_summary.hpp>

#include <ostream>

namespace fds::cli {

int run_info(const std::vector<std::string>& arguments, std::ostream& output, std::ostream&) {
    const argument_grammar grammar{"info", {"dataset", "datasets_path"}, {}};
    parsed_arguments parsed = parse_arguments(grammar, arguments);
    if (parsed.help) {
        output << "usage: fds info [--dataset NAME] [--datasets_path DIR]\n\n"
               << "Prints the dataset's summary as JSON: images per split and class, per-channel mean and standard\n"
               << "deviation of the raw pixels scaled to [0, 1]. Without --dataset: " << embedded_default::dataset
               << ".\n\n"
               << options_help(grammar);
        return 0;
    }
    if (!parsed.given.count("dataset")) parsed.settings.dataset = embedded_default::dataset;
    output << data::dataset_summary(load_dataset_for(parsed.settings)).dump(2) << "\n";
    return 0;
}

}  // namespace fds::cli
