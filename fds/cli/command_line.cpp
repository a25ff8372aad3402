// `fds COMMAND ...`: dispatch to the subcommands and turn every error into a message and an exit
// code (cli_error.hpp), so that nothing escapes as a crash.

#include "commands.hpp"

#include "cli_error.hpp"
#include "closest_name.hpp"
#include "options.hpp"
#include "progress.hpp"

#include <csignal>

#include <ostream>

#ifndef FDS_VERSION
#define FDS_VERSION "unknown"
#endif

namespace fds::cli {

std::string program_version() { return FDS_VERSION; }

nlohmann::json run_config(const std::string& command, const hypertrain_settings& settings) {
    return {{"program", "fds"},
            {"version", program_version()},
            {"command", command},
            {"seed", settings.seed},
            {"settings", settings_to_json(settings)}};
}

std::string program_help() {
    return "usage: fds COMMAND [options]\n\n"
           "Forward-mode hyperparameter optimization with sharing (FDS, Micaelli & Storkey 2021).\n\n"
           "commands:\n"
           "  hypertrain   learn lr, momentum and weight-decay schedules, then retrain with them (--method hd|greedy:\n"
           "               the greedy alternatives)\n"
           "               (`fds hypertrain` alone: real Fashion-MNIST, MLP, about 2 minutes on 2 cores)\n"
           "  train        train from scratch with a given or hand-set schedule and report test accuracy\n"
           "  search       black-box search (random, Hyperband, hand-tuned) over the same schedules, then retrain\n"
           "  compare      every method (hand, hd, greedy, fds, random, hyperband) on one setup, several seeds\n"
           "  noise        hypergradient noise against the sharing window (the paper's Theorem 4.1)\n"
           "  info         print a dataset's summary as JSON\n\n"
           "`fds COMMAND --help` lists the options of a command; `fds --version` prints the version.\n\n"
           "on several processes (built with MPI): mpirun -np N fds hypertrain|train|search|compare ... shares every\n"
           "batch of hyper-training, training and retraining among the N ranks (--threads each) and runs black-box\n"
           "trials one per rank at a time; rank 0 alone writes the run directory. hd, greedy and noise run on rank 0.\n\n"
           "exit codes:\n"
           "  0  success\n"
           "  1  any other error (I/O, an unreadable checkpoint, an internal error)\n"
           "  2  usage: unknown command, option or config key; invalid value\n"
           "  3  data: the dataset is missing or unreadable (the message says where to get it)\n"
           "  4  run directory conflict: --out holds a different experiment or foreign files\n"
           "  130, 143  stopped by SIGINT (Ctrl-C) or SIGTERM after the write in progress: re-run the same command to\n"
           "            resume (a second signal stops at once; every write is atomic, so that is safe too)\n";
}

int run_command_line(const std::vector<std::string>& arguments, std::ostream& output, std::ostream& errors) {
    const std::vector<std::string> commands = {"hypertrain", "train", "search", "compare", "noise", "info"};
    try {
        if (arguments.empty()) {
            errors << program_help();
            return static_cast<int>(exit_code::usage);
        }
        const std::string& command = arguments[0];
        const std::vector<std::string> rest(arguments.begin() + 1, arguments.end());
        if (command == "--help" || command == "-h" || command == "help") {
            output << program_help();
            return 0;
        }
        if (command == "--version") {
            output << "fds " << program_version() << "\n";
            return 0;
        }
        if (command == "hypertrain") return run_hypertrain(rest, output, errors);
        if (command == "train") return run_train(rest, output, errors);
        if (command == "search") return run_search(rest, output, errors);
        if (command == "compare") return run_compare(rest, output, errors);
        if (command == "noise") return run_noise(rest, output, errors);
        if (command == "info") return run_info(rest, output, errors);
        throw usage_error("unknown command '" + command + "'" + did_you_mean(command, commands) +
                          "; commands: hypertrain, train, search, compare, noise, info (fds --help)");
    } catch (const stop_requested& stop) {
        output << std::flush;
        errors << "fds: stopped by " << (stop.signal_number == SIGTERM ? "SIGTERM" : "SIGINT")
               << "; what had finished is saved (outer steps, trials, noise runs, compared runs): run the same "
                  "command again to resume\n";
        return 128 + stop.signal_number;
    } catch (const cli_error& error) {
        output << std::flush;
        errors << "fds: error: " << error.what() << "\n";
        return static_cast<int>(error.code());
    } catch (const std::exception& error) {
        output << std::flush;
        errors << "fds: error: " << error.what() << "\n";
        return static_cast<int>(exit_code::failure);
    }
}

}  // namespace fds::cli
