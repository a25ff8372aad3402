#pragma once
// A dataset's summary as JSON, for `fds info` and for checking that files were read right:
// {
//   "dataset": "CIFAR10", "directory": "...", "classes": 10, "class_names": [...],
//   "image_shape": [3, 32, 32],
//   "train": {"images": 10000, "class_counts": [1005, 974, ...],
//             "channel_mean": [0.4874, 0.4815, 0.4447], "channel_std": [...]},
//   "test": {...}
// }
// Channel statistics are over every pixel of the split, raw bytes scaled to [0, 1]:
//   mean_c = sum(x) / n,  std_c = sqrt(sum(x^2) / n - mean_c^2)   (population standard deviation)
// with the sums accumulated exactly in integers, so they do not depend on summation order.

#include <nlohmann/json.hpp>

#include <fds/data/dataset.hpp>

namespace fds::data {

nlohmann::json dataset_summary(const dataset& source);

// The same, plus the sizes of the training and validation parts FDS will use:
//   "validation_split": {"val_train_fraction": 0.05, "val_train_overlap": false,
//                        "train": 47500, "validation": 2500}
nlohmann::json dataset_summary(const dataset& source, double val_train_fraction, bool val_train_overlap);

}  // namespace fds::data
