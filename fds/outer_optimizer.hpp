#pragma once
// Outer optimizers: turn the hypergradients of one hyperparameter type (one value per bucket)
// into new bucket values after each outer step.
//
// sign (the reference's, per bucket i):
//     s_new = sign(hg_i)                  NaN or 0 give 0: a diverged run moves nothing
//     if s_old * s_new == -1:  step_i *= step_decay
//     h_i -= s_new * step_i ;  s_old = s_new
//     converged = all(step_i / |h_i| < converged_frac), with h before this update (the reference
//     divides by h_i itself, so without hyper_ranges any negative value counted as converged)
//   With hyper_ranges (the default) the result is projected into the valid range below; without
//   it, as in the reference, a learning rate or weight decay may go negative.
//
// rprop (ours, the default): the sign rule with a step of its own per bucket that grows while
//   that bucket's hypergradient keeps its sign (Rprop), taken in each type's natural scale, so
//   every bucket moves by a fraction of itself and responds to its own hypergradient:
//     s = sign(hg_i);  step_i *= growth if s s_old = 1, *= step_decay if s s_old = -1
//     step_i = min(step_i, max_step);  s_old = s
//     lr, wd:  h_i <- h_i exp(-s step_i)                 (log scale: stays > 0)
//     mom:     h_i <- 1 - (1 - h_i) exp(s step_i)        (log of 1 - mom: stays < 1)
//   then projected into the valid range. Starting values of lr and wd must be > 0.
//   converged = all(step_i < converged_frac): every bucket moves by less than that fraction.
//
// adam (ours): Adam (beta1 0.9, beta2 0.999, epsilon 1e-12: hypergradients can be tiny) on the
//   hypergradients with step alpha_X = adam_lr * X_init_step_size / lr_init_step_size, i.e.
//   adam_lr is the step of learning rates and the other types move in proportion to their own
//   step scale. A non-finite hypergradient leaves its bucket and its moments untouched.
//   converged = all(|delta_i| < converged_frac * |h_i|) over the buckets.
//
// Valid ranges (every optimizer, unless hyper_ranges is off) are kept by projection after each
// update (the nearest valid point): lr >= 0, wd >= 0, 0 <= mom <= 1 - 1e-4 (momentum 1 never
// forgets and diverges).
//
// After an outer step that collapsed (hyper_trainer.hpp), the trainer goes back to the best
// values and calls shrink(factor): every step is multiplied by factor and the sign or moment
// history is forgotten, so the next steps start small and from a clean state.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <fds/hypertrain_settings.hpp>
#include <fds/schedule.hpp>

namespace fds {

class outer_optimizer {
 public:
    virtual ~outer_optimizer() = default;
    // New bucket values from the current ones and dL_val/dh (NaN allowed).
    virtual std::vector<double> update(const std::vector<double>& values, const std::vector<double>& hypergradient) = 0;
    // Whether the last update declared this type converged.
    virtual bool converged() const = 0;
    // Current step size of each bucket (the sign method's adaptive step; Adam's alpha).
    virtual std::vector<double> step_sizes() const = 0;
    // Smaller steps (times factor) and no memory of earlier hypergradients, after a collapse.
    virtual void shrink(double factor) = 0;
    virtual nlohmann::json state() const = 0;
    // Throws std::runtime_error naming the missing or malformed key.
    virtual void restore(const nlohmann::json& state) = 0;
};

struct valid_range {
    double lower, upper;
    static valid_range of(hyper_type type);  // lr, wd: [0, inf); mom: [0, 1 - 1e-4]
    static valid_range unbounded();
    double project(double value) const { return value < lower ? lower : value > upper ? upper : value; }
};

namespace detail {

// What both sign-based optimizers keep: each bucket's step and last sign, and whether the last
// update converged; their shrink, checkpoint state and restore are the same.
struct sign_steps {
    std::vector<double> step_sizes, signs;
    bool converged = false;

