#include "comparison.hpp"

#include "atomic_file.hpp"
#include "json_number.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace fds::cli {

namespace detail {

const double not_a_number = std::numeric_limits<double>::quiet_NaN();

nlohmann::json read_json_file(const std::filesystem::path& path) {
    const std::optional<std::string> text = read_whole_file(path);
    if (!text) throw std::runtime_error(path.string() + " is missing: the run has not finished");
    try {
        return nlohmann::json::parse(*text);
    } catch (const nlohmann::json::parse_error& error) {
        throw std::runtime_error(path.string() + " is not valid JSON: " + error.what());
    }
}

std::vector<nlohmann::json> read_json_lines(const std::filesystem::path& path) {
    std::vector<nlohmann::json> records;
    std::size_t number = 0;
    for (const std::string& line : read_whole_lines(path)) {
        ++number;
        try {
            records.push_back(nlohmann::json::parse(line));
        } catch (const nlohmann::json::parse_error& error) {
            throw std::runtime_error(path.string() + " line " + std::to_string(number) +
                                     " is not valid JSON: " + error.what());
        }
    }
    return records;
}

double number_at(const nlohmann::json& object, const std::string& key, const std::filesystem::path& file) {
    if (!object.is_object() || !object.contains(key))
        throw std::runtime_error(file.string() + ": key \"" + key + "\" is missing");
    const nlohmann::json& value = object.at(key);
    if (value.is_null()) return not_a_number;  // a diverged run's loss, written as null
    if (!value.is_number()) throw std::runtime_error(file.string() + ": key \"" + key + "\" is not a number");
    return value.get<double>();
}

bool is_search_method(const std::string& method) {
    return method == "random" || method == "hyperband" || method == "hand" || method == "random_at_fds_time" ||
           method == "optuna";
}

double mean(const std::vector<double>& values) {
    return values.empty() ? not_a_number
                          : std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

double sample_sd(const std::vector<double>& values) {
    if (values.size() < 2) return 0.0;
    const double m = mean(values);
    double sum = 0.0;
    for (double v : values) sum += (v - m) * (v - m);
    return std::sqrt(sum / static_cast<double>(values.size() - 1));
}

}  // namespace detail

const std::vector<std::string>& comparison_methods() {
    static const std::vector<std::string> methods = {
        "hand", "hd", "greedy", "fds", "random", "hyperband", "random_at_fds_time", "optuna"};
    return methods;
}

std::vector<curve_point> best_so_far(const std::vector<curve_point>& evaluations) {
    std::vector<curve_point> curve;
    double elapsed = 0.0;
    for (const curve_point& evaluation : evaluations) {
        elapsed += evaluation.seconds;
        curve_point point{elapsed, evaluation.val_acc, evaluation.test_acc};
        if (!curve.empty() && !(evaluation.val_acc > curve.back().val_acc)) {
            point.val_acc = curve.back().val_acc;
            point.test_acc = curve.back().test_acc;
        }
        curve.push_back(point);
    }
    return curve;
}

double curve_test_acc_at(const nlohmann::json& curve, double seconds) {
    double value = detail::not_a_number;
    for (const nlohmann::json& point : curve)
        if (point.at("seconds").get<double>() <= seconds) value = point.at("test_acc").get<double>();
    return value;
}

nlohmann::json read_method_run(const std::string& method, std::uint64_t seed, const std::filesystem::path& directory) {
    const std::filesystem::path summary_file = directory / "summary.json";
    const nlohmann::json summary = detail::read_json_file(summary_file);
    if (summary.value("status", "") != "finished")
        throw std::runtime_error(summary_file.string() + ": the run has not finished (status " +
                                 summary.value("status", std::string("absent")) + ")");
    std::vector<curve_point> evaluations;
    double seconds = 0.0, trainings = 0.0;
    if (detail::is_search_method(method)) {
        const std::filesystem::path trials_file = directory / "trials.jsonl";
        for (const nlohmann::json& trial : detail::read_json_lines(trials_file))
            if (!trial.value("pruned", false))  // an Optuna trial stopped early has no test accuracy
                evaluations.push_back({detail::number_at(trial, "seconds", trials_file),
                                       detail::number_at(trial, "val_acc", trials_file),
                                       detail::number_at(trial, "test_acc", trials_file)});
        seconds = detail::number_at(summary, "search_seconds", summary_file);
        trainings = detail::number_at(summary, "trainings", summary_file);
    } else if (method == "fds") {
        const std::filesystem::path history_file = directory / "history.jsonl";
        double epochs = 0.0;
        for (const nlohmann::json& step : detail::read_json_lines(history_file)) {
            evaluations.push_back({detail::number_at(step, "seconds", history_file),
                                   detail::number_at(step, "val_acc", history_file),
                                   detail::number_at(step, "test_acc", history_file)});
            epochs += detail::number_at(step, "epochs", history_file);
        }
        seconds = detail::number_at(summary, "hypertrain_seconds", summary_file);
        const nlohmann::json& retrain = summary.contains("retrain") ? summary.at("retrain") : nlohmann::json();
        if (!retrain.is_object()) throw std::runtime_error(summary_file.string() + ": key \"retrain\" is missing");
        trainings = epochs / detail::number_at(retrain, "epochs", summary_file);
    } else if (method == "hd" || method == "greedy") {
        seconds = detail::number_at(summary, "hypertrain_seconds", summary_file);
        evaluations.push_back({seconds, detail::number_at(summary, "last_val_acc", summary_file),
                               detail::number_at(summary, "last_test_acc", summary_file)});
        trainings = 1.0;  // one training run, with the tangents of its segment
    } else {
        throw std::runtime_error("compare: unknown method \"" + method + "\"");
    }
    nlohmann::json curve = nlohmann::json::array();
    for (const curve_point& point : best_so_far(evaluations))
        curve.push_back({{"seconds", point.seconds}, {"val_acc", point.val_acc}, {"test_acc", point.test_acc}});
    const double final_test_acc = detail::number_at(summary, "retrain_test_acc", summary_file);
    return {{"method", method},
            {"seed", seed},
            {"curve", curve},
            {"final",
             {{"method", method},
              {"seed", seed},
              {"seconds", seconds},
              {"final_test_acc", finite_or_null(final_test_acc)},
              {"trainings", trainings},
              {"retrain_seconds", detail::number_at(summary, "retrain_seconds", summary_file)}}}};
}

nlohmann::json comparison_table(const nlohmann::json& runs) {
    std::vector<std::string> order;
    std::map<std::string, std::vector<const nlohmann::json*>> by_method;
    for (const nlohmann::json& run : runs) {
        const std::string method = run.at("method").get<std::string>();
        if (!by_method.count(method)) order.push_back(method);
        by_method[method].push_back(&run);
    }
    auto mean_of = [&](const std::string& method, const std::string& key) {
        std::vector<double> values;
        for (const nlohmann::json* run : by_method[method])
            if (run->at("final").at(key).is_number()) values.push_back(run->at("final").at(key).get<double>());
        return values;
    };
    const double fds_seconds = by_method.count("fds") ? detail::mean(mean_of("fds", "seconds")) : detail::not_a_number;
    // the best black-box method: the highest mean final (retrained) test accuracy
    double black_box_seconds = detail::not_a_number, black_box_accuracy = -1.0;
    for (const char* method : {"random", "hyperband", "optuna"}) {
        if (!by_method.count(method)) continue;
        const double accuracy = detail::mean(mean_of(method, "final_test_acc"));
        if (accuracy > black_box_accuracy) {
            black_box_accuracy = accuracy;
            black_box_seconds = detail::mean(mean_of(method, "seconds"));
        }
    }
    nlohmann::json table = nlohmann::json::array();
    for (const std::string& method : order) {
        const std::vector<double> accuracies = mean_of(method, "final_test_acc");
        std::vector<double> at_fds;
        for (const nlohmann::json* run : by_method[method])
            at_fds.push_back(curve_test_acc_at(run->at("curve"), fds_seconds));
        const double seconds = detail::mean(mean_of(method, "seconds"));
        table.push_back({{"method", method},
                         {"seeds", by_method[method].size()},
                         {"seconds", finite_or_null(seconds)},
                         {"trainings", finite_or_null(detail::mean(mean_of(method, "trainings")))},
                         {"final_test_acc_mean", finite_or_null(detail::mean(accuracies))},
                         {"final_test_acc_sd", finite_or_null(detail::sample_sd(accuracies))},
                         {"curve_test_acc_at_fds_seconds", finite_or_null(detail::mean(at_fds))},
                         {"seconds_vs_best_black_box", finite_or_null(seconds / black_box_seconds)}});
    }
    return table;
}

std::string comparison_markdown(const nlohmann::json& comparison) {
    std::ostringstream text;
    const nlohmann::json& setup = comparison.at("setup");
    text << "# fds compare: " << setup.at("dataset").get<std::string>() << ", "
         << setup.at("architecture").get<std::string>() << ", " << setup.at("retrain_n_epochs").get<int>()
         << " retraining epochs, seeds " << setup.at("seeds").dump() << "\n\n"
         << "Final test accuracy: the chosen schedule retrained from scratch on the whole training set (mean +- sd "
            "over seeds). Wall time: the search alone, on "
         << setup.at("cpu").get<std::string>()
         << ". Trainings: its cost in full-length trainings. At FDS's time: the "
            "best-so-far test accuracy (the configuration's own model, before retraining) at FDS's wall time. Time "
            "/ black box: wall time over that of the black-box method with the best final test accuracy.\n\n"
         << "| method | wall time (s) | trainings | final test acc (%) | at FDS's time (%) | time / black box |\n"
         << "|---|---:|---:|---:|---:|---:|\n";
    auto cell = [](const nlohmann::json& value, double scale, int digits) {
        if (!value.is_number()) return std::string("-");
        std::ostringstream number;
        number << std::fixed << std::setprecision(digits) << scale * value.get<double>();
        return number.str();
    };
    for (const nlohmann::json& row : comparison.at("table"))
        text << "| " << row.at("method").get<std::string>() << " | " << cell(row.at("seconds"), 1, 0) << " | "
             << cell(row.at("trainings"), 1, 1) << " | " << cell(row.at("final_test_acc_mean"), 100, 2) << " +- "
             << cell(row.at("final_test_acc_sd"), 100, 2) << " | "
             << cell(row.at("curve_test_acc_at_fds_seconds"), 100, 2) << " | "
             << cell(row.at("seconds_vs_best_black_box"), 1, 2) << " |\n";
    return text.str();
}

std::string comparison_plot_data(const nlohmann::json& comparison) {
    double first = std::numeric_limits<double>::infinity(), last = 0.0;
    for (const nlohmann::json& run : comparison.at("runs")) {
        first = std::min(first, run.at("curve").front().at("seconds").get<double>());
        last = std::max(last, run.at("curve").back().at("seconds").get<double>());
    }
    std::ostringstream data;
    data << std::setprecision(8) << "# best-so-far test accuracy (%) against wall seconds, one block per method\n"
         << "# columns: seconds mean low high (over seeds)\n";
    const std::size_t grid = 80;
    bool first_block = true;
    for (const nlohmann::json& row : comparison.at("table")) {
        const std::string method = row.at("method").get<std::string>();
        if (!first_block) data << "\n\n";
        first_block = false;
        data << "# " << method << "\n";
        for (std::size_t i = 0; i <= grid; ++i) {
            const double t = first * std::pow(last / first, static_cast<double>(i) / grid);
            std::vector<double> values;
            bool every_seed = true;
            for (const nlohmann::json& run : comparison.at("runs")) {
                if (run.at("method") != method) continue;
                const double value = curve_test_acc_at(run.at("curve"), t * (1 + 1e-12));
                every_seed = every_seed && std::isfinite(value);
                values.push_back(100 * value);
            }
            if (!every_seed || values.empty()) continue;
            data << t << " " << detail::mean(values) << " " << *std::min_element(values.begin(), values.end()) << " "
                 << *std::max_element(values.begin(), values.end()) << "\n";
        }
    }
    return data.str();
}

}  // namespace fds::cli
