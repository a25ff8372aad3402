// `fds train`: plain training from scratch with a given schedule (the reference's BaseLearner),
// reporting test accuracy. The schedule is either a hand schedule (--lr_schedule with --lr, --mom,
// --wd: fds/hand_schedule.hpp), or a JSON file {"lr": [...], "mom": [...], "wd": [...]}, or a
// finished run's summary.json (its "final" schedule); in the latter case the run's config.json,
// next to it, supplies the options unless --config is given.

#include "commands.hpp"

#include "atomic_file.hpp"
#include "cli_error.hpp"
#include "closest_name.hpp"
#include "collective_tasks.hpp"
#include "dataset_loading.hpp"
#include "embedded_default.hpp"
#include "json_number.hpp"
#include "options.hpp"
#include "process_group.hpp"
#include "progress.hpp"

#include <fds/hand_schedule.hpp>
#include <fds/hyper_trainer.hpp>
#include <fds/outer_optimizer.hpp>
#include <fds/retrain.hpp>
#include <fds/trial.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace fds::cli {

namespace detail {

const argument_grammar train_grammar{"train",
                                     {},
                                     {"config", "schedule", "out", "lr_schedule", "lr", "mom", "wd", "step_gamma",
                                      "warmup_fraction", "evaluate_on", "trial_id", "epoch_log"}};

std::string train_help() {
    std::ostringstream text;
    text
        << "usage: fds train (--schedule FILE.json | --lr_schedule SHAPE --lr LR0 [--mom M] [--wd WD])\n"
        << "                 [--config FILE.json] [--out RESULT.json] [--OPTION VALUE ...]\n\n"
        << "Trains from scratch on the whole training set for --retrain_n_epochs epochs with a fixed schedule\n"
        << "and reports test accuracy.\n\n"
        << "  --schedule FILE.json                  {\"lr\": [...], \"mom\": [...], \"wd\": [...]}, or a finished run's\n"
        << "                                        summary.json (its final schedule; its config.json supplies the\n"
        << "                                        options unless --config is given)\n"
        << "  --lr_schedule SHAPE                   a hand schedule: constant, step (x step_gamma at 1/2 and 3/4 of\n"
        << "                                        the run), cosine, warmup_cosine (linear warm-up over\n"
        << "                                        warmup_fraction of the run, then cosine) [default cosine]\n"
        << "  --lr LR0, --mom M, --wd WD            its initial learning rate, momentum and weight decay\n"
        << "                                        [defaults 0.03, 0.9, 5e-4]\n"
        << "  --step_gamma G, --warmup_fraction F   [defaults 0.1, 0.05]\n"
        << "  --evaluate_on test|validation         test: train on the whole training set, report test accuracy\n"
        << "                                        [default]; validation: one black-box trial as fds search runs it:\n"
        << "                                        train on the training part of the validation split (val_train_fraction)\n"
        << "                                        and report the held-out accuracy after every epoch and at the end\n"
        << "  --trial_id N                          with validation: the trial's number, which draws its initial\n"
        << "                                        weights and batch order [default 0]\n"
        << "  --epoch_log FILE.jsonl                with validation: append one line per epoch {\"epoch\", \"val_acc\",\n"
        << "                                        \"val_loss\", \"seconds\"}, flushed to disk, for a search that prunes\n"
        << "  --config FILE.json                    options from a JSON object (flags override it)\n"
        << "  --out RESULT.json                     also write the result there\n"
        << "  --print_config                        print the resolved config (config.json's content) and exit\n"
        << "  --json                                print only the summary, as one JSON document, on stdout;\n"
        << "                                        progress and messages go to stderr\n"
        << "  --help                                this text\n\n"
        << embedded_default_help() << "\nOptions (the bucket counts follow the schedule file):\n"
        << options_help(train_grammar);
    return text.str();
}

// The value of "--name" in the raw arguments (before parsing), if present.
std::optional<std::string> raw_option(const std::vector<std::string>& arguments, const std::string& name) {
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        if (arguments[i] == "--" + name && i + 1 < arguments.size()) return arguments[i + 1];
        if (arguments[i].rfind("--" + name + "=", 0) == 0) return arguments[i].substr(name.size() + 3);
    }
    return std::nullopt;
}