    sign_steps(std::size_t bucket_count, double initial_step);
    void shrink(double factor);
    nlohmann::json state(const char* method) const;
    // Throws std::runtime_error naming `who` and the missing or malformed key.
    void restore(const nlohmann::json& state, const char* method, const char* who);
};

}  // namespace detail

class sign_outer_optimizer final : public outer_optimizer {
 public:
    sign_outer_optimizer(std::size_t bucket_count, double initial_step_size, double step_decay, double converged_frac,
                         valid_range range = valid_range::unbounded());
    std::vector<double> update(const std::vector<double>& values, const std::vector<double>& hypergradient) override;
    bool converged() const override { return steps_.converged; }
    std::vector<double> step_sizes() const override { return steps_.step_sizes; }
    const std::vector<double>& signs() const { return steps_.signs; }
    void shrink(double factor) override { steps_.shrink(factor); }
    nlohmann::json state() const override;
    void restore(const nlohmann::json& state) override;

 private:
    detail::sign_steps steps_;
    double step_decay_, converged_frac_;
    valid_range range_;
};

struct rprop_settings {
    double initial_step = 0.3;  // fraction of the value's scale (log scale)
    double growth = 1.2;
    double step_decay = 0.5;
    double max_step = 0.5;
};

class rprop_outer_optimizer final : public outer_optimizer {
 public:
    // Throws std::invalid_argument when a step setting is out of range.
    rprop_outer_optimizer(std::size_t bucket_count, hyper_type type, rprop_settings settings, double converged_frac,
                          valid_range range);
    // Throws std::invalid_argument for a learning rate or weight decay <= 0 (no log scale there).
    std::vector<double> update(const std::vector<double>& values, const std::vector<double>& hypergradient) override;
    bool converged() const override { return steps_.converged; }
    std::vector<double> step_sizes() const override { return steps_.step_sizes; }
    const std::vector<double>& signs() const { return steps_.signs; }
    void shrink(double factor) override { steps_.shrink(factor); }
    nlohmann::json state() const override;
    void restore(const nlohmann::json& state) override;

 private:
    hyper_type type_;
    rprop_settings settings_;
    double converged_frac_;
    valid_range range_;
    detail::sign_steps steps_;
};

class adam_outer_optimizer final : public outer_optimizer {
 public:
    adam_outer_optimizer(std::size_t bucket_count, double step, valid_range range, double converged_frac);
    std::vector<double> update(const std::vector<double>& values, const std::vector<double>& hypergradient) override;
    bool converged() const override { return converged_; }
    std::vector<double> step_sizes() const override { return std::vector<double>(first_moment_.size(), step_); }
    void shrink(double factor) override;
    nlohmann::json state() const override;
    void restore(const nlohmann::json& state) override;

    static constexpr double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-12;

