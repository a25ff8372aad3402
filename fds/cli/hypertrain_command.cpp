// `fds hypertrain`: the main job. See run_directory.hpp for what the run leaves behind and how a
// re-run of the same command resumes it.

#include "commands.hpp"

#include "cli_error.hpp"
#include "collective_tasks.hpp"
#include "dataset_loading.hpp"
#include "embedded_default.hpp"
#include "fault_injection.hpp"
#include "history_record.hpp"
#include "options.hpp"
#include "process_group.hpp"
#include "progress.hpp"
#include "retrain_summary.hpp"
#include "run_directory.hpp"
#include "schedule_plot.hpp"

#include <fds/hyper_trainer.hpp>
#include <fds/retrain.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <utility>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace fds::cli {

namespace detail {

// flags of the reference's main.py that change nothing here, each with why (log_directory_path
// places the run directory when --out is not given, as the reference's experiment folder)
const std::pair<const char*, const char*> reference_only_flags[] = {
    {"use_gpu", "fds runs on the CPU"},
    {"workers", "fds reads batches in its own threads"},
    {"epoch_log_freq", "fds reports every epoch"},
    {"outer_step_log_freq", "fds records every outer step in history.jsonl"},
    {"log_directory_path", "the run directory is DIR/<dataset>_<architecture>_S<seed> unless --out is given"}};

const argument_grammar hypertrain_grammar{"hypertrain",
                                          {},
                                          {"config", "out", "stop_after_outer_steps", "use_gpu", "workers",
                                           "epoch_log_freq", "outer_step_log_freq", "log_directory_path"}};

// The notes on the reference-only flags given; a value of the wrong kind is a usage error.
std::vector<std::string> reference_flag_notes(const std::map<std::string, std::string>& extra) {
    std::vector<std::string> notes;
    for (const auto& [name, why] : reference_only_flags) {
        auto found = extra.find(name);
        if (found == extra.end()) continue;
        const std::string flag = std::string("--") + name;
        if (flag == "--use_gpu" && !parse_boolean(found->second))
            throw usage_error("--use_gpu takes true or false, found '" + found->second + "'");
        if (flag == "--workers" || flag == "--epoch_log_freq" || flag == "--outer_step_log_freq") {
            std::size_t used = 0;
            long long value = -1;
            try {
                value = std::stoll(found->second, &used);
            } catch (const std::exception&) {}
            if (used != found->second.size() || value < (flag == "--workers" ? 0 : 1))
                throw usage_error(flag + " must be an integer >= " + (flag == "--workers" ? "0" : "1") + ", found '" +
                                  found->second + "'");
        }
        notes.push_back("fds: note: " + flag + " (the reference's) is accepted: " + why);
    }
    return notes;
}

std::string hypertrain_help() {
    std::ostringstream text;
    text
        << "usage: fds hypertrain [--config FILE.json] [--out DIR] [--OPTION VALUE ...]\n\n"
        << "Learns learning-rate, momentum and weight-decay schedules by forward-mode hypergradients with\n"
        << "sharing (FDS), then retrains from scratch with the learned schedule and reports test accuracy.\n"
        << "Re-running the same command resumes an interrupted run from its directory. --method hd or greedy\n"
        << "runs a greedy alternative instead (hypergradient descent; FDS over greedy_horizon steps), updating\n"
        << "the hyperparameters within one training run, and retrains its schedule the same way.\n\n"
        << "  --config FILE.json                    options from a JSON object with the same keys (or a run's\n"
        << "                                        config.json); flags override it\n"
        << "  --out DIR                             run directory [default runs/<dataset>_<architecture>_S<seed>]\n"
        << "  --stop_after_outer_steps N            stop after N more outer steps (resume later by re-running)\n"
        << "  --log_directory_path DIR              the reference's: the run directory is DIR/<dataset>_<architecture>_S<seed>\n"
        << "  --use_gpu B, --workers N, --epoch_log_freq N, --outer_step_log_freq N\n"
        << "                                        the reference's, accepted with a note: they change nothing here\n"
        << "  --print_config                        print the resolved config (config.json's content) and exit\n"
        << "  --json                                print only the summary, as one JSON document, on stdout;\n"
        << "                                        progress and messages go to stderr\n"
        << "  --help                                this text\n\n"
        << embedded_default_help() << "\nOptions (names and defaults of the reference, polo5/FDS main.py):\n"
        << options_help(hypertrain_grammar);
    return text.str();
}

std::string format_values(const std::vector<double>& values) {
    std::ostringstream text;
    text << "[";
    for (std::size_t i = 0; i < values.size(); ++i) text << (i ? ", " : "") << std::setprecision(4) << values[i];
    return text.str() + "]";
}

std::string format_schedules(const hyper_values& values) {
    return "  lr  = " + format_values(values.lr) + "\n  mom = " + format_values(values.mom) +
           "\n  wd  = " + format_values(values.wd) + "\n";
}

std::size_t parse_count(const std::string& text, const std::string& flag) {
    try {
        std::size_t used = 0;
        long long value = std::stoll(text, &used);
        if (used == text.size() && value >= 1) return static_cast<std::size_t>(value);
    } catch (const std::exception&) {}
    throw usage_error(flag + " must be an integer >= 1, found '" + text + "'");
}

void draw_plot(const run_directory& run, const std::vector<nlohmann::json>& history, const hyper_values& final_values,
               progress_reporter& reporter, bool& warned) {
    std::vector<nlohmann::json> schedules;
    for (const nlohmann::json& record : history) schedules.push_back(schedules_of(record));
    schedules.push_back(to_json(final_values));
    plot_outcome outcome = plot_schedules(run.path(), schedules);
    if (!outcome.image_written && !warned) {
        reporter.message("warning: " + outcome.warning);
        warned = true;
    }
}

// The schedule settings.retrain_schedule names, then the other outer steps' schedules by
// validation accuracy (each once), then the final one.
std::vector<retrain_candidate> retrain_candidates(const hyper_trainer& trainer,
                                                  const std::vector<nlohmann::json>& history) {
    std::vector<retrain_candidate> candidates = {{trainer.retrain_schedule(), trainer.settings().retrain_schedule}};
    std::vector<const nlohmann::json*> steps;
    for (const nlohmann::json& record : history)
        if (!record.value("diverged", false) && !record.value("reverted", false)) steps.push_back(&record);
    std::stable_sort(steps.begin(), steps.end(), [](const nlohmann::json* a, const nlohmann::json* b) {
        return a->at("val_acc").get<double>() > b->at("val_acc").get<double>();
    });
    auto listed = [&](const hyper_values& values) {
        for (const retrain_candidate& candidate : candidates)
            if (candidate.schedule.lr == values.lr && candidate.schedule.mom == values.mom &&
                candidate.schedule.wd == values.wd)
                return true;
        return false;
    };
    for (const nlohmann::json* step : steps) {
        hyper_values values = hyper_values_from_json(schedules_of(*step), "history");
        if (!listed(values))
            candidates.push_back(
                {std::move(values), "outer step " + std::to_string(step->at("outer_step").get<std::size_t>() + 1)});
    }
    if (!listed(trainer.current())) candidates.push_back({trainer.current(), "final"});
    return candidates;
}

}  // namespace detail

