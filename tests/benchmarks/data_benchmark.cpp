// Cost of assembling one batch (gather, augment, normalize to float NCHW), printed as JSON.
// Target: well under 5% of a plain MLP training step on the same batch (the nn benchmark
// measures that step). Real Fashion-MNIST and the CIFAR-10 subset are used when present;
// otherwise in-memory images of the same shape (the cost does not depend on pixel values).

#include <fds/data/batch_loader.hpp>
#include <fds/data/dataset.hpp>
#include <fds/data/validation_split.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <numeric>

using namespace fds::data;
using clock_type = std::chrono::steady_clock;

namespace {

// CPU time of this thread: less disturbed than wall time when other jobs share the cores.
double thread_cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

dataset synthetic(const std::string& name, std::size_t count, std::size_t channels, std::size_t side) {
    dataset result;
    result.name = name;
    result.classes = 10;
    result.train_images = xt::xarray<std::uint8_t>::from_shape({count, channels, side, side});
    result.train_labels = xt::xarray<int>::from_shape({count});
    fds::autodiff::random_source random(1);
    for (std::size_t index = 0; index < result.train_images.size(); ++index)
        result.train_images.data()[index] = static_cast<std::uint8_t>(random.bits());
    for (std::size_t index = 0; index < count; ++index) result.train_labels(index) = static_cast<int>(index % 10);
    result.test_images = xt::xarray<std::uint8_t>::from_shape({1, channels, side, side});
    result.test_labels = xt::xarray<int>::from_shape({1});
    result.test_labels(0) = 0;
    return result;
}

dataset load_or_synthesize(const std::string& name, const std::string& directory, std::size_t count,
                           std::size_t channels, std::size_t side, std::string& source) {
    try {
        dataset loaded = load_dataset(name, directory);
        source = loaded.directory;
        return loaded;
    } catch (const dataset_error&) {
        source = "synthetic";
        return synthetic(name, count, channels, side);
    }
}

// Loads every batch of `epochs` epochs (after a warm-up epoch) and returns microseconds per batch.
nlohmann::json time_batches(const std::string& label, const dataset& data, const std::string& source,
                            std::size_t batch_size, const augmentation& settings) {
    const validation_split split = make_validation_split(data.train_labels.size(), 0.05, false, 0);
    const batch_loader loader(data, split_part::train, split.train, batch_size, true, true, settings, 0);
    double checksum = 0;
    for (std::size_t index = 0; index < std::min<std::size_t>(loader.batches_per_epoch(), 20); ++index)
        checksum += loader.load(0, index).images(0, 0, 0, 0);

    std::size_t batches = 0;
    const double cpu_start = thread_cpu_seconds();
    const auto start = clock_type::now();
    for (std::size_t epoch = 1; batches < 400; ++epoch)
        for (std::size_t index = 0; index < loader.batches_per_epoch() && batches < 400; ++index, ++batches)
            checksum += loader.load(epoch, index).images(0, 0, 0, 0);
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    const double cpu_seconds = thread_cpu_seconds() - cpu_start;

    // The first batch of an epoch also shuffles the epoch's order.
    const auto shuffle_start = clock_type::now();
    checksum += loader.load(1000, 0).images(0, 0, 0, 0);
    const double first_batch_seconds = std::chrono::duration<double>(clock_type::now() - shuffle_start).count();

    return {{"name", label},
            {"source", source},
            {"batch_size", batch_size},
            {"image_shape", {data.train_images.shape()[1], data.train_images.shape()[2], data.train_images.shape()[3]}},
            {"random_crop_flip", settings.random_crop_flip},
            {"cutout", settings.cutout},
            {"batches_timed", batches},
            {"microseconds_per_batch", seconds / static_cast<double>(batches) * 1e6},
            {"cpu_microseconds_per_batch", cpu_seconds / static_cast<double>(batches) * 1e6},
            {"images_per_second", static_cast<double>(batches * batch_size) / seconds},
            {"first_batch_of_epoch_microseconds", first_batch_seconds * 1e6},
            {"checksum", checksum}};
}

}  // namespace

int main() {
    nlohmann::json results = nlohmann::json::array();

    std::string fashion_source;
    const auto load_start = clock_type::now();
    const dataset fashion = load_or_synthesize("FashionMNIST", "", 60000, 1, 28, fashion_source);
    const double load_seconds = std::chrono::duration<double>(clock_type::now() - load_start).count();
    nlohmann::json load = {
        {"name", "load_fashion_mnist_from_gzip"}, {"source", fashion_source}, {"seconds", load_seconds}};
    results.push_back(load);
    results.push_back(
        time_batches("fashion_mnist_batch_256", fashion, fashion_source, 256, augmentation_for("FashionMNIST")));

    const char* subset = std::getenv("FDS_CIFAR10_SUBSET");
    std::string cifar_source;
    const dataset cifar = load_or_synthesize("CIFAR10", subset != nullptr ? subset : "../shared/data/cifar-10-subset",
                                             50000, 3, 32, cifar_source);
    results.push_back(
        time_batches("cifar10_batch_128_crop_flip", cifar, cifar_source, 128, augmentation_for("CIFAR10")));
    results.push_back(time_batches("cifar10_batch_128_crop_flip_cutout16", cifar, cifar_source, 128,
                                   augmentation_for("CIFAR10", true, 16, 1.0)));
    augmentation none;
    results.push_back(time_batches("cifar10_batch_128_no_augmentation", cifar, cifar_source, 128, none));

    std::cout << nlohmann::json{{"benchmark", "data_batch_assembly"}, {"results", results}}.dump(2) << "\n";
    return 0;
}