 private:
    double step_;
    valid_range range_;
    double converged_frac_;
    std::vector<double> first_moment_, second_moment_;
    std::vector<std::size_t> update_counts_;
    bool converged_ = false;
};

// settings.X_step_decay of a type: the step multiplier on a sign flip, and after a collapse.
double step_decay_of(const hypertrain_settings& settings, hyper_type type);

// The optimizer settings.outer_optimizer names ("rprop" | "sign" | "adam") for one hyperparameter
// type, keeping the valid ranges unless settings.hyper_ranges is off.
std::unique_ptr<outer_optimizer> make_outer_optimizer(const hypertrain_settings& settings, hyper_type type,
                                                      std::size_t bucket_count);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

namespace detail {

inline void check_sizes(const char* who, const std::vector<double>& values, const std::vector<double>& gradient,
                        std::size_t expected) {
    if (values.size() != expected || gradient.size() != expected)
        throw std::invalid_argument(std::string(who) + ": expected " + std::to_string(expected) +
                                    " bucket values and hypergradients, found " + std::to_string(values.size()) +
                                    " and " + std::to_string(gradient.size()));
}

inline const nlohmann::json& require(const nlohmann::json& object, const std::string& key, const char* who) {
    if (!object.is_object() || !object.contains(key))
        throw std::runtime_error(std::string(who) + ": checkpoint lacks key \"" + key + "\"");
    return object.at(key);
}

template <class T>
std::vector<T> require_vector(const nlohmann::json& object, const std::string& key, std::size_t size, const char* who) {
    const nlohmann::json& entry = require(object, key, who);
    std::vector<T> result;
    try {
        result = entry.get<std::vector<T>>();
    } catch (const nlohmann::json::exception&) {
        throw std::runtime_error(std::string(who) + ": checkpoint key \"" + key + "\" is not a list of numbers");
    }
    if (result.size() != size)
        throw std::runtime_error(std::string(who) + ": checkpoint key \"" + key + "\" has " +
                                 std::to_string(result.size()) + " entries, expected " + std::to_string(size));
    return result;
}

// sign(x) with NaN and 0 giving 0, as torch.sign
inline double sign_or_zero(double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; }

inline sign_steps::sign_steps(std::size_t bucket_count, double initial_step)
    : step_sizes(bucket_count, initial_step), signs(bucket_count, 0.0) {}

inline void sign_steps::shrink(double factor) {
    for (double& step : step_sizes) step *= factor;
    signs.assign(signs.size(), 0.0);
    converged = false;
}

inline nlohmann::json sign_steps::state(const char* method) const {
    return {{"method", method}, {"step_sizes", step_sizes}, {"signs", signs}, {"converged", converged}};
}

inline void sign_steps::restore(const nlohmann::json& state, const char* method, const char* who) {
    if (require(state, "method", who) != method)
        throw std::runtime_error(std::string(who) + ": checkpoint key \"method\" is not \"" + method + "\"");
    std::vector<double> restored_steps = require_vector<double>(state, "step_sizes", step_sizes.size(), who);
    std::vector<double> restored_signs = require_vector<double>(state, "signs", signs.size(), who);
    const nlohmann::json& restored_converged = require(state, "converged", who);
    if (!restored_converged.is_boolean())
        throw std::runtime_error(std::string(who) + ": checkpoint key \"converged\" is not a boolean");
    step_sizes = std::move(restored_steps);
    signs = std::move(restored_signs);
    converged = restored_converged.get<bool>();
}

}  // namespace detail

inline sign_outer_optimizer::sign_outer_optimizer(std::size_t bucket_count, double initial_step_size, double step_decay,
                                                  double converged_frac, valid_range range)
    : steps_(bucket_count, initial_step_size), step_decay_(step_decay), converged_frac_(converged_frac), range_(range) {
}

inline std::vector<double> sign_outer_optimizer::update(const std::vector<double>& values,
                                                        const std::vector<double>& hypergradient) {
    detail::check_sizes("sign_outer_optimizer", values, hypergradient, steps_.step_sizes.size());
    std::vector<double> result(values.size());
    std::vector<double>& step_sizes = steps_.step_sizes;
    std::vector<double>& signs = steps_.signs;
    steps_.converged = true;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const double new_sign = detail::sign_or_zero(hypergradient[i]);
        if (signs[i] * new_sign == -1.0) step_sizes[i] *= step_decay_;
        signs[i] = new_sign;
        // step / 0 is +inf (or NaN for 0 / 0): never converged, as the reference
        if (!(step_sizes[i] / std::abs(values[i]) < converged_frac_)) steps_.converged = false;
        result[i] = range_.project(values[i] - new_sign * step_sizes[i]);
    }
    return result;
}

inline nlohmann::json sign_outer_optimizer::state() const { return steps_.state("sign"); }

inline void sign_outer_optimizer::restore(const nlohmann::json& state) {
    steps_.restore(state, "sign", "sign_outer_optimizer");
}

inline valid_range valid_range::of(hyper_type type) {
    const double infinity = std::numeric_limits<double>::infinity();
    if (type == hyper_type::mom) return {0.0, 1.0 - 1e-4};
    return {0.0, infinity};
}

