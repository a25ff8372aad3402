#pragma once
// Human-readable class names of the supported datasets, indexed by label.
//
// The official archives ship them as text files (CIFAR-10 `batches.meta.txt`, CIFAR-100
// `fine_label_names.txt` / `coarse_label_names.txt`, one name per line); when such a file is
// present it is read, otherwise the built-in lists below (identical to the official ones) are used.

#include <cstddef>
#include <string>
#include <vector>

namespace fds::data {

std::vector<std::string> cifar10_class_names();
std::vector<std::string> cifar100_fine_class_names();
std::vector<std::string> cifar100_coarse_class_names();
std::vector<std::string> mnist_class_names();
std::vector<std::string> fashion_mnist_class_names();

// One name per non-empty line (surrounding white space removed). Throws dataset_error naming the
// file unless it holds exactly `expected_count` names.
std::vector<std::string> read_class_names_file(const std::string& path, std::size_t expected_count);

}  // namespace fds::data
