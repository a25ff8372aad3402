// Strong scaling of one FDS inner step over MPI ranks, printed as JSON by rank 0: the dual step
// (K live tangents, batch B shared by the ranks) of LeNet on 28x28x1 and the CNN on 32x32x3, its
// seconds, and the seconds and bytes of its one allreduce ([1 + K, P] floats). Run under mpirun;
// scripts/scaling_benchmark.sh compares 1 rank x 2 threads with 2 ranks x 1 thread.
//
//   mpirun -np 2 data_parallel_benchmark [--threads 1] [--tangents 9] [--batch 128] [--steps 8]
#include <chrono>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include <fds/autodiff/autodiff.hpp>
#include <fds/data_parallel.hpp>
#include <fds/distributed/mpi_communicator.hpp>
#include <fds/nn/models.hpp>
#include <fds/autodiff/random.hpp>
#include <fds/nn/sgd.hpp>

using namespace fds;
using clock_type = std::chrono::steady_clock;

namespace {

// Forwards to a communicator and keeps the seconds spent in its sums, apart from the time spent
// waiting for the slower ranks (a one-number sum just before each, in this benchmark only).
class timed_communicator final : public distributed::communicator {
 public:
    explicit timed_communicator(const distributed::communicator& inner) : inner_(inner) {}
    std::size_t rank() const override { return inner_.rank(); }
    std::size_t size() const override { return inner_.size(); }
    void sum(float* values, std::size_t count) const override {
        timed([&] { inner_.sum(values, count); }, count * 4);
    }
    void sum(double* values, std::size_t count) const override {
        timed([&] { inner_.sum(values, count); }, count * 8);
    }
    void broadcast(float* values, std::size_t count) const override { inner_.broadcast(values, count); }
    void broadcast(double* values, std::size_t count) const override { inner_.broadcast(values, count); }
    void broadcast(std::string& text) const override { inner_.broadcast(text); }
    void reset() const {
        seconds = 0;
        waiting = 0;
        bytes = 0;
    }
    mutable double seconds = 0, waiting = 0;
    mutable std::size_t bytes = 0;

 private:
    template <class Function>
    void timed(Function&& function, std::size_t byte_count) const {
        const auto arrival = clock_type::now();
        double together = 0;
        inner_.sum(&together, 1);
        const auto start = clock_type::now();
        waiting += std::chrono::duration<double>(start - arrival).count();
        function();
        seconds += std::chrono::duration<double>(clock_type::now() - start).count();
        bytes += byte_count;
    }
    const distributed::communicator& inner_;
};

nlohmann::json bench_model(const std::string& model, std::size_t channels, std::size_t size, std::size_t batch,
                           std::size_t tangents, std::size_t steps, const timed_communicator& group) {
    auto network = nn::make_model<float>(model, channels, size, size, 10);
    autodiff::random_source random(1);
    xt::xarray<float> images = xt::xarray<float>::from_shape({batch, channels, size, size});
    for (auto& x : images) x = static_cast<float>(random.normal());
    xt::xarray<int> labels = xt::xarray<int>::from_shape({batch});
    for (std::size_t n = 0; n < batch; ++n) labels(n) = static_cast<int>(n % 10);
    const xt::xarray<float> theta = network.initial_parameters({"xavier", 1.0}, 0);
    autodiff::dual_tensor<float> parameters(theta, tangents), velocity(xt::zeros<float>(theta.shape()), tangents);
    for (std::size_t slot = 0; slot < tangents; ++slot)
        parameters.seed(slot, network.initial_parameters({"xavier", 1.0}, 1 + slot) * 1e-3f);
    const auto learning_rate = autodiff::dual_scalar<float>::variable(0.01f, tangents, 0);
    const autodiff::dual_scalar<float> momentum(0.9f, tangents), weight_decay(5e-4f, tangents);
    auto step = [&] {
        auto trained = data_parallel_loss_and_gradient(network, parameters, images, labels, group);
        nn::sgd_step(parameters, velocity, trained.gradient, learning_rate, momentum, weight_decay);
    };
    step();  // warm-up: allocations, first-touch pages
    group.reset();
    const auto start = clock_type::now();
    for (std::size_t s = 0; s < steps; ++s) step();
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    // means over the ranks
    double totals[3] = {seconds, group.seconds, group.waiting};
    group.sum(totals, 3);
    const double mean_seconds = totals[0] / static_cast<double>(group.size());
    const double mean_allreduce = totals[1] / static_cast<double>(group.size());
    const double mean_waiting = totals[2] / static_cast<double>(group.size());
    return {{"model", model},
            {"parameters", network.parameter_count()},
            {"batch", batch},
            {"tangents", tangents},
            {"ranks", group.size()},
            {"threads_per_rank", autodiff::thread_count()},
            {"seconds_per_step", mean_seconds / static_cast<double>(steps)},
            {"allreduce_seconds_per_step", mean_allreduce / static_cast<double>(steps)},
            {"allreduce_share", mean_allreduce / mean_seconds},
            {"waiting_seconds_per_step", mean_waiting / static_cast<double>(steps)},
            {"allreduce_bytes", (1 + tangents) * network.parameter_count() * sizeof(float)}};
}

}  // namespace

int main(int argc, char** argv) {
    autodiff::prepare_runtime(argc, argv);
    distributed::mpi_communicator world(argc, argv);
    std::size_t threads = 0, tangents = 9, batch = 128, steps = 8;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const std::size_t value = std::stoul(argv[i + 1]);
        if (flag == "--threads")
            threads = value;
        else if (flag == "--tangents")
            tangents = value;
        else if (flag == "--batch")
            batch = value;
        else if (flag == "--steps")
            steps = value;
        else {
            std::cerr << "data_parallel_benchmark: unknown flag " << flag << "\n";
            return 2;
        }
    }
    if (threads > 0) autodiff::set_thread_count(threads);
    const timed_communicator group(world);
    nlohmann::json results = nlohmann::json::array();
    results.push_back(bench_model("LeNet", 1, 28, batch, tangents, steps, group));
    results.push_back(bench_model("CNN", 3, 32, batch, tangents, steps, group));
    if (world.is_root()) std::cout << results.dump() << std::endl;
    return 0;
}
