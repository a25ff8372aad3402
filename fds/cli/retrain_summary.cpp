#include "retrain_summary.hpp"

#include "json_number.hpp"

#include <fds/hyper_trainer.hpp>
#include <fds/retrain.hpp>

#include "atomic_file.hpp"
#include "collective_tasks.hpp"
#include "process_group.hpp"
#include "fault_injection.hpp"

#include <fds/run_setup.hpp>
#include <fds/nn/npy.hpp>
#include <fds/nn/torch_state_dict.hpp>

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace fds::cli {

namespace detail {

const char* const retrain_checkpoint_name = "retrain_checkpoint.json";

std::string state_file_name(std::size_t epochs_done) { return "retrain_state." + std::to_string(epochs_done) + ".npy"; }

// Every retraining checkpoint file of the directory.
void remove_retrain_checkpoint(const std::filesystem::path& directory) {
    std::error_code ignored;
    for (const auto& entry : std::filesystem::directory_iterator(directory, ignored)) {
        const std::string name = entry.path().filename().string();
        if (name == retrain_checkpoint_name ||
            (name.rfind("retrain_state.", 0) == 0 && entry.path().extension() == ".npy"))
            std::filesystem::remove(entry.path(), ignored);
    }
}

void write_retrain_checkpoint(const std::filesystem::path& directory, const retrain_checkpoint<float>& checkpoint,
                              std::size_t attempt, const hyper_values& schedule, const nlohmann::json& attempts) {
    const std::size_t epochs_done = checkpoint.epoch_test_acc.size();
    const std::size_t parameters = checkpoint.state.parameters.size(), buffers = checkpoint.buffers.size();
    xt::xarray<float> packed = xt::xarray<float>::from_shape({2 * parameters + buffers});
    std::copy_n(checkpoint.state.parameters.data(), parameters, packed.data());
    std::copy_n(checkpoint.state.velocity.data(), parameters, packed.data() + parameters);
    std::copy_n(checkpoint.buffers.data(), buffers, packed.data() + 2 * parameters);
    // the state under a new name first, then the JSON naming it (atomically): a kill in between
    // leaves the previous checkpoint whole
    nn::save_npy((directory / state_file_name(epochs_done)).string(), packed);
    write_file_atomically(directory / retrain_checkpoint_name,
                          nlohmann::json{{"format", "fds-retrain-checkpoint"},
                                         {"version", 1},
                                         {"attempt", attempt},
                                         {"schedule", to_json(schedule)},
                                         {"attempts", attempts},
                                         {"steps_done", checkpoint.state.steps_done},
                                         {"state_file", state_file_name(epochs_done)},
                                         {"parameters", parameters},
                                         {"buffers", buffers},
                                         {"epoch_test_acc", checkpoint.epoch_test_acc},
                                         {"seconds", checkpoint.seconds}}
                                  .dump(2) +
                              "\n");
    std::error_code ignored;
    if (epochs_done > 1) std::filesystem::remove(directory / state_file_name(epochs_done - 1), ignored);
}

struct resumable_retraining {
    std::size_t attempt;
    retrain_checkpoint<float> checkpoint;
    nlohmann::json attempts;  // the earlier attempts, which diverged
};

// The checkpoint the directory holds, when it is one of these candidates' (the attempt'th with its
// schedule); errors name the file.
std::optional<resumable_retraining> read_retrain_checkpoint(const std::filesystem::path& directory,
                                                            const std::vector<retrain_candidate>& candidates) {
    const std::optional<std::string> content = read_whole_file(directory / retrain_checkpoint_name);
    if (!content) return std::nullopt;
    const std::string file = (directory / retrain_checkpoint_name).string();
    try {
        const nlohmann::json json = nlohmann::json::parse(*content);
        if (json.at("format") != "fds-retrain-checkpoint" || json.at("version") != 1)
            throw std::runtime_error("not a retraining checkpoint of version 1");
        const std::size_t attempt = json.at("attempt").get<std::size_t>();
        if (attempt >= candidates.size() || json.at("schedule") != to_json(candidates[attempt].schedule))
            return std::nullopt;  // another run's: this one starts from scratch
        const std::size_t parameters = json.at("parameters").get<std::size_t>(),
                          buffers = json.at("buffers").get<std::size_t>();
        const xt::xarray<float> packed =
            nn::load_npy<float>((directory / json.at("state_file").get<std::string>()).string());
        if (packed.size() != 2 * parameters + buffers)
            throw std::runtime_error("its state file holds " + std::to_string(packed.size()) + " values, expected " +
                                     std::to_string(2 * parameters + buffers));
        resumable_retraining found{attempt, {}, json.at("attempts")};
        retrain_checkpoint<float>& checkpoint = found.checkpoint;
        checkpoint.state.parameters = xt::xarray<float>::from_shape({parameters});
        checkpoint.state.velocity = xt::xarray<float>::from_shape({parameters});
        checkpoint.buffers = xt::xarray<float>::from_shape({buffers});
        std::copy_n(packed.data(), parameters, checkpoint.state.parameters.data());
        std::copy_n(packed.data() + parameters, parameters, checkpoint.state.velocity.data());
        std::copy_n(packed.data() + 2 * parameters, buffers, checkpoint.buffers.data());
        checkpoint.state.steps_done = json.at("steps_done").get<std::size_t>();
        checkpoint.epoch_test_acc = json.at("epoch_test_acc").get<std::vector<double>>();
        checkpoint.seconds = json.at("seconds").get<double>();
        return found;
    } catch (const std::exception& error) {
        throw std::runtime_error(file + " cannot be resumed: " + error.what() + " (remove it to retrain from scratch)");
    }
}

// DIR/weights/<state_dict name>.npy for every parameter and buffer, and DIR/weights/state_dict.json
// listing them (examples/load_fds_weights.py reads both).
void write_torch_weights(const std::filesystem::path& directory, const hypertrain_settings& settings,
                         const data::dataset& dataset, const retrain_result& result) {
    const std::filesystem::path weights = directory / "weights";
    std::filesystem::create_directories(weights);
    const std::vector<nn::state_dict_entry> entries =
        nn::torch_state_dict(settings.architecture, make_network<float>(settings, dataset).parameter_specs());
    nlohmann::json listed = nlohmann::json::array();
    for (const nn::state_dict_entry& entry : entries) {
        std::size_t size = 1;
        for (std::size_t extent : entry.shape) size *= extent;
        const xt::xarray<float>& flat = entry.buffer ? result.buffers : result.parameters;
        xt::xarray<float> tensor = xt::xarray<float>::from_shape(entry.shape);
        std::copy_n(flat.data() + entry.offset, size, tensor.data());
        nn::save_npy((weights / (entry.name + ".npy")).string(), tensor);
        listed.push_back({{"name", entry.name}, {"shape", entry.shape}, {"file", entry.name + ".npy"}});
        if (entry.name.size() > 12 && entry.name.compare(entry.name.size() - 12, 12, ".running_var") == 0) {
            // PyTorch's BatchNorm also keeps a step count, which evaluation does not use
            const std::string counter = entry.name.substr(0, entry.name.size() - 12) + ".num_batches_tracked";
            nn::save_npy((weights / (counter + ".npy")).string(), xt::xarray<std::int64_t>(0));
            listed.push_back({{"name", counter}, {"shape", nlohmann::json::array()}, {"file", counter + ".npy"}});
        }
    }
    write_file_atomically(weights / "state_dict.json",
                          nlohmann::json{{"format", "fds-weights"},
                                         {"version", 1},
                                         {"architecture", settings.architecture},
                                         {"dataset", settings.dataset},
                                         {"input_shape",
                                          {dataset.train_images.shape()[1], dataset.train_images.shape()[2],
                                           dataset.train_images.shape()[3]}},
                                         {"classes", dataset.classes},
                                         {"test_acc", result.test_acc},
                                         {"entries", listed}}
                                  .dump(2) +
                              "\n");
}

}  // namespace detail

nlohmann::json retrain_and_summarize(const hypertrain_settings& settings, const data::dataset& dataset,
                                     const std::vector<retrain_candidate>& candidates, progress_reporter& reporter,
                                     const progress_callback& progress,
                                     const std::filesystem::path& checkpoint_directory) {
    if (!settings.retrain_from_scratch || settings.retrain_n_epochs <= 0) return nullptr;
    if (candidates.empty()) throw std::logic_error("retrain_and_summarize: no schedule to retrain");
    const std::size_t attempts_allowed =
        std::min<std::size_t>(std::max<std::size_t>(settings.retrain_attempts, 1), candidates.size());
    nlohmann::json attempts = nlohmann::json::array();
    retrain_result result;
    double seconds = 0.0;
    std::size_t used = 0;
    const bool checkpointed = !checkpoint_directory.empty();
    std::optional<detail::resumable_retraining> resumable;
    if (checkpointed) resumable = detail::read_retrain_checkpoint(checkpoint_directory, candidates);
    if (resumable && resumable->attempt < attempts_allowed) {
        used = resumable->attempt;
        attempts = resumable->attempts;
        for (const nlohmann::json& attempt : attempts) seconds += attempt.value("seconds", 0.0);
    } else {
        resumable.reset();
    }
    for (; used < attempts_allowed; ++used) {
        const retrain_candidate& candidate = candidates[used];
        const bool resuming = resumable && resumable->attempt == used;
        if (resuming)
            reporter.message("fds: resuming the retraining of the " + candidate.label + " schedule after epoch " +
                             std::to_string(resumable->checkpoint.epoch_test_acc.size()) + " of " +
                             std::to_string(settings.retrain_n_epochs));
        else
            reporter.message("fds: retraining the " + candidate.label + " schedule from scratch for " +
                             std::to_string(settings.retrain_n_epochs) +
                             (settings.retrain_n_epochs == 1 ? " epoch" : " epochs"));
        retrain_checkpoint_callback<float> save;
        if (checkpointed)
            save = [&](const retrain_checkpoint<float>& checkpoint) {
                detail::write_retrain_checkpoint(checkpoint_directory, checkpoint, used, candidate.schedule, attempts);
                fault_point("retrain_epoch");
            };
        announce_retraining(settings, candidate.schedule, resuming ? &resumable->checkpoint : nullptr);
        result = retrain(settings, dataset, candidate.schedule, progress, resuming ? &resumable->checkpoint : nullptr,
                         save, process_group());
        seconds += result.seconds;
        attempts.push_back({{"schedule", candidate.label}, {"diverged", result.diverged}, {"seconds", result.seconds}});
        if (!result.diverged) break;
        reporter.message(
            "fds: retraining diverged (non-finite training loss) after " +
            std::to_string(result.epoch_test_acc.size()) + " epochs: the " + candidate.label +
            " schedule is unstable from other initial weights" +
            (used + 1 < attempts_allowed ? "; trying the next candidate" : "; its test accuracy counts as 0"));
    }
    if (checkpointed && !result.diverged) detail::write_torch_weights(checkpoint_directory, settings, dataset, result);
    if (checkpointed) detail::remove_retrain_checkpoint(checkpoint_directory);
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
