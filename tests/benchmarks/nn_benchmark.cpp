// Speed of nn's training steps next to PyTorch on the same machine, printed as JSON.
//
// For MLP and LeNet on 28x28x1 and the CNN and WRN-16-1 on 32x32x3, batch 256:
//   plain step: loss_and_gradient + sgd_step on plain tensors;
//   dual step with K live tangents (K in 1, 4, 9): the same on dual tensors with a dual learning
//   rate, i.e. one FDS inner step: the gradient's tangents are H Z;
//   PyTorch (scripts/bench_pytorch_nn.py, same thread count): its plain step, and the reference's
//   way to get the same K tangents (gradient with create_graph + one double-backward HVP each).
// Ratios are taken within this one run (the machine is shared, absolute times drift).
//
//   nn_benchmark [--pytorch scripts/bench_pytorch_nn.py] [--repeats 3] [--models MLP,LeNet,...]
//                [--batch 256] [--dual-batch-wrn 256]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include <fds/autodiff/autodiff.hpp>
#include <fds/nn/models.hpp>
#include <fds/nn/sgd.hpp>

using namespace fds;
using clock_type = std::chrono::steady_clock;

namespace {

// Best of at least `repeats` runs, and of more while they fit in two seconds: on a shared machine
// the minimum of a few runs of a 15 ms step is often a slowed one (the PyTorch script does the same).
template <class Function>
double best_seconds(Function&& function, int repeats) {
    constexpr double budget_seconds = 2.0;
    function();  // warm-up: allocations, first-touch pages
    double best = 1e300, spent = 0;
    for (int runs = 0; runs < repeats || spent < budget_seconds; ++runs) {
        const auto start = clock_type::now();
        function();
        const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
        best = std::min(best, elapsed);
        spent += elapsed;
    }
    return best;
}

struct setup {
    std::string model;
    std::size_t channels;
    std::size_t size;
};

nlohmann::json bench_model(const setup& s, std::size_t batch, std::size_t dual_batch, int repeats) {
    auto net = nn::make_model<float>(s.model, s.channels, s.size, s.size, 10);
    autodiff::random_source random(1);
    auto random_array = [&](const std::vector<std::size_t>& shape) {
        xt::xarray<float> a = xt::xarray<float>::from_shape(shape);
        for (auto& x : a) x = static_cast<float>(random.normal());
        return a;
    };
    auto make_batch = [&](std::size_t count) {
        xt::xarray<int> labels = xt::xarray<int>::from_shape({count});
        for (std::size_t n = 0; n < count; ++n) labels(n) = static_cast<int>(n % 10);
        return std::make_pair(random_array({count, s.channels, s.size, s.size}), labels);
    };
    const auto [images, labels] = make_batch(batch);
    xt::xarray<float> theta = net.initial_parameters({"xavier", 1.0}, 0);
    xt::xarray<float> velocity = xt::zeros<float>(theta.shape());

    nlohmann::json entry{{"model", s.model},
                         {"input", {s.channels, s.size, s.size}},
                         {"batch", batch},
                         {"parameters", net.parameter_count()}};
    entry["plain_step_seconds"] = best_seconds(
        [&] {
            auto step = net.loss_and_gradient(theta, images, labels);
            nn::sgd_step(theta, velocity, step.gradient, 0.01f, 0.9f, 5e-4f);
        },
        repeats);

    const auto [dual_images, dual_labels] = make_batch(dual_batch);
    entry["dual_batch"] = dual_batch;
    for (std::size_t tangents : {1, 4, 9}) {
        xt::xarray<float> block = random_array({tangents, theta.size()});
        block *= 0.01f;
        autodiff::dual_tensor<float> dual_theta(theta, block, tangents);
        autodiff::dual_tensor<float> dual_velocity(xt::xarray<float>(xt::zeros<float>(theta.shape())),
                                                   xt::xarray<float>(xt::zeros<float>({tangents, theta.size()})),
                                                   tangents);
        const auto learning_rate = autodiff::dual_scalar<float>::variable(0.01f, tangents, tangents - 1);
        entry["dual_step_seconds_k" + std::to_string(tangents)] = best_seconds(
            [&] {
                auto step = net.loss_and_gradient(dual_theta, dual_images, dual_labels);
                nn::sgd_step(dual_theta, dual_velocity, nn::clamp_gradient(step.gradient, 3.0), learning_rate, 0.9f,
                             5e-4f);
            },
            repeats);
    }
    return entry;
}

nlohmann::json run_pytorch(const std::string& script, int repeats, std::size_t batch, const std::string& models) {
    const std::string command = "/usr/bin/python3 '" + script + "' steps --threads 2 --repeats " +
                                std::to_string(repeats) + " --batch " + std::to_string(batch) + " --models '" + models +
                                "' 2>/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return nullptr;
    std::string output;
    char buffer[4096];
    std::size_t read = 0;
    while ((read = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, read);
    if (pclose(pipe) != 0 || output.empty()) return nullptr;
    return nlohmann::json::parse(output, nullptr, false);
}

}  // namespace

int main(int argc, char** argv) {
    autodiff::prepare_runtime(argc, argv);
    std::string pytorch_script;
    std::string models = "MLP,LeNet,CNN,WRN-16-1";
    int repeats = 3;
    std::size_t batch = 256;
    std::size_t dual_batch_wrn = 256;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string option = argv[i];
        if (option == "--pytorch")
            pytorch_script = argv[i + 1];
        else if (option == "--repeats")
            repeats = std::stoi(argv[i + 1]);
        else if (option == "--models")
            models = argv[i + 1];
        else if (option == "--batch")
            batch = std::stoul(argv[i + 1]);
        else if (option == "--dual-batch-wrn")
            dual_batch_wrn = std::stoul(argv[i + 1]);
        else {
            std::cerr << "nn_benchmark: unknown option " << option << "\n";
            return 2;
        }
    }
    const std::vector<setup> setups{{"MLP", 1, 28}, {"LeNet", 1, 28}, {"CNN", 3, 32}, {"WRN-16-1", 3, 32}};
    const auto kernel = autodiff::blas_kernel_report();
    const char* heap_tunables = std::getenv("GLIBC_TUNABLES");
    nlohmann::json report{{"benchmark", "nn_training_steps"},
                          {"blas_kernel", kernel.corename},
                          {"threads", kernel.threads},
                          // the heap's page setting, which the PyTorch child process inherits too
                          {"glibc_tunables", heap_tunables != nullptr ? heap_tunables : ""},
                          {"results", nlohmann::json::array()}};
    for (const auto& s : setups) {
        if (models.find(s.model) == std::string::npos) continue;
        const std::size_t dual_batch = s.model == "WRN-16-1" ? dual_batch_wrn : batch;
        auto entry = bench_model(s, batch, dual_batch, repeats);
        std::cerr << entry.dump() << "\n";
        report["results"].push_back(entry);
    }
    if (!pytorch_script.empty()) {
        const auto pytorch = run_pytorch(pytorch_script, repeats, batch, models);
        if (pytorch.is_discarded() || pytorch.is_null()) {
            report["pytorch"] = "failed to run " + pytorch_script;
        } else {
            report["pytorch_version"] = pytorch.value("torch", "");
            for (auto& entry : report["results"]) {
                for (const auto& theirs : pytorch["results"]) {
                    if (theirs["model"] != entry["model"]) continue;
                    entry["pytorch"] = theirs;
                    entry["plain_speedup_vs_pytorch"] =
                        theirs["plain_step_seconds"].get<double>() / entry["plain_step_seconds"].get<double>();
                    if (entry["parameters"] != theirs["parameters"]) entry["parameter_count_mismatch"] = true;
                    for (int k : {1, 4, 9}) {
                        const std::string key = "k" + std::to_string(k);
                        // per-sample time, so a smaller dual batch (memory) still compares fairly
                        const double ours =
                            entry["dual_step_seconds_" + key].get<double>() / entry["dual_batch"].get<double>();
                        const double reference =
                            theirs["reference_hvp_seconds_" + key].get<double>() / theirs["batch"].get<double>();
                        entry["dual_speedup_vs_reference_" + key] = reference / ours;
                    }
                }
            }
        }
    }
    std::cout << report.dump(1) << std::endl;
    return 0;
}
