#include <fds/data/dataset_summary.hpp>

#include <fds/data/validation_split.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace fds::data {

namespace detail {

nlohmann::json split_summary(const xt::xarray<std::uint8_t>& images, const xt::xarray<int>& labels,
                             std::size_t classes) {
    std::vector<std::size_t> class_counts(classes, 0);
    for (std::size_t index = 0; index < labels.size(); ++index) {
        const int label = labels(index);
        if (label >= 0 && static_cast<std::size_t>(label) < classes) {
            ++class_counts[static_cast<std::size_t>(label)];
        }
    }
    nlohmann::json summary;
    summary["images"] = labels.size();
    summary["class_counts"] = class_counts;

    const std::size_t count = images.dimension() == 4 ? images.shape()[0] : 0;
    const std::size_t channels = images.dimension() == 4 ? images.shape()[1] : 0;
    const std::size_t plane = images.dimension() == 4 ? images.shape()[2] * images.shape()[3] : 0;
    std::vector<double> means(channels, 0.0), deviations(channels, 0.0);
    for (std::size_t channel = 0; channel < channels; ++channel) {
        // 255^2 * 2^32 pixels still fit in 64 bits.
        std::uint64_t sum = 0, sum_of_squares = 0;
        for (std::size_t image = 0; image < count; ++image) {
            const std::uint8_t* start = images.data() + (image * channels + channel) * plane;
            for (std::size_t pixel = 0; pixel < plane; ++pixel) {
                sum += start[pixel];
                sum_of_squares += std::uint64_t{start[pixel]} * start[pixel];
            }
        }
        const double pixels = static_cast<double>(count * plane);
        if (pixels > 0) {
            const double mean = static_cast<double>(sum) / pixels / 255.0;
            const double mean_square = static_cast<double>(sum_of_squares) / pixels / (255.0 * 255.0);
            means[channel] = mean;
            deviations[channel] = std::sqrt(std::max(0.0, mean_square - mean * mean));
        }
    }
    summary["channel_mean"] = means;
    summary["channel_std"] = deviations;
    return summary;
}

}  // namespace detail

nlohmann::json dataset_summary(const dataset& source) {
    nlohmann::json summary;
    summary["dataset"] = source.name;
    summary["directory"] = source.directory;
    summary["classes"] = source.classes;
    summary["class_names"] = source.class_names;
    std::vector<std::size_t> shape;
    for (std::size_t axis = 1; axis < source.train_images.dimension(); ++axis) {
        shape.push_back(source.train_images.shape()[axis]);
    }
    summary["image_shape"] = shape;
    summary["train"] = detail::split_summary(source.train_images, source.train_labels, source.classes);
    summary["test"] = detail::split_summary(source.test_images, source.test_labels, source.classes);
    return summary;
}

nlohmann::json dataset_summary(const dataset& source, double val_train_fraction, bool val_train_overlap) {
    nlohmann::json summary = dataset_summary(source);
    // The part sizes do not depend on the seed, only which images land where does.
    const validation_split split =
        make_validation_split(source.train_labels.size(), val_train_fraction, val_train_overlap, 0);
    summary["validation_split"] = {{"val_train_fraction", val_train_fraction},
                                   {"val_train_overlap", val_train_overlap},
                                   {"train", split.train.size()},
                                   {"validation", split.validation.size()}};
    return summary;
}

}  // namespace fds::data