inline valid_range valid_range::unbounded() {
    const double infinity = std::numeric_limits<double>::infinity();
    return {-infinity, infinity};
}

inline rprop_outer_optimizer::rprop_outer_optimizer(std::size_t bucket_count, hyper_type type, rprop_settings settings,
                                                    double converged_frac, valid_range range)
    : type_(type), settings_(settings), converged_frac_(converged_frac), range_(range),
      steps_(bucket_count, settings.initial_step) {
    if (!(settings.initial_step > 0) || !(settings.max_step >= settings.initial_step))
        throw std::invalid_argument("rprop outer optimizer: expected 0 < rprop_step <= rprop_max_step, found " +
                                    std::to_string(settings.initial_step) + " and " +
                                    std::to_string(settings.max_step));
    if (!(settings.growth >= 1)) throw std::invalid_argument("rprop outer optimizer: rprop_growth must be >= 1");
    if (!(settings.step_decay > 0 && settings.step_decay < 1))
        throw std::invalid_argument("rprop outer optimizer: the step decay must lie in (0, 1)");
}

inline std::vector<double> rprop_outer_optimizer::update(const std::vector<double>& values,
                                                         const std::vector<double>& hypergradient) {
    detail::check_sizes("rprop_outer_optimizer", values, hypergradient, steps_.step_sizes.size());
    std::vector<double> result(values.size());
    std::vector<double>& step_sizes = steps_.step_sizes;
    std::vector<double>& signs = steps_.signs;
    steps_.converged = true;
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (type_ != hyper_type::mom && !(values[i] > 0))
            throw std::invalid_argument(std::string("rprop outer optimizer: ") + hyper_type_name(type_) + " bucket " +
                                        std::to_string(i) + " is " + std::to_string(values[i]) +
                                        "; it moves on a log scale and must start > 0 (inner_" +
                                        hyper_type_name(type_) + "_init), or use --outer_optimizer sign");
        const double new_sign = detail::sign_or_zero(hypergradient[i]);
        const double agreement = signs[i] * new_sign;
        if (agreement == 1.0) step_sizes[i] = std::min(step_sizes[i] * settings_.growth, settings_.max_step);
        if (agreement == -1.0) step_sizes[i] *= settings_.step_decay;
        signs[i] = new_sign;
        if (!(step_sizes[i] < converged_frac_)) steps_.converged = false;
        const double factor = std::exp(new_sign * step_sizes[i]);
        const double next = type_ == hyper_type::mom ? 1.0 - (1.0 - values[i]) * factor : values[i] / factor;
        result[i] = range_.project(next);
    }
    return result;
}

inline nlohmann::json rprop_outer_optimizer::state() const { return steps_.state("rprop"); }

inline void rprop_outer_optimizer::restore(const nlohmann::json& state) {
    steps_.restore(state, "rprop", "rprop_outer_optimizer");
}

inline adam_outer_optimizer::adam_outer_optimizer(std::size_t bucket_count, double step, valid_range range,
                                                  double converged_frac)
    : step_(step), range_(range), converged_frac_(converged_frac), first_moment_(bucket_count, 0.0),
      second_moment_(bucket_count, 0.0), update_counts_(bucket_count, 0) {}

inline std::vector<double> adam_outer_optimizer::update(const std::vector<double>& values,
                                                        const std::vector<double>& hypergradient) {
    detail::check_sizes("adam_outer_optimizer", values, hypergradient, first_moment_.size());
    std::vector<double> result(values.size());
    converged_ = true;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const double g = hypergradient[i];
        double next = values[i];
        if (std::isfinite(g)) {
            // m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  h -= alpha m_hat / (sqrt(v_hat) + eps)
            ++update_counts_[i];
            first_moment_[i] = beta1 * first_moment_[i] + (1 - beta1) * g;
            second_moment_[i] = beta2 * second_moment_[i] + (1 - beta2) * g * g;
            const double count = static_cast<double>(update_counts_[i]);
            const double m_hat = first_moment_[i] / (1 - std::pow(beta1, count));
            const double v_hat = second_moment_[i] / (1 - std::pow(beta2, count));
            next = range_.project(values[i] - step_ * m_hat / (std::sqrt(v_hat) + epsilon));
        } else {
            next = range_.project(values[i]);
        }
        if (!(std::abs(next - values[i]) < converged_frac_ * std::abs(next))) converged_ = false;
        result[i] = next;
    }
    return result;
}

