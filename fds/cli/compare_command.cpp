// `fds compare`: every method on one setup and several seeds, side by side (comparison.hpp).
// Each (method, seed) is the method's own command run in-process into DIR/runs/<method>_S<seed>
// with the options of this command (through DIR/config.json) and its seed, its output in
// DIR/logs/<method>_S<seed>.log; so each run resumes as its command does, and re-running
// `fds compare` goes on where it stopped (finished runs are only read back). Then compare.json,
// compare.md and compare.png (gnuplot's compare.gp beside it) are written from all the runs.

#include "commands.hpp"

#include "cli_error.hpp"
#include "comparison.hpp"
#include "cpu_name.hpp"
#include "embedded_default.hpp"
#include "gnuplot.hpp"
#include "atomic_file.hpp"
#include "options.hpp"
#include "process_group.hpp"
#include "progress.hpp"
#include "run_directory.hpp"

#include <algorithm>
#include <csignal>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace fds::cli {

namespace detail {

const argument_grammar compare_grammar{"compare", {}, {"config", "out", "methods", "seeds"}};
const char* const default_methods = "hand,hd,greedy,fds,random,hyperband";

std::string compare_help() {
    std::ostringstream text;
    text
        << "usage: fds compare [--methods LIST] [--seeds N] [--out DIR] [--config FILE.json] [--OPTION VALUE ...]\n\n"
        << "Runs each method on the same setup (model, data, batch size, split, seeding, retraining) for N seeds\n"
        << "(seed, seed+1, ...) and compares them: DIR/compare.json (per method and seed the best-so-far curve\n"
        << "and the retrained test accuracy), compare.md (the table) and compare.png (best-so-far test accuracy\n"
        << "against wall time, mean and spread over seeds). Methods:\n"
        << "  hand       cosine, momentum 0.9, wd 5e-4, lr0 in {0.01, 0.03, 0.1} (fds search --search_method hand)\n"
        << "  hd         hypergradient descent (fds hypertrain --method hd)\n"
        << "  greedy     FDS over greedy_horizon steps within one run (fds hypertrain --method greedy)\n"
        << "  fds        FDS (fds hypertrain)\n"
        << "  random     random search (fds search --search_method random)\n"
        << "  hyperband  Hyperband (fds search --search_method hyperband)\n"
        << "  random_at_fds_time  random search given the wall time FDS took for the same seed (after fds)\n"
        << "  optuna     Optuna's TPE with median pruning (not in the default list): read from DIR/runs/optuna_S<seed>,\n"
        << "             which python3 examples/optuna_fds.py --compare DIR --seeds N writes from DIR/config.json\n"
        << "Every option below goes to every method. Re-running the same command resumes where it stopped.\n\n"
        << "  --methods LIST                        comma-separated methods [default " << default_methods << "]\n"
        << "  --seeds N                             seeds per method [default 3]\n"
        << "  --out DIR                             comparison directory [default runs/compare_<dataset>_<architecture>_S<seed>]\n"
        << "  --config FILE.json                    options from a JSON object with the same keys\n"
        << "  --print_config                        print the resolved config (config.json's content) and exit\n"
        << "  --json                                print only the summary, as one JSON document, on stdout;\n"
        << "                                        progress and messages go to stderr\n"
        << "  --help                                this text\n\n"
        << embedded_default_help() << "\nOptions:\n"
        << options_help(compare_grammar);
    return text.str();
}

std::vector<std::string> parse_methods(const std::string& text) {
    std::vector<std::string> methods;
    std::stringstream words(text);
    for (std::string method; std::getline(words, method, ',');) {
        const auto& known = comparison_methods();
        if (std::find(known.begin(), known.end(), method) == known.end()) {
            std::string names;
            for (const std::string& name : known) names += (names.empty() ? "" : ", ") + name;
            throw usage_error("--methods: unknown method \"" + method + "\"; expected a comma-separated list of " +
                              names);
        }
        if (std::find(methods.begin(), methods.end(), method) == methods.end()) methods.push_back(method);
    }
    if (methods.empty()) throw usage_error("--methods: expected at least one method, found \"" + text + "\"");
    return methods;
}

std::size_t parse_seed_count(const std::string& text) {
    try {
        std::size_t used = 0;
        const long long value = std::stoll(text, &used);
        if (used == text.size() && value >= 1 && value <= 1000) return static_cast<std::size_t>(value);
    } catch (const std::exception&) {}
    throw usage_error("--seeds must be an integer in [1, 1000], found '" + text + "'");
}

// fds_seconds: the search seconds of this seed's FDS run (for random_at_fds_time).
std::vector<std::string> method_command(const std::string& method, double fds_seconds) {
    if (method == "fds") return {"hypertrain"};
    if (method == "random_at_fds_time")
        return {"search",
                "--search_method",
                "random",
                "--search_trials",
                "1000000",
                "--search_seconds_budget",
                std::to_string(fds_seconds)};
    if (method == "hd" || method == "greedy") return {"hypertrain", "--method", method};
    return {"search", "--search_method", method};
}

std::string gnuplot_script(const std::filesystem::path& data, const std::filesystem::path& image,
                           const std::string& terminal, const nlohmann::json& comparison) {
    const nlohmann::json& setup = comparison.at("setup");
    // from a little below the worst final best-so-far accuracy: the early points of a search
    // (a first trial at 10%) would squash the curves that matter
    double low = 100.0, high = 0.0;
    for (const nlohmann::json& run : comparison.at("runs")) {
        const double final_value = 100 * run.at("curve").back().at("test_acc").get<double>();
        low = std::min(low, final_value);
        high = std::max(high, final_value);
    }
    std::ostringstream script;
    script << "set terminal " << terminal << " size 960,640\n"
           << "set output '" << image.string() << "'\n"
           << "set title 'fds compare: " << setup.at("dataset").get<std::string>() << " "
           << setup.at("architecture").get<std::string>()
           << ", best-so-far test accuracy (mean over seeds, band: min-max)'\n"
           << "set logscale x\nset grid\nset key bottom right noenhanced\n"
           << "set yrange [" << std::max(0.0, std::floor(low) - 3) << ":" << std::min(100.0, std::ceil(high) + 1)
           << "]\n"
           << "set xlabel 'wall seconds since the method started'\nset ylabel 'test accuracy (%)'\n"
           << "plot ";
    const nlohmann::json& table = comparison.at("table");
    for (std::size_t i = 0; i < table.size(); ++i) {
        const std::string method = table[i].at("method").get<std::string>();
        script << (i ? ", " : "") << "'" << data.string() << "' index " << i
               << " using 1:3:4 with filledcurves fs transparent solid 0.15 lc " << i + 1 << " notitle, '"
               << data.string() << "' index " << i << " using 1:2 with lines lw 2.5 lc " << i + 1 << " title '"
               << method << "'";
    }
    script << "\nset output\n";
    return script.str();
}

// Optuna's studies run outside (examples/optuna_fds.py); before any method runs, every seed's
// study must have finished in DIR/runs/optuna_S<seed>, or the user is told how to make them.
void require_optuna_runs(const run_directory& run, const std::vector<std::uint64_t>& seeds,
                         const std::string& directory) {
    std::string missing;
    for (std::uint64_t seed : seeds) {
        const std::filesystem::path summary = run.file("runs") / ("optuna_S" + std::to_string(seed)) / "summary.json";
        const std::optional<std::string> content = read_whole_file(summary);
        const nlohmann::json parsed = content ? nlohmann::json::parse(*content, nullptr, false) : nlohmann::json();
        if (!parsed.is_object() || parsed.value("status", "") != "finished")
            missing += (missing.empty() ? "" : ", ") + std::string("optuna_S") + std::to_string(seed);
    }
    if (missing.empty()) return;
    throw usage_error("--methods optuna: " + missing + " not finished in " + run.file("runs").string() +
                      "; run python3 examples/optuna_fds.py --compare " + directory + " --seeds " +
                      std::to_string(seeds.size()) + " (it reads " + run.file("config.json").string() +
                      "), then this command again");
}

}  // namespace detail

