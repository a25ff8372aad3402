#include "retrain_summary.hpp"


#include <fds/hyper_trainer.hpp>
#include <fds/retrain.hpp>

namespace fds::cli {

nlohmann::json retrain_and_summarize(const hypertrain_settings& settings, const data::dataset& dataset,
                                     const hyper_values& schedule, const std::string& what, const std::string& label,
                                     progress_reporter& reporter, const progress_callback& progress) {
    if (!settings.retrain_from_scratch || settings.retrain_n_epochs <= 0) return nullptr;
    reporter.message("fds: retraining " + what + " from scratch for " + std::to_string(settings.retrain_n_epochs) +
                     (settings.retrain_n_epochs == 1 ? " epoch" : " epochs"));
    const retrain_result result = retrain(settings, dataset, schedule, progress);
    if (result.diverged)
        reporter.message("fds: retraining diverged (non-finite training loss) after " +
                         std::to_string(result.epoch_test_acc.size()) + " epochs: " + what +
                         " is unstable from other initial weights; its test accuracy counts as 0");
    auto finite_or_null = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); };
    return {{"epochs", settings.retrain_n_epochs},
            {"schedule", label},
            {"values", to_json(schedule)},
            {"test_acc", result.test_acc},
            {"test_loss", finite_or_null(result.test_loss)},
            {"epoch_test_acc", result.epoch_test_acc},
            {"seconds", result.seconds},
            {"diverged", result.diverged}};
}

void add_retrain_summary(nlohmann::json& summary, const nlohmann::json& retrain, double search_seconds) {
    const double retrain_seconds = retrain.is_null() ? 0.0 : retrain.at("seconds").get<double>();
    summary["retrain"] = retrain;
    summary["retrain_test_acc"] = retrain.is_null() ? nlohmann::json() : retrain.at("test_acc");
    summary["retrain_seconds"] = retrain_seconds;
    summary["total_seconds"] = search_seconds + retrain_seconds;
}

}  // namespace fds::cli
