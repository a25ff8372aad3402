#pragma once
// The space black-box search explores: the same schedules FDS learns (n_lrs learning-rate,
// n_moms momentum and n_wds weight-decay buckets), each bucket drawn independently,
//
//     lr ~ log-uniform [search_lr_min, search_lr_max]     wd ~ log-uniform [search_wd_min, search_wd_max]
//     mom ~ uniform [search_mom_min, search_mom_max]
//
// A type that is not learned (learn_X false) keeps its inner_X_init value, as in hyper-training.
// Draws go through data/random.hpp, so a seed gives the same configurations on every machine.

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include <fds/autodiff/random.hpp>
#include <fds/hypertrain_settings.hpp>
#include <fds/schedule.hpp>

namespace fds {

struct value_range {
    double low, high;
    bool log_scale;
    bool contains(double value) const { return value >= low && value <= high; }
};

struct schedule_space {
    std::size_t n_lrs = 7, n_moms = 1, n_wds = 1;
    bool learn_lr = true, learn_mom = true, learn_wd = true;
    value_range lr{1e-3, 1.0, true}, mom{0.0, 0.99, false}, wd{1e-6, 1e-2, true};
    double fixed_lr = 0.05, fixed_mom = 0.9, fixed_wd = 5e-4;  // values of the types not searched

    hyper_values sample(autodiff::random_source& random) const;
    bool contains(const hyper_values& values) const;
};

// Throws std::invalid_argument naming the setting when a range is empty or not positive on a log scale.
schedule_space schedule_space_of(const hypertrain_settings& settings);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

namespace detail {

inline double draw(const value_range& range, autodiff::random_source& random) {
    const double u = random.uniform();
    if (!range.log_scale) return range.low + u * (range.high - range.low);
    return std::exp(std::log(range.low) + u * (std::log(range.high) - std::log(range.low)));
}

inline void check_range(const value_range& range, const std::string& name) {
    if (!(range.low <= range.high) || !std::isfinite(range.low) || !std::isfinite(range.high))
        throw std::invalid_argument("search_" + name + "_min/max: expected min <= max, found " +
                                    std::to_string(range.low) + " and " + std::to_string(range.high));
    if (range.log_scale && !(range.low > 0))
        throw std::invalid_argument("search_" + name + "_min: a log-uniform range needs min > 0, found " +
                                    std::to_string(range.low));
}

}  // namespace detail

inline hyper_values schedule_space::sample(autodiff::random_source& random) const {
    hyper_values values;
    for (std::size_t i = 0; i < n_lrs; ++i) values.lr.push_back(learn_lr ? detail::draw(lr, random) : fixed_lr);
    for (std::size_t i = 0; i < n_moms; ++i) values.mom.push_back(learn_mom ? detail::draw(mom, random) : fixed_mom);
    for (std::size_t i = 0; i < n_wds; ++i) values.wd.push_back(learn_wd ? detail::draw(wd, random) : fixed_wd);
    return values;
}

inline bool schedule_space::contains(const hyper_values& values) const {
    if (values.lr.size() != n_lrs || values.mom.size() != n_moms || values.wd.size() != n_wds) return false;
    for (double v : values.lr)
        if (learn_lr ? !lr.contains(v) : v != fixed_lr) return false;
    for (double v : values.mom)
        if (learn_mom ? !mom.contains(v) : v != fixed_mom) return false;
    for (double v : values.wd)
        if (learn_wd ? !wd.contains(v) : v != fixed_wd) return false;
    return true;
}

inline schedule_space schedule_space_of(const hypertrain_settings& settings) {
    schedule_space space;
    space.n_lrs = settings.n_lrs;
    space.n_moms = settings.n_moms;
    space.n_wds = settings.n_wds;
    space.learn_lr = settings.learn_lr;
    space.learn_mom = settings.learn_mom;
    space.learn_wd = settings.learn_wd;
    space.lr = {settings.search_lr_min, settings.search_lr_max, true};
    space.mom = {settings.search_mom_min, settings.search_mom_max, false};
    space.wd = {settings.search_wd_min, settings.search_wd_max, true};
    space.fixed_lr = settings.inner_lr_init;
    space.fixed_mom = settings.inner_mom_init;
    space.fixed_wd = settings.inner_wd_init;
    detail::check_range(space.lr, "lr");
    detail::check_range(space.mom, "mom");
    detail::check_range(space.wd, "wd");
    if (space.mom.high >= 1)
        throw std::invalid_argument("search_mom_max: expected < 1, found " + std::to_string(space.mom.high));
    return space;
}

}  // namespace fds
