#pragma once
// Schedules with sharing: each hyperparameter type (learning rate, momentum, weight decay) is cut
// into n buckets over the T inner steps of one outer step, and inner step t uses
//
//     bucket = floor(n * t / T)                       (the reference's get_hypers)
//
// Every learned bucket owns one tangent slot of the dual numbers that carry Z = d theta / d h.
// autodiff keeps only a prefix 0..L-1 of the slots live (the rest are exactly zero and cost
// nothing), so slots are numbered by the step at which their bucket is first used: at step t
// the live prefix is exactly the buckets already used, e.g. lr0, mom0, wd0, lr1, lr2, ...
// Ties (buckets first used at the same step) are broken by type order lr, mom, wd. A bucket
// that no step uses (possible when T < n) gets the last slots and its tangent stays zero.

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace fds {

enum class hyper_type { lr = 0, mom = 1, wd = 2 };
constexpr std::size_t hyper_type_count = 3;
const char* hyper_type_name(hyper_type type);

// Bucket values of the three schedules (one value per bucket).
struct hyper_values {
    std::vector<double> lr, mom, wd;
    std::vector<double>& of(hyper_type type);
    const std::vector<double>& of(hyper_type type) const;
};

// floor(bucket_count * step / total_steps), in integers (exact for any size).
std::size_t bucket_index(std::size_t bucket_count, std::size_t step, std::size_t total_steps);

// The hyperparameters one inner step uses, with the bucket each came from.
struct step_hypers {
    double lr, mom, wd;
    std::size_t lr_bucket, mom_bucket, wd_bucket;
    std::size_t bucket(hyper_type type) const;
    double value(hyper_type type) const;
};
step_hypers hypers_at(const hyper_values& schedules, std::size_t step, std::size_t total_steps);

// Which buckets are learned and which tangent slot each one owns, for one run of total_steps.
class tangent_layout {
 public:
    static constexpr std::size_t no_slot = static_cast<std::size_t>(-1);

    // bucket_counts and learned are indexed by hyper_type.
    tangent_layout(const std::vector<std::size_t>& bucket_counts, const std::vector<bool>& learned,
                   std::size_t total_steps);
    // Only some buckets learned: learned_buckets[type][bucket] (e.g. one tangent, for checks).
    tangent_layout(const std::vector<std::size_t>& bucket_counts, const std::vector<std::vector<bool>>& learned_buckets,
                   std::size_t total_steps);

    std::size_t tangent_count() const { return slot_owner_.size(); }  // K = learned buckets
    std::size_t total_steps() const { return total_steps_; }
    std::size_t bucket_count(hyper_type type) const { return bucket_counts_[index(type)]; }
    bool learned(hyper_type type) const { return learned_[index(type)]; }
    // Slot of bucket j of a type; no_slot when that bucket is not learned.
    std::size_t slot(hyper_type type, std::size_t bucket) const;
    // Number of slots live during step t (used at some step <= t): the live prefix.
    std::size_t live_slots(std::size_t step) const;
    // First step that uses a slot's bucket (total_steps when no step uses it).
    std::size_t first_use_step(std::size_t slot) const { return slot_first_use_[slot]; }
    struct slot_owner {
        hyper_type type;
        std::size_t bucket;
    };
    const slot_owner& owner(std::size_t slot) const { return slot_owner_[slot]; }

 private:
    static std::size_t index(hyper_type type) { return static_cast<std::size_t>(type); }
    std::vector<std::size_t> bucket_counts_;
    std::vector<bool> learned_;
    std::size_t total_steps_;
    std::vector<std::vector<std::size_t>> slots_;  // [type][bucket] -> slot
    std::vector<slot_owner> slot_owner_;
    std::vector<std::size_t> slot_first_use_;
};

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

inline const char* hyper_type_name(hyper_type type) {
    switch (type) {
        case hyper_type::lr:
            return "lr";
        case hyper_type::mom:
            return "mom";
        case hyper_type::wd:
            return "wd";
    }
    return "?";
}

inline std::vector<double>& hyper_values::of(hyper_type type) {
    return type == hyper_type::lr ? lr : type == hyper_type::mom ? mom : wd;
}
inline const std::vector<double>& hyper_values::of(hyper_type type) const {
    return type == hyper_type::lr ? lr : type == hyper_type::mom ? mom : wd;
}

inline std::size_t bucket_index(std::size_t bucket_count, std::size_t step, std::size_t total_steps) {
    if (total_steps == 0 || step >= total_steps)
        throw std::out_of_range("bucket_index: step " + std::to_string(step) + " outside a run of " +
                                std::to_string(total_steps) + " steps");
    // 128-bit-safe enough: bucket_count * step stays far below 2^64 for any real run.
    return bucket_count * step / total_steps;
}

inline std::size_t step_hypers::bucket(hyper_type type) const {
    return type == hyper_type::lr ? lr_bucket : type == hyper_type::mom ? mom_bucket : wd_bucket;
}
inline double step_hypers::value(hyper_type type) const {
    return type == hyper_type::lr ? lr : type == hyper_type::mom ? mom : wd;
}

inline step_hypers hypers_at(const hyper_values& schedules, std::size_t step, std::size_t total_steps) {
    for (hyper_type type : {hyper_type::lr, hyper_type::mom, hyper_type::wd})
        if (schedules.of(type).empty())
            throw std::invalid_argument(std::string("hypers_at: the ") + hyper_type_name(type) +
                                        " schedule has no buckets");
    step_hypers result{};
    result.lr_bucket = bucket_index(schedules.lr.size(), step, total_steps);
    result.mom_bucket = bucket_index(schedules.mom.size(), step, total_steps);
    result.wd_bucket = bucket_index(schedules.wd.size(), step, total_steps);
    result.lr = schedules.lr[result.lr_bucket];
    result.mom = schedules.mom[result.mom_bucket];
    result.wd = schedules.wd[result.wd_bucket];
    return result;
}

namespace detail {
inline std::vector<std::vector<bool>> every_bucket(const std::vector<std::size_t>& bucket_counts,
                                                   const std::vector<bool>& learned) {
    if (bucket_counts.size() != hyper_type_count || learned.size() != hyper_type_count)
        throw std::invalid_argument(
            "tangent_layout: expected 3 bucket counts and 3 learned flags (lr, mom, wd), found " +
            std::to_string(bucket_counts.size()) + " and " + std::to_string(learned.size()));
    std::vector<std::vector<bool>> result;
    for (std::size_t i = 0; i < hyper_type_count; ++i) result.emplace_back(bucket_counts[i], learned[i]);
    return result;
}
}  // namespace detail

inline tangent_layout::tangent_layout(const std::vector<std::size_t>& bucket_counts, const std::vector<bool>& learned,
                                      std::size_t total_steps)
    : tangent_layout(bucket_counts, detail::every_bucket(bucket_counts, learned), total_steps) {}

inline tangent_layout::tangent_layout(const std::vector<std::size_t>& bucket_counts,
                                      const std::vector<std::vector<bool>>& learned_buckets, std::size_t total_steps)
    : bucket_counts_(bucket_counts), learned_(hyper_type_count, false), total_steps_(total_steps) {
    if (bucket_counts.size() != hyper_type_count || learned_buckets.size() != hyper_type_count)
        throw std::invalid_argument(
            "tangent_layout: expected 3 bucket counts and 3 learned lists (lr, mom, wd), found " +
            std::to_string(bucket_counts.size()) + " and " + std::to_string(learned_buckets.size()));
    if (total_steps == 0) throw std::invalid_argument("tangent_layout: a run needs at least one inner step");
    struct candidate {
        std::size_t first_use;
        hyper_type type;
        std::size_t bucket;
    };
    std::vector<candidate> candidates;
    slots_.assign(hyper_type_count, {});
    for (std::size_t type_index = 0; type_index < hyper_type_count; ++type_index) {
        const std::size_t count = bucket_counts[type_index];
        if (count == 0)
            throw std::invalid_argument(std::string("tangent_layout: the ") +
                                        hyper_type_name(static_cast<hyper_type>(type_index)) +
                                        " schedule needs at least one bucket");
        if (learned_buckets[type_index].size() != count)
            throw std::invalid_argument(std::string("tangent_layout: ") +
                                        hyper_type_name(static_cast<hyper_type>(type_index)) + " has " +
                                        std::to_string(count) + " buckets but " +
                                        std::to_string(learned_buckets[type_index].size()) + " learned flags");
        slots_[type_index].assign(count, no_slot);
        // First use of bucket j is the first step t with floor(n t / T) == j; a scan is exact
        // and cheap (T is at most ~1e5).
        std::vector<std::size_t> first_use(count, total_steps);
        for (std::size_t t = total_steps; t-- > 0;) first_use[bucket_index(count, t, total_steps)] = t;
        for (std::size_t j = 0; j < count; ++j)
            if (learned_buckets[type_index][j]) {
                learned_[type_index] = true;
                candidates.push_back({first_use[j], static_cast<hyper_type>(type_index), j});
            }
    }
    // Stable: equal first-use steps keep type order lr, mom, wd, then bucket order.
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const candidate& a, const candidate& b) { return a.first_use < b.first_use; });
    for (std::size_t slot = 0; slot < candidates.size(); ++slot) {
        const candidate& c = candidates[slot];
        slots_[index(c.type)][c.bucket] = slot;
        slot_owner_.push_back({c.type, c.bucket});
        slot_first_use_.push_back(c.first_use);
    }
}

inline std::size_t tangent_layout::slot(hyper_type type, std::size_t bucket) const {
    if (bucket >= bucket_counts_[index(type)])
        throw std::out_of_range(std::string("tangent_layout::slot: ") + hyper_type_name(type) + " bucket " +
                                std::to_string(bucket) + " of " + std::to_string(bucket_counts_[index(type)]));
    return slots_[index(type)][bucket];
}

inline std::size_t tangent_layout::live_slots(std::size_t step) const {
    std::size_t live = 0;
    while (live < slot_first_use_.size() && slot_first_use_[live] <= step) ++live;
    return live;
}

}  // namespace fds