hyper_values read_schedule(const std::string& path) {
    std::optional<std::string> content = read_whole_file(path);
    if (!content) throw usage_error("--schedule " + path + ": no such file");
    nlohmann::json object;
    try {
        object = nlohmann::json::parse(*content);
    } catch (const nlohmann::json::parse_error& error) {
        throw usage_error("--schedule " + path + " is not valid JSON: " + error.what());
    }
    const bool summary = object.is_object() && object.contains("final");
    if (!summary && object.is_object())
        for (const auto& item : object.items())
            if (item.key() != "lr" && item.key() != "mom" && item.key() != "wd")
                throw usage_error("--schedule " + path + ": unknown key \"" + item.key() +
                                  "\"; a schedule holds lr, mom and wd lists");
    hyper_values schedule;
    try {
        schedule =
            summary ? hyper_values_from_json(object["final"], "final") : hyper_values_from_json(object, "schedule");
    } catch (const std::runtime_error& error) {
        throw usage_error("--schedule " + path +
                          ": expected {\"lr\": [...], \"mom\": [...], \"wd\": [...]} or a run's "
                          "summary.json with \"final\" (" +
                          error.what() + ")");
    }
    // the ranges every outer optimizer keeps, and the option table's bucket limit
    for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd}) {
        const std::vector<double>& values = schedule.of(type);
        const std::string key = std::string(hyper_type_name(type));
        if (values.empty() || values.size() > 1000000)
            throw usage_error("--schedule " + path + ": \"" + key + "\" must hold 1 to 1000000 values, found " +
                              std::to_string(values.size()));
        const valid_range range = valid_range::of(type);
        for (std::size_t j = 0; j < values.size(); ++j)
            if (!(values[j] >= range.lower && values[j] <= range.upper))
                throw usage_error(
                    "--schedule " + path + ": \"" + key + "\"[" + std::to_string(j) +
                    "] = " + std::to_string(values[j]) + " is outside [" + std::to_string(range.lower) + ", " +
                    (std::isfinite(range.upper) ? std::to_string(range.upper) : std::string("inf")) + "]");
    }
    return schedule;
}

double parse_hand_number(const std::map<std::string, std::string>& extra, const std::string& name, double fallback) {
    auto found = extra.find(name);
    if (found == extra.end()) return fallback;
    const std::string& text = found->second;
    std::size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size() || !std::isfinite(value))
        throw usage_error("--" + name + " must be a number, found '" + text + "'");
    return value;
}

bool names_hand_schedule(const std::map<std::string, std::string>& extra) {
    for (const char* name : {"lr_schedule", "lr", "mom", "wd", "step_gamma", "warmup_fraction"})
        if (extra.count(name)) return true;
    return false;
}

hand_schedule read_hand_schedule(const std::map<std::string, std::string>& extra) {
    hand_schedule schedule;
    if (extra.count("lr_schedule")) schedule.shape = extra.at("lr_schedule");
    schedule.lr = parse_hand_number(extra, "lr", schedule.lr);
    schedule.mom = parse_hand_number(extra, "mom", schedule.mom);
    schedule.wd = parse_hand_number(extra, "wd", schedule.wd);
    schedule.step_gamma = parse_hand_number(extra, "step_gamma", schedule.step_gamma);
    schedule.warmup_fraction = parse_hand_number(extra, "warmup_fraction", schedule.warmup_fraction);
    try {
        hand_schedule_values(schedule, 1);  // checks every field before any data is read
    } catch (const std::invalid_argument& error) {
        const auto& shapes = hand_schedule_shapes();
        const bool unknown_shape = std::find(shapes.begin(), shapes.end(), schedule.shape) == shapes.end();
        throw usage_error(std::string("--") + error.what() +
                          (unknown_shape ? did_you_mean(schedule.shape, shapes) : std::string()));
    }
    return schedule;
}

std::size_t parse_trial_id(const std::string& text) {
    try {
        std::size_t used = 0;
        const long long value = std::stoll(text, &used);
        if (used == text.size() && value >= 0) return static_cast<std::size_t>(value);
    } catch (const std::exception&) {}
    throw usage_error("--trial_id must be an integer >= 0, found '" + text + "'");
}

