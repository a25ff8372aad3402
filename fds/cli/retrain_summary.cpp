#include "retrain_summary.hpp"

#include "json_number.hpp"

#include <fds/hyper_trainer.hpp>
#include <fds/retrain.hpp>

#include <stdexcept>

namespace fds::cli {

nlohmann::json retrain_and_summarize(const hypertrain_settings& settings, const data::dataset& dataset,
                                     const std::vector<retrain_candidate>& candidates, progress_reporter& reporter,
                                     const progress_callback& progress) {
    if (!settings.retrain_from_scratch || settings.retrain_n_epochs <= 0) return nullptr;
    if (candidates.empty()) throw std::logic_error("retrain_and_summarize: no schedule to retrain");
    const std::size_t attempts_allowed = std::min<std::size_t>(std::max<std::size_t>(settings.retrain_attempts, 1),
                                                               candidates.size());
    nlohmann::json attempts = nlohmann::json::array();
    retrain_result result;
    double seconds = 0.0;
    std::size_t used = 0;
    for (; used < attempts_allowed; ++used) {
        const retrain_candidate& candidate = candidates[used];
        reporter.message("fds: retraining the " + candidate.label + " schedule from scratch for " +
                         std::to_string(settings.retrain_n_epochs) + (settings.retrain_n_epochs == 1 ? " epoch" : " epochs"));
        result = retrain(settings, dataset, candidate.schedule, progress);
        seconds += result.seconds;
        attempts.push_back({{"schedule", candidate.label}, {"diverged", result.diverged}, {"seconds", result.seconds}});
        if (!result.diverged) break;
        reporter.message("fds: retraining diverged (non-finite training loss) after " +
                         std::to_string(result.epoch_test_acc.size()) + " epochs: the " + candidate.label +
                         " schedule is unstable from other initial weights" +
                         (used + 1 < attempts_allowed ? "; trying the next candidate" : "; its test accuracy counts as 0"));
    }
    const retrain_candidate& last = candidates[std::min(used, attempts_allowed - 1)];
    return {{"epochs", settings.retrain_n_epochs},
            {"schedule", last.label},
            {"values", to_json(last.schedule)},
            {"test_acc", result.test_acc},
            {"test_loss", finite_or_null(result.test_loss)},
            {"epoch_test_acc", result.epoch_test_acc},
            {"seconds", seconds},
            {"diverged", result.diverged},
            {"attempts", attempts}};
}

void add_retrain_summary(nlohmann::json& summary, const nlohmann::json& retrain, double search_seconds) {
    const double retrain_seconds = retrain.is_null() ? 0.0 : retrain.at("seconds").get<double>();
    summary["retrain"] = retrain;
    summary["retrain_test_acc"] = retrain.is_null() ? nlohmann::json() : retrain.at("test_acc");
    summary["retrain_seconds"] = retrain_seconds;
    summary["total_seconds"] = search_seconds + retrain_seconds;
}

}  // namespace fds::cli
