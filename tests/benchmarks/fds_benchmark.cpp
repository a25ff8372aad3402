// Speed and memory of FDS hyper-training, printed as one JSON object.
//
// speed: seconds per inner step of hyper-training LeNet on Fashion-MNIST, batch 256, 7 lr + 1
//   momentum + 1 weight-decay buckets (K = 9), over a whole run of T steps (so the live tangent
//   count grows from 3 to 9 as in a real run), next to a plain training step and to the
//   reference algorithm in PyTorch (scripts/reference_fds.py, 2 threads) run on the same
//   machine in the same process tree: the ratio is the figure to quote.
// memory: peak resident memory of hyper-training runs of T = 1e2 and T = 1e4 inner steps (same
//   model, same K), each in a process of its own, measured from the start of the run (after the
//   dataset is loaded and freed memory handed back), next to (1 + K) x (weights + velocity) + one
//   step's activations.
//
//   fds_benchmark [--speed-steps N] [--memory-batch B] [--reference PATH] [--skip-reference] [--skip-memory]
//   fds_benchmark --memory-run T B      (internal: one memory run, prints its JSON)

#include <sys/resource.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <fds/data/dataset.hpp>
#include <fds/autodiff/runtime.hpp>
#include <fds/inner_loop.hpp>
#include <fds/run_setup.hpp>
#include <fds/nn/models.hpp>

namespace {

using clock_type = std::chrono::steady_clock;

double peak_resident_bytes() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) * 1024.0;  // Linux reports KiB
}

// Starts the peak (VmHWM) afresh from the memory held now, after handing freed heap memory back:
// prepare_runtime keeps freed blocks for reuse, so loading the dataset would otherwise leave its
// temporaries resident and its own peak as the process's. Returns false where Linux refuses.
bool restart_peak_measurement() {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
    std::FILE* file = std::fopen("/proc/self/clear_refs", "w");
    if (file == nullptr) return false;
    const bool written = std::fputs("5", file) >= 0;
    return std::fclose(file) == 0 && written;
}

// VmHWM of /proc/self/status (peak resident memory since the last restart), or ru_maxrss
double peak_resident_bytes_since_restart() {
    if (std::FILE* file = std::fopen("/proc/self/status", "r")) {
        char line[256];
        while (std::fgets(line, sizeof(line), file)) {
            long kilobytes = 0;
            if (std::sscanf(line, "VmHWM: %ld kB", &kilobytes) == 1) {
                std::fclose(file);
                return static_cast<double>(kilobytes) * 1024.0;
            }
        }
        std::fclose(file);
    }
    return peak_resident_bytes();
}

double current_resident_bytes() {
    long pages = 0, resident = 0;
    if (FILE* file = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(file, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(file);
    }
    return static_cast<double>(resident) * 4096.0;
}

fds::hyper_values benchmark_schedules() { return fds::hyper_values{std::vector<double>(7, 0.05), {0.5}, {1e-4}}; }

// Runs T inner steps of LeNet hyper-training on Fashion-MNIST; returns seconds.
double hypertrain_run(const fds::data::dataset& dataset, std::size_t total_steps, std::size_t batch_size,
                      std::size_t& parameter_count) {
    auto network = fds::nn::make_model<float>("LeNet", 1, 28, 28, 10);
    parameter_count = network.parameter_count();
    const fds::data::batch_loader loader(dataset, fds::data::split_part::train,
                                         fds::all_indices(dataset.train_labels.size()), batch_size, true, true,
                                         fds::data::augmentation{}, 1);
    const std::size_t per_epoch = loader.batches_per_epoch();
    const fds::tangent_layout layout({7, 1, 1}, {true, true, true}, total_steps);
    const auto initial = network.initial_parameters({"xavier", 1.0, 1.0}, 0);
    fds::inner_loop_options options;  // the reference's defaults: both clamps on
    const auto start = clock_type::now();
    const auto result = fds::run_inner_loop(network, initial, benchmark_schedules(), layout, options,
                                            [&](std::size_t t) { return loader.load(t / per_epoch, t % per_epoch); });
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    if (result.diverged) throw std::runtime_error("fds_benchmark: the benchmark run diverged");
    return seconds;
}

double plain_step_seconds(const fds::data::dataset& dataset, std::size_t steps) {
    auto network = fds::nn::make_model<float>("LeNet", 1, 28, 28, 10);
    const fds::data::batch_loader loader(dataset, fds::data::split_part::train,
                                         fds::all_indices(dataset.train_labels.size()), 256, true, true,
                                         fds::data::augmentation{}, 1);
    xt::xarray<float> parameters = network.initial_parameters({"xavier", 1.0, 1.0}, 0);
    xt::xarray<float> velocity = xt::zeros<float>(parameters.shape());
    const auto start = clock_type::now();
    for (std::size_t t = 0; t < steps; ++t) {
        auto batch = loader.load(0, t);
        auto trained = network.loss_and_gradient(parameters, batch.images, batch.labels);
        fds::nn::sgd_step(parameters, velocity, trained.gradient, 0.05f, 0.5f, 1e-4f);
    }
    return std::chrono::duration<double>(clock_type::now() - start).count() / static_cast<double>(steps);
}

// Floats of one LeNet step's activations per sample (forward outputs kept for backward and
// the im2col buffers), counted from the architecture.
double lenet_activation_floats_per_sample() {
    const double conv1_columns = 24 * 24 * 25, conv1 = 6 * 24 * 24, pool1 = 6 * 12 * 12;
    const double conv2_columns = 8 * 8 * 150, conv2 = 16 * 8 * 8, pool2 = 16 * 4 * 4;
    const double dense = 120 + 84 + 10;
    // each layer output once for the forward and once for its gradient in the backward
    return conv1_columns + conv2_columns + 2 * (conv1 * 2 + pool1 + conv2 * 2 + pool2 + 2 * dense);
}

nlohmann::json memory_run(std::size_t total_steps, std::size_t batch_size) {
    const auto dataset = fds::data::load_dataset("FashionMNIST", "");
    const bool peak_restarted = restart_peak_measurement();
    const double before = current_resident_bytes();
    std::size_t parameter_count = 0;
    const double seconds = hypertrain_run(dataset, total_steps, batch_size, parameter_count);
    const double peak = peak_restarted ? peak_resident_bytes_since_restart() : peak_resident_bytes();
    const double tangents = 9;
    const double model_bytes = (1 + tangents) * 2 * static_cast<double>(parameter_count) * sizeof(float) +
                               (1 + tangents) * lenet_activation_floats_per_sample() * batch_size * sizeof(float);
    return {{"inner_steps", total_steps},
            {"batch_size", batch_size},
            {"seconds", seconds},
            {"peak_resident_bytes", peak},
            {"resident_bytes_before_run", before},
            {"peak_measured_from", peak_restarted ? "run start" : "process start"},
            {"run_bytes", peak - before},
            {"model_bytes", model_bytes},
            {"run_bytes_over_model", (peak - before) / model_bytes}};
}

nlohmann::json run_child(const std::string& command) {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (!pipe) throw std::runtime_error("fds_benchmark: cannot run " + command);
    std::string output;
    char buffer[4096];
    while (std::size_t read = std::fread(buffer, 1, sizeof buffer, pipe.get())) output.append(buffer, read);
    const auto start = output.find('{');
    if (start == std::string::npos) throw std::runtime_error("fds_benchmark: no JSON from " + command + ": " + output);
    return nlohmann::json::parse(output.substr(start));
}

}  // namespace

