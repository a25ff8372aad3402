#pragma once
// A number for the run directory's JSON files: non-finite values (a diverged run's losses and
// hypergradients) are written as null, since JSON has no NaN or infinity.

#include <cmath>

#include <nlohmann/json.hpp>

namespace fds::cli {

inline nlohmann::json finite_or_null(double value) {
    return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

}  // namespace fds::cli
