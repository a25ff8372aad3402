// `fds search`: black-box search over the schedules FDS learns (random search or Hyperband),
// each trial ordinary training scored on the validation split, then the winner retrained from
// scratch and tested as `fds hypertrain` retrains. The run directory holds config.json,
// trials.jsonl (one line per finished trial, appended and fsynced: a kill loses at most the
// trials in progress, and a re-run asks for the same trials in the same order, reading the
// finished ones back instead of running them again) and summary.json.

#include "commands.hpp"

#include "atomic_file.hpp"
#include "cli_error.hpp"
#include "collective_tasks.hpp"
#include "dataset_loading.hpp"
#include "embedded_default.hpp"
#include "json_number.hpp"
#include "options.hpp"
#include "process_group.hpp"
#include "progress.hpp"
#include "retrain_summary.hpp"
#include "run_directory.hpp"

#include <fds/hyper_trainer.hpp>
#include <fds/retrain.hpp>
#include <fds/schedule_space.hpp>
#include <fds/search/hand_tuning.hpp>
#include <fds/search/hyperband.hpp>
#include <fds/search/random_search.hpp>

#include <algorithm>
#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>

namespace fds::cli {

namespace detail {

const argument_grammar search_grammar{"search", {}, {"config", "out"}};

std::string search_help() {
    std::ostringstream text;
    text
        << "usage: fds search [--config FILE.json] [--out DIR] [--search_method random|hyperband|hand] [--OPTION VALUE ...]\n\n"
        << "Black-box search over the same schedules FDS learns (n_lrs lr, n_moms momentum, n_wds weight-decay\n"
        << "values drawn from the search_* ranges), each trial ordinary training on the training split scored on\n"
        << "the validation split; the best configuration is retrained from scratch and tested. Random search\n"
        << "trains search_trials configurations for search_max_epochs each; Hyperband (Li et al. 2018) runs\n"
        << "brackets of successive halving with R = search_max_epochs and eta = search_eta. Re-running the same\n"
        << "command resumes: finished trials are read back from trials.jsonl. The hand method is the\n"
        << "hand-tuned baseline: cosine annealing, momentum 0.9, wd 5e-4, lr0 in {0.01, 0.03, 0.1}.\n\n"
        << "  --config FILE.json                    options from a JSON object with the same keys\n"
        << "  --out DIR                             run directory [default runs/search_<method>_<dataset>_<architecture>_S<seed>]\n"
        << "  --print_config                        print the resolved config (config.json's content) and exit\n"
        << "  --json                                print only the summary, as one JSON document, on stdout;\n"
        << "                                        progress and messages go to stderr\n"
        << "  --help                                this text\n\n"
        << embedded_default_help() << "\nOptions:\n"
        << options_help(search_grammar);
    return text.str();
}

nlohmann::json trial_line(const search::search_trial& trial) {
    const trial_outcome& outcome = trial.outcome;
    return {{"trial", trial.request.id},    {"bracket", trial.request.bracket},
            {"rung", trial.request.rung},   {"epochs", trial.request.epochs},
            {"steps", outcome.steps},       {"schedule", to_json(trial.request.schedule)},
            {"val_acc", outcome.val_acc},   {"val_loss", finite_or_null(outcome.val_loss)},
            {"test_acc", outcome.test_acc}, {"seconds", outcome.seconds},
            {"diverged", outcome.diverged}};
}

// Finished trials by id, from trials.jsonl; a line that does not parse is an error naming it.
std::map<std::size_t, nlohmann::json> read_trials(const std::filesystem::path& path) {
    std::map<std::size_t, nlohmann::json> trials;
    std::size_t number = 0;
    for (const std::string& line : read_whole_lines(path)) {
        ++number;
        nlohmann::json record;
        try {
            record = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error& error) {
            throw std::runtime_error(path.string() + " line " + std::to_string(number) +
                                     " is not valid JSON: " + error.what());
        }
        if (!record.is_object() || !record.contains("trial") || !record["trial"].is_number_unsigned())
            throw std::runtime_error(path.string() + " line " + std::to_string(number) + " has no \"trial\" number");
        trials[record["trial"].get<std::size_t>()] = record;
    }
    return trials;
}

trial_outcome outcome_of(const nlohmann::json& record, const trial_request& request,
                         const std::filesystem::path& path) {
    const std::string where = path.string() + " trial " + std::to_string(request.id);
    try {
        const hyper_values recorded = hyper_values_from_json(record.at("schedule"), "schedule");
        if (recorded.lr != request.schedule.lr || recorded.mom != request.schedule.mom ||
            recorded.wd != request.schedule.wd || record.at("epochs").get<double>() != request.epochs)
            throw std::runtime_error("holds another configuration than this search draws");
        trial_outcome outcome;
        outcome.val_acc = record.at("val_acc").get<double>();
        outcome.val_loss = record.at("val_loss").is_null() ? std::nan("") : record.at("val_loss").get<double>();
        outcome.test_acc = record.at("test_acc").get<double>();
        outcome.steps = record.at("steps").get<std::size_t>();
        outcome.seconds = record.at("seconds").get<double>();
        outcome.diverged = record.at("diverged").get<bool>();
        return outcome;
    } catch (const nlohmann::json::exception& error) {
        throw std::runtime_error(where + ": " + error.what());
    } catch (const std::runtime_error& error) {
        throw std::runtime_error(where + ": " + error.what());
    }
}

// The full-length trials by validation accuracy, the winner first.
std::vector<retrain_candidate> retrain_candidates(const search::search_result& result) {
    const search::search_trial& best = result.best();
    std::vector<const search::search_trial*> trials;
    for (const search::search_trial& trial : result.trials)
        if (trial.request.epochs == best.request.epochs && !trial.outcome.diverged) trials.push_back(&trial);
    std::stable_sort(trials.begin(), trials.end(), [](const search::search_trial* a, const search::search_trial* b) {
        return a->outcome.val_acc > b->outcome.val_acc;
    });
    std::vector<retrain_candidate> candidates = {
        {best.request.schedule, "best (trial " + std::to_string(best.request.id + 1) + ")"}};
    for (const search::search_trial* trial : trials)
        if (trial != &best)
            candidates.push_back({trial->request.schedule, "trial " + std::to_string(trial->request.id + 1)});
    return candidates;
}

}  // namespace detail

int run_search(const std::vector<std::string>& arguments, std::ostream& output, std::ostream& errors) {
    parsed_arguments parsed = parse_arguments(detail::search_grammar, arguments);
    if (parsed.help) {
        output << detail::search_help();
        return 0;
    }
    apply_embedded_default(parsed);
    const hypertrain_settings settings = resolve_settings(parsed.settings);
    if (parsed.print_config) {
        output << run_config("search", settings).dump(2) << "\n";
        return 0;
    }
    if (const std::string note = apply_thread_count(settings); !note.empty()) errors << note << "\n";
    schedule_space space;
    try {
        space = schedule_space_of(settings);  // search_eta > 1 is the option table's check
    } catch (const std::invalid_argument& error) {
        throw usage_error(std::string("--") + error.what());
    }
    const double full_epochs =
        static_cast<double>(settings.search_max_epochs > 0 ? settings.search_max_epochs : retrain_epochs(settings));
    const std::string directory =
        parsed.extra.count("out")
            ? parsed.extra["out"]
            : "runs/search_" + settings.search_method + "_" +
                  default_run_directory(settings.dataset, settings.architecture, settings.seed).substr(5);
    const data::dataset dataset = load_checked_dataset(settings);
    run_directory run(directory);
    const bool resuming = run.open(run_config("search", settings));
    std::ostream& human = parsed.json_output ? errors : output;
    progress_reporter reporter(human, progress_stream_is_terminal(parsed.json_output), {});
    stop_cleanly_on_signals();
    if (std::optional<nlohmann::json> summary = run.read_summary();
        summary && summary->value("status", "") == "finished") {
        reporter.message("fds: " + directory + " holds a finished search; its summary:");
        (*summary)["run_directory"] = directory;
        output << summary->dump(2) << "\n";
        return 0;
    }
    const std::filesystem::path trials_file = run.file("trials.jsonl");
    const std::map<std::size_t, nlohmann::json> finished = detail::read_trials(trials_file);
    reporter.message(std::string(resuming ? "fds: resuming " : "fds: searching into ") + directory + " (" +
                     settings.search_method + ", " + std::to_string(finished.size()) + " trials done)");

    // the trials not read back go in waves of one per rank; each wave's lines are appended when it ends
    const std::size_t ranks = process_group().size();
    const trial_batch_runner runner = [&](const std::vector<trial_request>& requests) {
        std::vector<trial_outcome> outcomes(requests.size());
        std::vector<std::size_t> pending;
        for (std::size_t i = 0; i < requests.size(); ++i) {
            if (auto done = finished.find(requests[i].id); done != finished.end())
                outcomes[i] = detail::outcome_of(done->second, requests[i], trials_file);
            else
                pending.push_back(i);
        }
        for (std::size_t start = 0; start < pending.size(); start += ranks) {
            const std::vector<std::size_t> wave(pending.begin() + start,
                                                pending.begin() + std::min(pending.size(), start + ranks));
            std::vector<trial_request> wave_requests;
            for (std::size_t i : wave) wave_requests.push_back(requests[i]);
            const std::vector<trial_outcome> wave_outcomes = run_trials_on_all_ranks(settings, dataset, wave_requests);
            for (std::size_t k = 0; k < wave.size(); ++k) {
                const trial_request& request = wave_requests[k];
                const trial_outcome& outcome = outcomes[wave[k]] = wave_outcomes[k];
                append_line_durably(trials_file, detail::trial_line({request, outcome}).dump());
                std::ostringstream line;
                line << "trial " << request.id + 1 << ": " << std::setprecision(3) << request.epochs
                     << " epochs, val acc " << std::fixed << std::setprecision(2) << 100 * outcome.val_acc << "% ("
                     << format_duration(outcome.seconds) << ")";
                reporter.message(line.str());
            }
        }
        return outcomes;
    };
    search::search_result result;
    if (settings.search_method == "hyperband") {
        result = search::hyperband(space, full_epochs, settings.search_eta, settings.seed, runner);
    } else if (settings.search_method == "hand") {
        result = search::hand_tuning(trial_steps(full_epochs, trial_batches_per_epoch(settings, dataset)), full_epochs,
                                     runner);
    } else {
        result = search::random_search(space, settings.search_trials, full_epochs, settings.seed, runner,
                                       settings.search_seconds_budget, ranks);
    }
    double search_seconds = 0.0, trial_epochs = 0.0;
    for (const search::search_trial& trial : result.trials) {
        search_seconds += trial.outcome.seconds;
        trial_epochs += trial.request.epochs;
    }
    const search::search_trial& best = result.best();

    nlohmann::json summary = {{"program", "fds"},
                              {"version", program_version()},
                              {"status", "finished"},
                              {"method", settings.search_method},
                              {"trials", result.trials.size()},
                              {"trainings", trial_epochs / full_epochs},
                              {"best_trial", best.request.id},
                              {"best", to_json(best.request.schedule)},
                              {"best_val_acc", best.outcome.val_acc},
                              {"search_seconds", search_seconds}};
    add_retrain_summary(
        summary, retrain_and_summarize(settings, dataset, detail::retrain_candidates(result), reporter, {}, run.path()),
        search_seconds);
    run.write_summary(summary);
    reporter.finish();
    std::ostringstream report;
    report << "\n"
           << settings.search_method << " search: " << result.trials.size() << " trials (" << std::setprecision(3)
           << trial_epochs / full_epochs << " full-length trainings), best validation accuracy " << std::fixed
           << std::setprecision(2) << 100 * best.outcome.val_acc << "% (trial " << best.request.id + 1 << ")\n";
    if (!summary["retrain_test_acc"].is_null())
        report << "retrained " << settings.retrain_n_epochs << " epochs from scratch: test accuracy "
               << 100 * summary["retrain_test_acc"].get<double>() << "%\n";
    report << "total " << format_duration(summary["total_seconds"].get<double>()) << "; run directory " << directory
           << " (summary.json, trials.jsonl)\n";
    human << report.str() << std::flush;
    if (parsed.json_output) {
        summary["run_directory"] = directory;
        output << summary.dump(2) << "\n" << std::flush;
    }
    (void)errors;
    return 0;
}

}  // namespace fds::cli
