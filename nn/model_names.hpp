#pragma once
// The names make_model accepts (nn/models.hpp), in a header of their own so that code which only
// checks a name (the command line) need not include the models.

#include <string>
#include <vector>

namespace fds::nn {

inline const std::vector<std::string>& model_names() {
    static const std::vector<std::string> names{"MLP", "LeNet", "CNN", "WRN-16-1"};
    return names;
}

}  // namespace fds::nn