int run_compare(const std::vector<std::string>& arguments, std::ostream& output, std::ostream& errors) {
    parsed_arguments parsed = parse_arguments(detail::compare_grammar, arguments);
    if (parsed.help) {
        output << detail::compare_help();
        return 0;
    }
    apply_embedded_default(parsed);
    const hypertrain_settings settings = resolve_settings(parsed.settings);
    if (parsed.print_config) {
        output << run_config("compare", settings).dump(2) << "\n";
        return 0;
    }
    const std::vector<std::string> methods =
        detail::parse_methods(parsed.extra.count("methods") ? parsed.extra["methods"] : detail::default_methods);
    const auto position = [&](const std::string& name) { return std::find(methods.begin(), methods.end(), name); };
    if (position("random_at_fds_time") != methods.end() && position("fds") > position("random_at_fds_time"))
        throw usage_error("--methods: random_at_fds_time needs fds before it (it is given FDS's wall time)");
    const std::size_t seed_count = parsed.extra.count("seeds") ? detail::parse_seed_count(parsed.extra["seeds"]) : 3;
    const std::string directory =
        parsed.extra.count("out")
            ? parsed.extra["out"]
            : "runs/compare_" + default_run_directory(settings.dataset, settings.architecture, settings.seed).substr(5);
    run_directory run(directory);
    run.open(run_config("compare", settings));
    std::ostream& human = parsed.json_output ? errors : output;
    progress_reporter reporter(human, false, {});
    std::filesystem::create_directories(run.file("runs"));
    std::filesystem::create_directories(run.file("logs"));

    nlohmann::json runs = nlohmann::json::array();
    std::vector<std::uint64_t> seeds;
    for (std::size_t s = 0; s < seed_count; ++s) seeds.push_back(settings.seed + s);
    if (position("optuna") != methods.end()) detail::require_optuna_runs(run, seeds, directory);
    for (std::uint64_t seed : seeds) {
        double fds_seconds = 0.0;
        for (const std::string& method : methods) {
            const std::string name = method + "_S" + std::to_string(seed);
            const std::filesystem::path method_directory = run.file("runs") / name;
            if (method == "optuna") {  // an outside study, read back only
                runs.push_back(read_method_run(method, seed, method_directory));
                continue;
            }
            const std::filesystem::path log_file = run.file("logs") / (name + ".log");
            std::vector<std::string> command = detail::method_command(method, fds_seconds);
            for (const std::string& word :
                 {std::string("--config"), run.file("config.json").string(), std::string("--seed"),
                  std::to_string(seed), std::string("--out"), method_directory.string()})
                command.push_back(word);
            const auto start = std::chrono::steady_clock::now();
            int status = 0;
            {
                std::ofstream log(log_file, std::ios::app);
                if (!log) throw std::runtime_error("cannot write " + log_file.string());
                log << "$ fds";
                for (const std::string& word : command) log << " " << word;
                log << "\n" << std::flush;
                status = run_command_line(command, log, log);
            }
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (status == 128 + SIGINT || status == 128 + SIGTERM) throw stop_requested{status - 128};
            if (status != 0)
                throw cli_error(static_cast<exit_code>(status == 2 || status == 3 || status == 4 ? status : 1),
                                "compare: " + name + " failed (exit " + std::to_string(status) +
                                    "); its output is in " + log_file.string());
            nlohmann::json method_run = read_method_run(method, seed, method_directory);
            std::ostringstream line;
            line << name << ": test accuracy " << std::fixed << std::setprecision(2)
                 << 100 * method_run["final"]["final_test_acc"].get<double>() << "% after retraining, search "
                 << format_duration(method_run["final"]["seconds"].get<double>()) << " (" << format_duration(seconds)
                 << " this session)";
            reporter.message(line.str());
            if (method == "fds") fds_seconds = method_run["final"]["seconds"].get<double>();
            runs.push_back(std::move(method_run));
        }
    }

    nlohmann::json comparison = {
        {"format", "fds-compare"},
        {"version", 1},
        {"setup",
         {{"dataset", settings.dataset},
          {"architecture", settings.architecture},
          {"retrain_n_epochs", settings.retrain_n_epochs},
          {"n_inner_epochs_per_outer_steps", settings.n_inner_epochs_per_outer_steps},
          {"methods", methods},
          {"seeds", seeds},
          {"cpu",
           cpu_name() +
               (process_group().size() > 1 ? ", " + std::to_string(process_group().size()) + " MPI ranks" : "")}}},
        {"runs", runs}};
    comparison["table"] = comparison_table(runs);
    write_file_atomically(run.file("compare.json"), comparison.dump(2) + "\n");
    const std::string markdown = comparison_markdown(comparison);
    write_file_atomically(run.file("compare.md"), markdown);
    const std::filesystem::path data = std::filesystem::absolute(run.file("compare.dat"));
    write_file_atomically(data, comparison_plot_data(comparison));
    const plot_outcome plot =
        draw_with_gnuplot(run.path(), "compare", [&](const std::filesystem::path& image, const std::string& terminal) {
            return detail::gnuplot_script(data, image, terminal, comparison);
        });
    if (!plot.image_written) reporter.message("warning: " + plot.warning);
    human << "\n"
          << markdown << "\nrun directory " << directory << " (compare.json, compare.md, compare.png)\n"
          << std::flush;
    if (parsed.json_output) {
        comparison["run_directory"] = directory;
        output << comparison.dump(2) << "\n" << std::flush;
    }
    return 0;
}

}  // namespace fds::cli