int run_hypertrain(const std::vector<std::string>& arguments, std::ostream& output, std::ostream& errors) {
    parsed_arguments parsed = parse_arguments(detail::hypertrain_grammar, arguments);
    if (parsed.help) {
        output << detail::hypertrain_help();
        return 0;
    }
    apply_embedded_default(parsed);
    // the reference starts from 0, which rprop's steps on a log scale cannot leave: its sign rule then
    std::string start_note;
    const hypertrain_settings& given = parsed.settings;
    if (!parsed.given.count("outer_optimizer") && given.outer_optimizer == "rprop" &&
        ((given.learn_lr && given.inner_lr_init == 0) || (given.learn_wd && given.inner_wd_init == 0))) {
        parsed.settings.outer_optimizer = "sign";
        start_note =
            "fds: note: a learned lr or wd starts at 0, so the outer optimizer is the reference's sign rule "
            "(rprop refines a start > 0)";
    }
    const hypertrain_settings settings = resolve_settings(parsed.settings);
    if (!start_note.empty()) errors << start_note << "\n";
    std::size_t stop_after = 0;
    if (parsed.extra.count("stop_after_outer_steps"))
        stop_after = detail::parse_count(parsed.extra["stop_after_outer_steps"], "--stop_after_outer_steps");
    if (const std::string note = apply_thread_count(settings); !note.empty()) errors << note << "\n";

    const std::vector<std::string> notes = detail::reference_flag_notes(parsed.extra);
    std::string directory = parsed.extra.count("out")
                                ? parsed.extra["out"]
                                : default_run_directory(settings.dataset, settings.architecture, settings.seed);
    if (!parsed.extra.count("out") && parsed.extra.count("log_directory_path"))
        directory =
            (std::filesystem::path(parsed.extra["log_directory_path"]) / std::filesystem::path(directory).filename())
                .string();
    for (const std::string& note : notes) errors << note << "\n";
    const nlohmann::json config = run_config("hypertrain", settings);
    if (parsed.print_config) {
        output << config.dump(2) << "\n";
        return 0;
    }
    // everything the options and the data must agree on is checked before the directory is claimed
    const data::dataset dataset = load_checked_dataset(settings);
    std::ostream& human = parsed.json_output ? errors : output;
    if (settings.method != "fds")
        return run_greedy_hypertrain(settings, dataset, directory, human, parsed.json_output ? &output : nullptr);
    // the trainer refuses combinations the option table cannot see (e.g. a model for other image sizes)
    std::optional<hyper_trainer> constructed;
    try {
        constructed.emplace(settings, dataset);
    } catch (const std::invalid_argument& error) {
        throw usage_error(std::string("these options cannot be trained: ") + error.what());
    }
    hyper_trainer& trainer = *constructed;
    trainer.distribute_over(process_group());
    run_directory run(directory);
    const bool resuming = run.open(config);
    progress_reporter reporter(human, progress_stream_is_terminal(parsed.json_output),
                               settings.n_inner_epochs_per_outer_steps);
    stop_cleanly_on_signals();

    if (std::optional<nlohmann::json> summary = run.read_summary();
        summary && summary->value("status", "") == "finished") {
        reporter.message("fds: " + directory + " holds a finished run; its summary:");
        (*summary)["run_directory"] = directory;
        output << summary->dump(2) << "\n";
        // redraw the plot, in case gnuplot was installed since
        bool warned = false;
        detail::draw_plot(run, run.read_history(), hyper_values_from_json(summary->at("final"), "final"), reporter,
                          warned);
        return 0;
    }

    double hypertrain_seconds = 0.0;
    std::vector<nlohmann::json> history;
    if (std::optional<nlohmann::json> checkpoint = run.read_checkpoint()) {
        try {
            trainer.restore(checkpoint->at("trainer"));
            hypertrain_seconds = checkpoint->at("hypertrain_seconds").get<double>();
        } catch (const std::exception& error) {
            throw std::runtime_error(run.file("checkpoint.json").string() + " cannot be resumed: " + error.what());
        }
    }
    // lines beyond the checkpoint come from an outer step that was killed before its checkpoint
    history = reconcile_history(run.read_history(), trainer.next_outer_step());
    for (const nlohmann::json& record : history) {
        std::string problems = history_record_problems(record);
        if (!problems.empty())
            throw std::runtime_error(run.file("history.jsonl").string() + ": outer step " +
                                     record["outer_step"].dump() + ": " + problems);
    }
    run.write_history(history);

    reporter.message(std::string(resuming ? "fds: resuming " : "fds: hyper-training into ") + directory + " (" +
                     settings.dataset + ", " + settings.architecture + ", " +
                     std::to_string(trainer.next_outer_step()) + "/" +
                     std::to_string(settings.n_inner_epochs_per_outer_steps.size()) + " outer steps done)");
    auto progress = [&](const progress_event& event) { reporter.update(update_of(event)); };
    bool plot_warned = false;
    std::size_t steps_this_session = 0;
    while (!trainer.finished()) {
        if (stop_after > 0 && steps_this_session == stop_after) {
            reporter.message("fds: stopped after " + std::to_string(steps_this_session) +
                             " outer steps as asked; run the same command again to resume");
            reporter.finish();
            return 0;
        }
        announce_outer_step(trainer);
        outer_step_record record = trainer.run_outer_step(progress);
        hypertrain_seconds += record.seconds;
        ++steps_this_session;
        history.push_back(history_record(record, trainer.current()));
        // history first, checkpoint second: a kill in between leaves one extra line, dropped on resume
        run.append_history(history.back());
        fault_point("outer_step_history");
        run.write_checkpoint({{"format", "fds-run-checkpoint"},
                              {"next_outer_step", trainer.next_outer_step()},
                              {"hypertrain_seconds", hypertrain_seconds},
                              {"trainer", trainer.checkpoint()}});
        fault_point("outer_step_done");
        if (record.reverted)
            reporter.message("outer step " + std::to_string(record.outer_step + 1) + " collapsed (" +
                             record.revert_reason + "): back to the schedules of outer step " +
                             std::to_string(trainer.best_outer_step() + 1) + ", with smaller steps");
        else if (record.diverged)
            reporter.message("outer step " + std::to_string(record.outer_step + 1) +
                             ": the inner run diverged (non-finite loss); its hypergradients count as 0");
        reporter.outer_step_finished(record.outer_step, record.val_acc, record.test_acc, record.seconds);
        detail::draw_plot(run, history, trainer.current(), reporter, plot_warned);
    }
    if (trainer.converged()) reporter.message("fds: every learned schedule converged");

    const hyper_values learned = trainer.current();
    const hyper_values retrained = trainer.retrain_schedule();
    nlohmann::json summary = {{"program", "fds"},
                              {"version", program_version()},
                              {"status", "finished"},
                              {"outer_steps", trainer.next_outer_step()},
                              {"converged", trainer.converged()},
                              {"final", to_json(learned)},
                              {"best_outer_step", trainer.best_outer_step()},
                              {"best", to_json(trainer.best())},
                              {"hypertrain_seconds", hypertrain_seconds}};
    if (!history.empty()) {
        summary["last_val_acc"] = history.back()["val_acc"];
        summary["last_test_acc"] = history.back()["test_acc"];
    }
    add_retrain_summary(summary,
                        retrain_and_summarize(settings, dataset, detail::retrain_candidates(trainer, history), reporter,
                                              progress, run.path()),
                        hypertrain_seconds);
    run.write_summary(summary);
    detail::draw_plot(run, history, learned, reporter, plot_warned);
    reporter.finish();

    std::ostringstream report;
    report << "\nlearned schedules (" << trainer.next_outer_step() << " outer steps, best validation at outer step "
           << trainer.best_outer_step() + 1 << "), " << settings.retrain_schedule << ":\n"
           << detail::format_schedules(retrained);
    if (!summary["retrain_test_acc"].is_null())
        report << "retrained " << settings.retrain_n_epochs << (settings.retrain_n_epochs == 1 ? " epoch" : " epochs")
               << " from scratch: test accuracy " << std::fixed << std::setprecision(2)
               << 100.0 * summary["retrain_test_acc"].get<double>() << "%\n";
    report << "total " << format_duration(summary["total_seconds"].get<double>()) << "; run directory " << directory
           << " (summary.json, history.jsonl, schedules.png)\n";
    human << report.str() << std::flush;
    if (parsed.json_output) {
        summary["run_directory"] = directory;
        output << summary.dump(2) << "\n" << std::flush;
    }
    return 0;
}

}  // namespace fds::cli
