// `fds hypertrain --method hd|greedy`: the greedy alternatives of fds/greedy_hyper_training.hpp,
// one training run whose hyperparameters are updated as it goes, then its schedule retrained from
// scratch as FDS's. The run directory holds config.json, history.jsonl (one line per segment:
// its first step, steps, the values it used, its hypergradients, its training loss), summary.json
// (the keys of hypertrain's that apply) and schedules.png. The run is one training: a re-run
// after a stop starts it again; a finished run prints its summary.

#include "commands.hpp"

#include "atomic_file.hpp"
#include "cli_error.hpp"
#include "dataset_loading.hpp"
#include "json_number.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "retrain_summary.hpp"
#include "run_directory.hpp"
#include "schedule_plot.hpp"

#include <fds/greedy_hyper_training.hpp>
#include <fds/hyper_trainer.hpp>

#include <iomanip>
#include <ostream>
#include <sstream>

namespace fds::cli {

namespace detail {

nlohmann::json segment_line(const greedy_segment_record& record) {
    nlohmann::json hypergradient = nlohmann::json::object(), cosine = nlohmann::json::object();
    for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd})
        if (!record.hypergradient.of(type).empty()) {
            hypergradient[hyper_type_name(type)] = finite_or_null(record.hypergradient.of(type)[0]);
            cosine[hyper_type_name(type)] = finite_or_null(record.cosine.of(type)[0]);
        }
    return {{"segment", record.segment},
            {"first_step", record.first_step},
            {"steps", record.steps},
            {"lr", record.lr},
            {"mom", record.mom},
            {"wd", record.wd},
            {"hypergrad", hypergradient},
            {"cosine", cosine},
            {"train_loss", finite_or_null(record.train_loss)}};
}

}  // namespace detail

int run_greedy_hypertrain(const hypertrain_settings& settings, const data::dataset& dataset,
                          const std::string& directory, std::ostream& output, std::ostream* json) {
    run_directory run(directory);
    const bool resuming = run.open(run_config("hypertrain", settings));
    progress_reporter reporter(output, progress_stream_is_terminal(json != nullptr), {});
    stop_cleanly_on_signals();
    if (std::optional<nlohmann::json> summary = run.read_summary();
        summary && summary->value("status", "") == "finished") {
        reporter.message("fds: " + directory + " holds a finished run; its summary:");
        (*summary)["run_directory"] = directory;
        (json ? *json : output) << summary->dump(2) << "\n";
        return 0;
    }
    nn::network<float> network = make_network<float>(settings, dataset);
    reporter.message(std::string(resuming ? "fds: starting again (one training run) in " : "fds: ") + settings.method +
                     " hyper-training into " + directory + " (" + settings.dataset + ", " + settings.architecture +
                     ")");
    auto progress = [&](const progress_event& event) { reporter.update(update_of(event)); };
    greedy_run learned;
    try {
        learned = greedy_hyper_train(network, settings, dataset, progress);
    } catch (const std::invalid_argument& error) {
        throw usage_error(std::string("these options cannot be trained: ") + error.what());
    }
    std::string lines;
    for (const greedy_segment_record& record : learned.segments) lines += detail::segment_line(record).dump() + "\n";
    write_file_atomically(run.file("history.jsonl"), lines);
    std::ostringstream done;
    done << settings.method << ": " << learned.segments.size() << " segments of " << learned.total_steps
         << " steps done in " << format_duration(learned.seconds) << ": val acc " << std::fixed << std::setprecision(2)
         << 100 * learned.val_acc << "%, test acc " << 100 * learned.test_acc << "%"
         << (learned.diverged ? " (diverged: non-finite loss)" : "");
    reporter.message(done.str());
    plot_outcome plot = plot_schedules(run.path(), {to_json(learned.schedule)});
    if (!plot.image_written) reporter.message("warning: " + plot.warning);

    nlohmann::json summary = {{"program", "fds"},
                              {"version", program_version()},
                              {"status", "finished"},
                              {"method", settings.method},
                              {"segments", learned.segments.size()},
                              {"inner_steps", learned.total_steps},
                              {"diverged", learned.diverged},
                              {"final", to_json(learned.schedule)},
                              {"last_val_acc", learned.val_acc},
                              {"last_test_acc", learned.test_acc},
                              {"hypertrain_seconds", learned.seconds}};
    add_retrain_summary(
        summary,
        retrain_and_summarize(settings, dataset, {{learned.schedule, "learned"}}, reporter, progress, run.path()),
        learned.seconds);
    run.write_summary(summary);
    reporter.finish();
    std::ostringstream report;
    report << "\n"
           << settings.method << " learned schedule: lr " << std::setprecision(4) << learned.schedule.lr.front()
           << " -> " << learned.schedule.lr.back() << ", mom " << learned.schedule.mom.front() << " -> "
           << learned.schedule.mom.back() << ", wd " << learned.schedule.wd.front() << " -> "
           << learned.schedule.wd.back() << "\n";
    if (!summary["retrain_test_acc"].is_null())
        report << "retrained " << settings.retrain_n_epochs << " epochs from scratch: test accuracy " << std::fixed
               << std::setprecision(2) << 100.0 * summary["retrain_test_acc"].get<double>() << "%\n";
    report << "total " << format_duration(summary["total_seconds"].get<double>()) << "; run directory " << directory
           << " (summary.json, history.jsonl, schedules.png)\n";
    output << report.str() << std::flush;
    if (json) {
        summary["run_directory"] = directory;
        *json << summary.dump(2) << "\n" << std::flush;
    }
    return 0;
}

}  // namespace fds::cli