inline void adam_outer_optimizer::shrink(double factor) {
    step_ *= factor;
    first_moment_.assign(first_moment_.size(), 0.0);
    second_moment_.assign(second_moment_.size(), 0.0);
    update_counts_.assign(update_counts_.size(), 0);
    converged_ = false;
}

inline nlohmann::json adam_outer_optimizer::state() const {
    return {{"method", "adam"},
            {"step", step_},
            {"first_moment", first_moment_},
            {"second_moment", second_moment_},
            {"update_counts", update_counts_},
            {"converged", converged_}};
}

inline void adam_outer_optimizer::restore(const nlohmann::json& state) {
    const char* who = "adam_outer_optimizer";
    if (detail::require(state, "method", who) != "adam")
        throw std::runtime_error("adam_outer_optimizer: checkpoint key \"method\" is not \"adam\"");
    const nlohmann::json& step = detail::require(state, "step", who);
    if (!step.is_number()) throw std::runtime_error("adam_outer_optimizer: checkpoint key \"step\" is not a number");
    step_ = step.get<double>();
    first_moment_ = detail::require_vector<double>(state, "first_moment", first_moment_.size(), who);
    second_moment_ = detail::require_vector<double>(state, "second_moment", second_moment_.size(), who);
    update_counts_ = detail::require_vector<std::size_t>(state, "update_counts", update_counts_.size(), who);
    const nlohmann::json& converged = detail::require(state, "converged", who);
    if (!converged.is_boolean())
        throw std::runtime_error("adam_outer_optimizer: checkpoint key \"converged\" is not a boolean");
    converged_ = converged.get<bool>();
}

inline double step_decay_of(const hypertrain_settings& settings, hyper_type type) {
    return type == hyper_type::lr    ? settings.lr_step_decay
           : type == hyper_type::mom ? settings.mom_step_decay
                                     : settings.wd_step_decay;
}

inline std::unique_ptr<outer_optimizer> make_outer_optimizer(const hypertrain_settings& settings, hyper_type type,
                                                             std::size_t bucket_count) {
    const double initial_step = type == hyper_type::lr    ? settings.lr_init_step_size
                                : type == hyper_type::mom ? settings.mom_init_step_size
                                                          : settings.wd_init_step_size;
    const double decay = step_decay_of(settings, type);
    const valid_range range = settings.hyper_ranges ? valid_range::of(type) : valid_range::unbounded();
    if (settings.outer_optimizer == "rprop") {
        rprop_settings rprop;
        rprop.initial_step = settings.rprop_step;
        rprop.growth = settings.rprop_growth;
        rprop.max_step = settings.rprop_max_step;
        rprop.step_decay = decay;
        return std::make_unique<rprop_outer_optimizer>(bucket_count, type, rprop, settings.converged_frac, range);
    }
    if (settings.outer_optimizer == "sign")
        return std::make_unique<sign_outer_optimizer>(bucket_count, initial_step, decay, settings.converged_frac,
                                                      range);
    if (settings.outer_optimizer == "adam") {
        if (!(settings.lr_init_step_size > 0))
            throw std::invalid_argument(
                "adam outer optimizer: lr_init_step_size must be > 0 to scale the steps, found " +
                std::to_string(settings.lr_init_step_size));
        const double step = settings.adam_lr * initial_step / settings.lr_init_step_size;
        return std::make_unique<adam_outer_optimizer>(bucket_count, step, range, settings.converged_frac);
    }
    throw std::invalid_argument("outer_optimizer: expected rprop, sign or adam, found \"" + settings.outer_optimizer +
                                "\"");
}

}  // namespace fds
