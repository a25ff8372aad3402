#pragma once
// Pruning of Z updates (the reference's to_prune): on a pruned step of hyperparameter type X
// the tangents of X's slots are left as they are (Z and C of X unchanged), which skips their
// Hessian-vector work at a known cost in exactness. Within each stretch of
// W = floor(T / n_X) steps, with i = t mod W:
//
//   alternate, ratio >= 0.5:  keep every k-th step, k = floor(1 / (1 - ratio)): pruned iff i mod k != 0
//   alternate, ratio <  0.5:  prune every k-th step, k = floor(1 / ratio):      pruned iff i mod k == 0
//   truncate:                 prune the first ratio * W steps:                  pruned iff i < ratio * W
//
// Edge cases the reference leaves to a Python exception are defined here: ratio 0 prunes
// nothing; alternate with ratio 1 prunes every step; W = 0 (fewer steps than buckets) prunes nothing.

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace fds {

enum class pruning_mode { alternate, truncate };

// "alternate" | "truncate"; anything else -> std::invalid_argument naming the key.
pruning_mode parse_pruning_mode(const std::string& name);

struct pruning_rule {
    pruning_mode mode = pruning_mode::alternate;
    double ratio = 0.0;  // in [0, 1]

    // Is the tangent update of a type with bucket_count buckets skipped at this step?
    bool is_pruned(std::size_t step, std::size_t total_steps, std::size_t bucket_count) const;
};

pruning_rule make_pruning_rule(const std::string& mode, double ratio);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline pruning_mode parse_pruning_mode(const std::string& name) {
    if (name == "alternate") return pruning_mode::alternate;
    if (name == "truncate") return pruning_mode::truncate;
    throw std::invalid_argument("pruning_mode: expected alternate or truncate, found \"" + name + "\"");
}

inline pruning_rule make_pruning_rule(const std::string& mode, double ratio) {
    if (!(ratio >= 0.0 && ratio <= 1.0))
        throw std::invalid_argument("pruning_ratio: expected a value in [0, 1], found " + std::to_string(ratio));
    return pruning_rule{parse_pruning_mode(mode), ratio};
}

inline bool pruning_rule::is_pruned(std::size_t step, std::size_t total_steps, std::size_t bucket_count) const {
    if (ratio == 0.0 || bucket_count == 0) return false;
    const std::size_t steps_per_bucket = total_steps / bucket_count;
    if (steps_per_bucket == 0) return false;
    const std::size_t index_in_bucket = step % steps_per_bucket;
    if (mode == pruning_mode::truncate)
        return static_cast<double>(index_in_bucket) < ratio * static_cast<double>(steps_per_bucket);
    if (ratio >= 0.5) {
        if (ratio >= 1.0) return true;
        const auto keep_every = static_cast<std::size_t>(1.0 / (1.0 - ratio));
        return index_in_bucket % keep_every != 0;
    }
    const auto prune_every = static_cast<std::size_t>(1.0 / ratio);
    return index_in_bucket % prune_every == 0;
}

}  // namespace fds
