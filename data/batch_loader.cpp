#include <fds/data/batch_loader.hpp>

#include <fds/autodiff/random.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace fds::data {

namespace detail {
constexpr std::uint64_t order_stream = 0x6F72646572ULL;  // "order"
constexpr std::uint64_t augmentation_stream = 0x6175676D656E74ULL;  // "augment"
}  // namespace detail

batch_loader::batch_loader(const dataset& source, split_part part, std::vector<std::size_t> indices,
                           std::size_t batch_size, bool shuffle, bool drop_last, augmentation settings,
                           std::uint64_t seed)
    : source_(&source), part_(part), indices_(std::move(indices)), batch_size_(batch_size), shuffle_(shuffle),
      drop_last_(drop_last), settings_(settings), seed_(seed),
      table_(normalization_table(normalization_for(source.name))), cache_(std::make_shared<order_cache>()) {
    if (batch_size_ == 0) {
        throw std::invalid_argument("batch_loader: batch_size must be positive, found 0");
    }
    const auto& images = part_ == split_part::train ? source.train_images : source.test_images;
    const auto& labels = part_ == split_part::train ? source.train_labels : source.test_labels;
    const char* part_name = part_ == split_part::train ? "train" : "test";
    if (images.dimension() != 4 || images.shape()[0] != labels.size()) {
        throw std::invalid_argument(
            std::string("batch_loader: the ") + part_name + " images must be [N, C, H, W] with one label each, found " +
            std::to_string(images.dimension()) + " dimensions and " + std::to_string(labels.size()) + " labels");
    }
    if (images.shape()[1] * 256 != table_.size()) {
        throw std::invalid_argument("batch_loader: " + source.name + " normalization has " +
                                    std::to_string(table_.size() / 256) + " channels but the images have " +
                                    std::to_string(images.shape()[1]));
    }
    for (std::size_t index : indices_) {
        if (index >= labels.size()) {
            throw std::invalid_argument(std::string("batch_loader: index ") + std::to_string(index) +
                                        " is past the end of the " + part_name + " split (" +
                                        std::to_string(labels.size()) + " images)");
        }
    }
}

std::size_t batch_loader::batches_per_epoch() const {
    return drop_last_ ? indices_.size() / batch_size_ : (indices_.size() + batch_size_ - 1) / batch_size_;
}

std::vector<std::size_t> batch_loader::epoch_order(std::size_t epoch) const { return *cached_epoch_order(epoch); }

std::shared_ptr<const std::vector<std::size_t>> batch_loader::cached_epoch_order(std::size_t epoch) const {
    std::lock_guard<std::mutex> lock(cache_->mutex);
    if (!cache_->filled || cache_->epoch != epoch) {
        auto order = std::make_shared<std::vector<std::size_t>>(indices_);
        if (shuffle_) {
            autodiff::random_source random(autodiff::derive_seed(seed_, detail::order_stream, epoch));
            autodiff::shuffle(*order, random);
        }
        cache_->order = std::move(order);
        cache_->epoch = epoch;
        cache_->filled = true;
    }
    return cache_->order;
}

batch batch_loader::load(std::size_t epoch, std::size_t batch_index) const {
    if (batch_index >= batches_per_epoch()) {
        throw std::out_of_range("batch_loader: batch " + std::to_string(batch_index) + " asked for, but an epoch has " +
                                std::to_string(batches_per_epoch()) + " batches");
    }
    const std::shared_ptr<const std::vector<std::size_t>> order = cached_epoch_order(epoch);
    const std::size_t first = batch_index * batch_size_;
    const std::size_t count = std::min(batch_size_, order->size() - first);

    const auto& images = part_ == split_part::train ? source_->train_images : source_->test_images;
    const auto& labels = part_ == split_part::train ? source_->train_labels : source_->test_labels;
    const std::size_t channels = images.shape()[1];
    const std::size_t height = images.shape()[2];
    const std::size_t width = images.shape()[3];
    const std::size_t image_size = channels * height * width;

    batch result{xt::xarray<float>::from_shape({count, channels, height, width}), xt::xarray<int>::from_shape({count}),
                 std::vector<std::size_t>(order->begin() + first, order->begin() + first + count)};
    const bool augmented = settings_.random_crop_flip || settings_.cutout;
    autodiff::random_source random(autodiff::derive_seed(seed_, detail::augmentation_stream, epoch, batch_index));
    const image_augmentation identity = identity_augmentation(settings_);
    for (std::size_t slot = 0; slot < count; ++slot) {
        const std::size_t image = result.indices[slot];
        const image_augmentation choice =
            augmented ? draw_image_augmentation(settings_, height, width, random) : identity;
        write_augmented_image(images.data() + image * image_size, channels, height, width, table_.data(), settings_,
                              choice, result.images.data() + slot * image_size);
        result.labels(slot) = labels(image);
    }
    return result;
}

}  // namespace fds::data