// `fds train --evaluate_on validation`: one black-box trial (fds/trial.hpp) of the whole
// retraining budget, its held-out accuracy reported after every epoch.
nlohmann::json run_validation_trial(const hypertrain_settings& settings, const data::dataset& dataset,
                                    const hyper_values& schedule, const std::map<std::string, std::string>& extra,
                                    progress_reporter& reporter) {
    const std::size_t trial_id = extra.count("trial_id") ? parse_trial_id(extra.at("trial_id")) : 0;
    const std::optional<std::string> epoch_log =
        extra.count("epoch_log") ? std::optional<std::string>(extra.at("epoch_log")) : std::nullopt;
    const auto start = std::chrono::steady_clock::now();
    nlohmann::json epoch_val_acc = nlohmann::json::array();
    nn::network<float> network = make_network<float>(settings, dataset);
    const trial_request request{trial_id, schedule, static_cast<double>(settings.retrain_n_epochs), 0, 0};
    announce_trial(settings, request);
    const trial_outcome outcome = run_trial(
        network, settings, dataset, request,
        [&](std::size_t epoch, const nn::evaluation_result& validation) {
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            epoch_val_acc.push_back(validation.accuracy());
            const nlohmann::json line = {{"epoch", epoch},
                                         {"val_acc", validation.accuracy()},
                                         {"val_loss", finite_or_null(validation.mean_loss())},
                                         {"seconds", seconds}};
            if (epoch_log) append_line_durably(*epoch_log, line.dump());
            std::ostringstream text;
            text << "epoch " << epoch << ": validation accuracy " << std::fixed << std::setprecision(2)
                 << 100.0 * validation.accuracy() << "% (" << format_duration(seconds) << ")";
            reporter.message(text.str());
        },
        process_group());
    return {{"trial_id", trial_id},
            {"val_acc", outcome.val_acc},
            {"val_loss", finite_or_null(outcome.val_loss)},
            {"test_acc", outcome.test_acc},
            {"epoch_val_acc", epoch_val_acc},
            {"steps", outcome.steps},
            {"seconds", outcome.seconds},
            {"diverged", outcome.diverged}};
}

}  // namespace detail

