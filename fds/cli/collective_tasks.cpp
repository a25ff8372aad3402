#include "collective_tasks.hpp"

#include "dataset_loading.hpp"
#include "options.hpp"
#include "process_group.hpp"

#include <fds/nn/network.hpp>
#include <fds/run_setup.hpp>

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace fds::cli {

namespace {

bool task_announced = false;

void announce(nlohmann::json task) {
    const distributed::communicator& group = process_group();
    if (group.size() == 1) return;
    std::string text = task.dump();
    group.broadcast(text);
    task_announced = true;
}

nlohmann::json floats_to_json(const xt::xarray<float>& values) {
    return std::vector<float>(values.begin(), values.end());
}

xt::xarray<float> floats_from_json(const nlohmann::json& values) {
    const std::vector<float> flat = values.get<std::vector<float>>();
    xt::xarray<float> result = xt::xarray<float>::from_shape({flat.size()});
    std::copy(flat.begin(), flat.end(), result.begin());
    return result;
}

nlohmann::json request_to_json(const trial_request& request) {
    return {{"id", request.id},
            {"schedule", to_json(request.schedule)},
            {"epochs", request.epochs},
            {"bracket", request.bracket},
            {"rung", request.rung}};
}

trial_request request_from_json(const nlohmann::json& json) {
    return {json.at("id").get<std::size_t>(), hyper_values_from_json(json.at("schedule"), "schedule"),
            json.at("epochs").get<double>(), json.at("bracket").get<std::size_t>(), json.at("rung").get<std::size_t>()};
}

// This rank's trials (i mod N), each on this rank alone; the outcomes of all, summed over ranks.
std::vector<trial_outcome> run_trial_share(const hypertrain_settings& settings, const data::dataset& dataset,
                                           const std::vector<trial_request>& requests) {
    const distributed::communicator& group = process_group();
    constexpr std::size_t fields = 6;
    std::vector<double> rows(requests.size() * fields, 0.0);
    nn::network<float> network = make_network<float>(settings, dataset);
    for (std::size_t i = group.rank(); i < requests.size(); i += group.size()) {
        const trial_outcome outcome = run_trial(network, settings, dataset, requests[i]);
        double* row = rows.data() + i * fields;
        row[0] = outcome.val_acc;
        row[1] = outcome.val_loss;
        row[2] = outcome.test_acc;
        row[3] = static_cast<double>(outcome.steps);
        row[4] = outcome.seconds;
        row[5] = outcome.diverged ? 1.0 : 0.0;
    }
    group.sum(rows.data(), rows.size());
    std::vector<trial_outcome> outcomes(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const double* row = rows.data() + i * fields;
        outcomes[i] = {row[0], row[1], row[2], static_cast<std::size_t>(row[3]), row[4], row[5] != 0.0};
    }
    return outcomes;
}

// The dataset and trainer a worker keeps between tasks of the same settings.
struct worker_state {
    nlohmann::json settings_json;
    hypertrain_settings settings;
    std::optional<data::dataset> dataset;
    std::string dataset_name, datasets_path;  // what `dataset` was loaded from
    std::unique_ptr<hyper_trainer> trainer;

    void use(const nlohmann::json& json) {
        if (dataset && json == settings_json) return;
        hypertrain_settings parsed;
        apply_settings_json(parsed, json, "rank 0's task");
        settings = resolve_settings(parsed);
        apply_thread_count(settings);
        if (!dataset || settings.dataset != dataset_name || settings.datasets_path != datasets_path) {
            dataset.emplace(load_dataset_for(settings));
            dataset_name = settings.dataset;
            datasets_path = settings.datasets_path;
        }
        settings_json = json;
        trainer.reset();
    }
};

void run_task(const nlohmann::json& task, worker_state& state) {
    const std::string kind = task.at("task").get<std::string>();
    state.use(task.at("settings"));
    if (kind == "outer_step") {
        if (!state.trainer) {
            state.trainer = std::make_unique<hyper_trainer>(state.settings, *state.dataset);
            state.trainer->distribute_over(process_group());
        }
        state.trainer->restore(task.at("trainer"));
        state.trainer->run_outer_step({});
    } else if (kind == "retrain") {
        std::optional<retrain_checkpoint<float>> resume;
        if (!task.at("resume").is_null()) {
            const nlohmann::json& json = task.at("resume");
            resume.emplace();
            resume->state.parameters = floats_from_json(json.at("parameters"));
            resume->state.velocity = floats_from_json(json.at("velocity"));
            resume->state.steps_done = json.at("steps_done").get<std::size_t>();
            resume->buffers = floats_from_json(json.at("buffers"));
            resume->epoch_test_acc = json.at("epoch_test_acc").get<std::vector<double>>();
            resume->seconds = json.at("seconds").get<double>();
        }
        retrain(state.settings, *state.dataset, hyper_values_from_json(task.at("schedule"), "schedule"), {},
                resume ? &*resume : nullptr, {}, process_group());
    } else if (kind == "trial") {
        nn::network<float> network = make_network<float>(state.settings, *state.dataset);
        run_trial(network, state.settings, *state.dataset, request_from_json(task.at("request")), {}, process_group());
    } else if (kind == "trials") {
        std::vector<trial_request> requests;
        for (const nlohmann::json& request : task.at("requests")) requests.push_back(request_from_json(request));
        run_trial_share(state.settings, *state.dataset, requests);
    } else {
        throw std::runtime_error("rank 0 sent an unknown task \"" + kind + "\"");
    }
}

}  // namespace

void announce_outer_step(const hyper_trainer& trainer) {
    announce({{"task", "outer_step"},
              {"settings", settings_to_json(trainer.settings())},
              {"trainer", trainer.checkpoint()}});
}

void announce_retraining(const hypertrain_settings& settings, const hyper_values& schedule,
                         const retrain_checkpoint<float>* resume) {
    nlohmann::json resume_json;
    if (resume)
        resume_json = {{"parameters", floats_to_json(resume->state.parameters)},
                       {"velocity", floats_to_json(resume->state.velocity)},
                       {"steps_done", resume->state.steps_done},
                       {"buffers", floats_to_json(resume->buffers)},
                       {"epoch_test_acc", resume->epoch_test_acc},
                       {"seconds", resume->seconds}};
    announce({{"task", "retrain"},
              {"settings", settings_to_json(settings)},
              {"schedule", to_json(schedule)},
              {"resume", resume_json}});
}

void announce_trial(const hypertrain_settings& settings, const trial_request& request) {
    announce({{"task", "trial"}, {"settings", settings_to_json(settings)}, {"request", request_to_json(request)}});
}

std::vector<trial_outcome> run_trials_on_all_ranks(const hypertrain_settings& settings, const data::dataset& dataset,
                                                   const std::vector<trial_request>& requests) {
    nlohmann::json listed = nlohmann::json::array();
    for (const trial_request& request : requests) listed.push_back(request_to_json(request));
    announce({{"task", "trials"}, {"settings", settings_to_json(settings)}, {"requests", listed}});
    return run_trial_share(settings, dataset, requests);
}

void release_workers(int exit_code) {
    const distributed::communicator& group = process_group();
    if (group.size() == 1) return;
    if (exit_code != 0 && task_announced) abort_process_group(exit_code);
    std::string text = nlohmann::json{{"task", "exit"}, {"code", exit_code}}.dump();
    group.broadcast(text);
}

int serve_as_worker(std::ostream& errors) {
    const distributed::communicator& group = process_group();
    worker_state state;
    while (true) {
        std::string text;
        try {
            group.broadcast(text);
            const nlohmann::json task = nlohmann::json::parse(text);
            if (task.at("task") == "exit") return task.at("code").get<int>();
            run_task(task, state);
        } catch (const std::exception& error) {
            errors << "fds: rank " << group.rank() << ": error: " << error.what() << std::endl;
            abort_process_group(1);
        }
    }
}

}  // namespace fds::cli