int main(int argc, char** argv) try {
    fds::autodiff::prepare_runtime(argc, argv);
    std::vector<std::string> arguments(argv + 1, argv + argc);
    if (arguments.size() == 3 && arguments[0] == "--memory-run") {
        std::cout << memory_run(std::stoul(arguments[1]), std::stoul(arguments[2])).dump() << std::endl;
        return 0;
    }
    std::size_t speed_steps = 35, memory_batch = 16;
    std::string reference_script;
    bool run_reference = true, run_memory = true;
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        if (arguments[i] == "--speed-steps" && i + 1 < arguments.size())
            speed_steps = std::stoul(arguments[++i]);
        else if (arguments[i] == "--memory-batch" && i + 1 < arguments.size())
            memory_batch = std::stoul(arguments[++i]);
        else if (arguments[i] == "--reference" && i + 1 < arguments.size())
            reference_script = arguments[++i];
        else if (arguments[i] == "--skip-reference")
            run_reference = false;
        else if (arguments[i] == "--skip-memory")
            run_memory = false;
        else
            throw std::invalid_argument("fds_benchmark: unknown argument " + arguments[i]);
    }
    if (const char* script = std::getenv("FDS_REFERENCE_SCRIPT"); reference_script.empty() && script)
        reference_script = script;

    const auto dataset = fds::data::load_dataset("FashionMNIST", "");
    nlohmann::json report;
    std::size_t parameter_count = 0;
    hypertrain_run(dataset, 2, 256, parameter_count);  // warm-up
    const double ours = hypertrain_run(dataset, speed_steps, 256, parameter_count) / static_cast<double>(speed_steps);
    const double plain = plain_step_seconds(dataset, 20);
    report["speed"] = {{"model", "LeNet"},
                       {"dataset", "FashionMNIST"},
                       {"batch_size", 256},
                       {"buckets", {{"lr", 7}, {"mom", 1}, {"wd", 1}}},
                       {"inner_steps", speed_steps},
                       {"parameters", parameter_count},
                       {"seconds_per_inner_step", ours},
                       {"plain_training_seconds_per_step", plain},
                       {"hypertraining_over_plain", ours / plain}};
    if (run_reference && !reference_script.empty()) {
        const auto reference = run_child("/usr/bin/python3 " + reference_script + " --steps " +
                                         std::to_string(speed_steps) + " --threads 2 2>/dev/null");
        const double theirs = reference.at("seconds_per_inner_step").get<double>();
        report["speed"]["reference_pytorch"] = reference;
        report["speed"]["speedup_over_reference"] = theirs / ours;
    }
    if (run_memory) {
        const std::string self = argv[0];
        const auto short_run = run_child(self + " --memory-run 100 " + std::to_string(memory_batch));
        const auto long_run = run_child(self + " --memory-run 10000 " + std::to_string(memory_batch));
        report["memory"] = {{"short", short_run},
                            {"long", long_run},
                            {"long_over_short_peak", long_run.at("peak_resident_bytes").get<double>() /
                                                         short_run.at("peak_resident_bytes").get<double>()}};
    }
    std::cout << report.dump(2) << std::endl;
    return 0;
} catch (const std::exception& error) {
    std::cerr << error.what() << std::endl;
    return 1;
}