int run_train(const std::vector<std::string>& arguments, std::ostream& output, std::ostream& errors) {
    std::vector<std::string> effective = arguments;
    std::optional<std::string> schedule_path = detail::raw_option(arguments, "schedule");
    if (schedule_path && !detail::raw_option(arguments, "config")) {
        std::filesystem::path sibling = std::filesystem::path(*schedule_path).parent_path() / "config.json";
        if (std::filesystem::path(*schedule_path).filename() == "summary.json" && std::filesystem::exists(sibling)) {
            effective.insert(effective.begin(), {"--config", sibling.string()});
            errors << "fds train: options from " << sibling.string() << "\n";
        }
    }
    parsed_arguments parsed = parse_arguments(detail::train_grammar, effective);
    if (parsed.help) {
        output << detail::train_help();
        return 0;
    }
    const bool hand = detail::names_hand_schedule(parsed.extra);
    if (hand && parsed.extra.count("schedule"))
        throw usage_error(
            "fds train: give either --schedule FILE.json or a hand schedule (--lr_schedule, --lr, --mom, --wd), not both");
    if (!hand && !parsed.extra.count("schedule"))
        throw usage_error(
            "fds train needs --schedule FILE.json or --lr_schedule SHAPE --lr LR0 (see fds train --help)");
    apply_embedded_default(parsed);
    std::optional<hand_schedule> hand_settings;
    hyper_values schedule;
    if (hand) {
        hand_settings = detail::read_hand_schedule(parsed.extra);
        schedule = hand_schedule_values(*hand_settings, 1);
    } else {
        schedule = detail::read_schedule(parsed.extra["schedule"]);
    }
    hypertrain_settings settings = parsed.settings;
    settings.n_lrs = schedule.lr.size();
    settings.n_moms = schedule.mom.size();
    settings.n_wds = schedule.wd.size();
    settings = resolve_settings(settings);
    if (settings.retrain_n_epochs < 1)
        throw usage_error("--retrain_n_epochs must be an integer >= 1 for fds train, found " +
                          std::to_string(settings.retrain_n_epochs));
    if (parsed.print_config) {
        output << run_config("train", settings).dump(2) << "\n";
        return 0;
    }
    if (const std::string note = apply_thread_count(settings); !note.empty()) errors << note << "\n";
    const std::string evaluate_on = parsed.extra.count("evaluate_on") ? parsed.extra["evaluate_on"] : "test";
    if (evaluate_on != "test" && evaluate_on != "validation")
        throw usage_error("--evaluate_on must be test or validation, found '" + evaluate_on + "'");
    const bool validation_trial = evaluate_on == "validation";
    for (const char* name : {"trial_id", "epoch_log"})
        if (parsed.extra.count(name) && !validation_trial)
            throw usage_error(std::string("--") + name + " needs --evaluate_on validation");
    if (parsed.extra.count("trial_id")) detail::parse_trial_id(parsed.extra["trial_id"]);
    for (const char* name : {"out", "epoch_log"}) {
        if (!parsed.extra.count(name)) continue;
        try {
            check_file_writable(parsed.extra[name]);
        } catch (const std::runtime_error& error) {
            throw usage_error(std::string("--") + name + ": " + error.what());
        }
    }

    const data::dataset dataset = load_dataset_for(settings);
    try {
        make_network<float>(settings, dataset);
    } catch (const std::invalid_argument& error) {
        throw usage_error(std::string("these options cannot be trained: ") + error.what());
    }
    if (hand_settings) {
        // one bucket per step of this run: the hand schedule's shape is exact on every step
        std::size_t total_steps = 0;
        try {
            total_steps = validation_trial ? trial_steps(static_cast<double>(settings.retrain_n_epochs),
                                                         trial_batches_per_epoch(settings, dataset))
                                           : retrain_total_steps(settings, dataset);
        } catch (const std::invalid_argument& error) {
            throw usage_error(std::string("--") + error.what());
        }
        schedule = hand_schedule_values(*hand_settings, total_steps);
        settings.n_lrs = schedule.lr.size();
    }
    std::ostream& human = parsed.json_output ? errors : output;
    progress_reporter reporter(human, progress_stream_is_terminal(parsed.json_output), {});
    reporter.message("fds train: " + settings.dataset + ", " + settings.architecture + ", " +
                     std::to_string(settings.retrain_n_epochs) +
                     (settings.retrain_n_epochs == 1 ? " epoch" : " epochs") +
                     (validation_trial ? ", scored on the held-out part of the training set" : ""));
    const nlohmann::json schedule_json = hand_settings
                                             ? nlohmann::json{{"shape", hand_settings->shape},
                                                              {"lr", hand_settings->lr},
                                                              {"mom", hand_settings->mom},
                                                              {"wd", hand_settings->wd},
                                                              {"step_gamma", hand_settings->step_gamma},
                                                              {"warmup_fraction", hand_settings->warmup_fraction}}
                                             : to_json(schedule);
    nlohmann::json report = {{"program", "fds"},           {"version", program_version()},
                             {"command", "train"},         {"settings", settings_to_json(settings)},
                             {"evaluate_on", evaluate_on}, {"schedule", schedule_json}};
    const char* const epochs = settings.retrain_n_epochs == 1 ? " epoch: " : " epochs: ";
    if (validation_trial) {
        report.update(detail::run_validation_trial(settings, dataset, schedule, parsed.extra, reporter));
        reporter.finish();
        if (report["diverged"].get<bool>())
            human << "training diverged (non-finite loss): the schedule is unstable; its accuracy counts as 0\n";
        human << "validation accuracy after " << settings.retrain_n_epochs << epochs << std::fixed
              << std::setprecision(2) << 100.0 * report["val_acc"].get<double>() << "% ("
              << format_duration(report["seconds"].get<double>()) << ")\n";
    } else {
        announce_retraining(settings, schedule, nullptr);
        const retrain_result result = retrain(
            settings, dataset, schedule, [&](const progress_event& event) { reporter.update(update_of(event)); },
            nullptr, {}, process_group());
        reporter.finish();
        report.update({{"test_acc", result.test_acc},
                       {"test_loss", result.test_loss},
                       {"epoch_test_acc", result.epoch_test_acc},
                       {"seconds", result.seconds},
                       {"diverged", result.diverged}});
        if (result.diverged)
            human << "training diverged (non-finite loss) after " << result.epoch_test_acc.size()
                  << " epochs: the schedule is unstable; its test accuracy counts as 0\n";
        human << "test accuracy after " << settings.retrain_n_epochs << epochs << std::fixed << std::setprecision(2)
              << 100.0 * result.test_acc << "% (" << format_duration(result.seconds) << ")\n";
    }
    if (parsed.extra.count("out")) write_file_atomically(parsed.extra["out"], report.dump(2) + "\n");
    if (parsed.json_output) output << report.dump(2) << "\n" << std::flush;
    return 0;
}

}  // namespace fds::cli
