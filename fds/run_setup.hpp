#pragma once
// What a run derives from its settings and dataset: the model, its initializer, the random
// streams of every choice (each one derived from the recorded seed), the loaders, and
// evaluation over a loader.
//
// Streams (autodiff::derive_seed(seed, stream, outer_step)): the validation split, the training
// batch order and augmentation, the validation and test batch order, and the initial weights
// are drawn independently, and afresh for each outer step, as the reference re-splits and
// re-initializes for each outer step. Retraining, black-box trials and the configurations a
// search draws use streams of their own.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/data/augmentation.hpp>
#include <fds/data/batch_loader.hpp>
#include <fds/data/dataset.hpp>
#include <fds/autodiff/random.hpp>
#include <fds/data/validation_split.hpp>
#include <fds/data_parallel.hpp>
#include <fds/distributed/communicator.hpp>
#include <fds/hypertrain_settings.hpp>
#include <fds/nn/initializers.hpp>
#include <fds/nn/models.hpp>
#include <fds/nn/network.hpp>

namespace fds {

enum class seed_stream : std::uint64_t {
    validation_split = 0xfd5001,
    train_batches = 0xfd5002,
    validation_batches = 0xfd5003,
    test_batches = 0xfd5004,
    initial_weights = 0xfd5005,
    retrain_batches = 0xfd5101,
    retrain_weights = 0xfd5102,
    trial_batches = 0xfd5201,
    trial_weights = 0xfd5202,
    search_configurations = 0xfd5203,
};
std::uint64_t stream_seed(std::uint64_t seed, seed_stream stream, std::uint64_t index = 0);

// settings.architecture for the dataset's image shape and classes.
template <class Scalar>
nn::network<Scalar> make_network(const hypertrain_settings& settings, const data::dataset& dataset);
nn::initializer initializer_of(const hypertrain_settings& settings);

// Training batches (shuffled, augmented as the dataset's reference recipe, last partial batch
// dropped); throws std::invalid_argument when not one full batch fits.
data::batch_loader training_loader(const hypertrain_settings& settings, const data::dataset& dataset,
                                   std::vector<std::size_t> indices, std::uint64_t seed);
// Evaluation batches of val_batch_size, never augmented; the last partial batch is dropped as
// in the reference, unless the images do not fill one batch (then they form one batch).
data::batch_loader evaluation_loader(const hypertrain_settings& settings, const data::dataset& dataset,
                                     data::split_part part, std::vector<std::size_t> indices, std::uint64_t seed);
std::vector<std::size_t> all_indices(std::size_t count);

// Loss and accuracy of the network over every batch of a loader (epoch 0), the batches split over
// the ranks of `group` (data_parallel.hpp).
template <class Scalar>
nn::evaluation_result evaluate_loader(nn::network<Scalar>& network, const xt::xarray<Scalar>& parameters,
                                      const data::batch_loader& loader, nn::mode run_mode,
                                      const distributed::communicator& group = distributed::single_process());

template <class Scalar>
xt::xarray<Scalar> images_as(xt::xarray<float>&& images);

// The validation split of hyper-training's outer step `index` (0: the one black-box trials,
// the greedy methods and fds noise use as well).
data::validation_split validation_split_of(const hypertrain_settings& settings, const data::dataset& dataset,
                                           std::size_t index = 0);

// Builds the model and the first outer step's split and loaders, so that settings the data cannot
// hold fail before any work is done or any file is written; throws std::invalid_argument naming
// the setting.
void check_setup_fits(const hypertrain_settings& settings, const data::dataset& dataset);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline std::uint64_t stream_seed(std::uint64_t seed, seed_stream stream, std::uint64_t index) {
    return autodiff::derive_seed(seed, static_cast<std::uint64_t>(stream), index);
}

template <class Scalar>
nn::network<Scalar> make_network(const hypertrain_settings& settings, const data::dataset& dataset) {
    const auto& shape = dataset.train_images.shape();
    if (shape.size() != 4)
        throw std::invalid_argument("dataset " + dataset.name + ": expected training images [N, C, H, W], found " +
                                    std::to_string(shape.size()) + " axes");
    return nn::make_model<Scalar>(settings.architecture, shape[1], shape[2], shape[3], dataset.classes);
}

inline nn::initializer initializer_of(const hypertrain_settings& settings) {
    nn::initializer init;
    init.type = settings.init_type;
    init.param = settings.init_param;
    init.norm_weights = settings.init_norm_weights;
    return init;
}

inline std::vector<std::size_t> all_indices(std::size_t count) {
    std::vector<std::size_t> indices(count);
    for (std::size_t i = 0; i < count; ++i) indices[i] = i;
    return indices;
}

inline data::batch_loader training_loader(const hypertrain_settings& settings, const data::dataset& dataset,
                                          std::vector<std::size_t> indices, std::uint64_t seed) {
    if (settings.train_batch_size == 0 || indices.size() < settings.train_batch_size)
        throw std::invalid_argument("train_batch_size: " + std::to_string(settings.train_batch_size) +
                                    " does not fit the " + std::to_string(indices.size()) + " training images of " +
                                    dataset.name);
    const data::augmentation augment =
        data::augmentation_for(dataset.name, settings.cutout, settings.cutout_length, settings.cutout_prob);
    return data::batch_loader(dataset, data::split_part::train, std::move(indices), settings.train_batch_size, true,
                              true, augment, seed);
}

inline data::batch_loader evaluation_loader(const hypertrain_settings& settings, const data::dataset& dataset,
                                            data::split_part part, std::vector<std::size_t> indices,
                                            std::uint64_t seed) {
    if (settings.val_batch_size == 0) throw std::invalid_argument("val_batch_size: expected at least 1, found 0");
    if (indices.empty())
        throw std::invalid_argument(std::string("evaluation of ") + dataset.name + ": no " +
                                    (part == data::split_part::train ? "validation" : "test") + " images");
    const bool drop_last = indices.size() >= settings.val_batch_size;
    return data::batch_loader(dataset, part, std::move(indices), settings.val_batch_size, true, drop_last,
                              data::augmentation{}, seed);
}

template <class Scalar>
xt::xarray<Scalar> images_as(xt::xarray<float>&& images) {
    if constexpr (std::is_same_v<Scalar, float>) {
        return std::move(images);
    } else {
        return xt::cast<Scalar>(images);
    }
}

inline data::validation_split validation_split_of(const hypertrain_settings& settings, const data::dataset& dataset,
                                                  std::size_t index) {
    return data::make_validation_split(dataset.train_labels.size(), settings.val_train_fraction,
                                       settings.val_train_overlap,
                                       stream_seed(settings.seed, seed_stream::validation_split, index));
}

inline void check_setup_fits(const hypertrain_settings& settings, const data::dataset& dataset) {
    make_network<float>(settings, dataset);
    const data::validation_split split = validation_split_of(settings, dataset);
    if (split.validation.empty())
        throw std::invalid_argument("val_train_fraction: " + std::to_string(settings.val_train_fraction) + " of the " +
                                    std::to_string(dataset.train_labels.size()) + " training images of " +
                                    dataset.name + " holds no validation image");
    training_loader(settings, dataset, split.train, 0);
    evaluation_loader(settings, dataset, data::split_part::train, split.validation, 0);
}

template <class Scalar>
nn::evaluation_result evaluate_loader(nn::network<Scalar>& network, const xt::xarray<Scalar>& parameters,
                                      const data::batch_loader& loader, nn::mode run_mode,
                                      const distributed::communicator& group) {
    if (run_mode == nn::mode::evaluation) share_root_buffers(network, group);
    nn::evaluation_result total;
    for (std::size_t b = group.rank(); b < loader.batches_per_epoch(); b += group.size()) {
        data::batch batch = loader.load(0, b);
        const auto result =
            network.evaluate(parameters, images_as<Scalar>(std::move(batch.images)), batch.labels, run_mode);
        total.loss_sum += result.loss_sum;
        total.correct += result.correct;
        total.count += result.count;
    }
    if (group.size() > 1) {
        double counts[3] = {total.loss_sum, static_cast<double>(total.correct), static_cast<double>(total.count)};
        group.sum(counts, 3);
        total.loss_sum = counts[0];
        total.correct = static_cast<std::size_t>(counts[1]);
        total.count = static_cast<std::size_t>(counts[2]);
    }
    return total;
}

}  // namespace fds
