#pragma once
// The one exception type of the data module: a dataset on disk that cannot be read as asked.
// Its message always names the file (or directory), what was expected and what was found,
// and, for missing files, where to get the dataset.

#include <stdexcept>
#include <string>

namespace fds::data {

class dataset_error : public std::runtime_error {
 public:
    explicit dataset_error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace fds::data
