// SGD with momentum and weight decay in the reference's form (polo5/FDS main.py inner loop):
//   v <- mom * v + g + wd * theta
//   theta <- theta - lr * v
// On dual tensors with dual lr/mom/wd this one update is also the forward-mode recursion of
// Z = dtheta/dh: the tangents pick up -v in the active lr slot, mom's slot gets v_old and wd's
// slot gets theta, exactly the reference's hand-derived A Z + B and C terms.
//
// The dual update runs in place in one pass over cache-sized chunks. Written with the dual
// operators it made five temporary dual tensors of (1 + K) x |theta| numbers each, and the update
// is memory-bound. Each number
// is rounded as the dual operators would round it:
//   dv'_k     = ((dmom_k v + mom dv_k) + dg_k) + (dwd_k theta + wd dtheta_k)
//   dtheta'_k = dtheta_k - (dlr_k v' + lr dv'_k)
// with the tangent of a plain number or of a dead slot an exact zero. (Where the operators leave a
// slot dead in an intermediate sum and treat it as +0, the pass may compute -0: equal numbers.)
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <type_traits>
#include <vector>

#include <fds/autodiff/autodiff.hpp>

#include <fds/nn/layer.hpp>

namespace fds::nn {

// In place. Tensor is xt::xarray<S> or dual_tensor<S>; each of learning_rate, momentum and
// weight_decay is S or dual_scalar<S> (dual numbers need dual tensors).
template <class Tensor, class LearningRate, class Momentum, class WeightDecay>
void sgd_step(Tensor& parameters, Tensor& velocity, const Tensor& gradient, const LearningRate& learning_rate,
              const Momentum& momentum, const WeightDecay& weight_decay);

// clamp(g, -range, range); on duals the tangent is zero where the value is clamped.
template <class Tensor>
Tensor clamp_gradient(const Tensor& gradient, double range);

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

namespace detail {

template <class Tensor>
void check_same_size(const char* what, const Tensor& a, const Tensor& b) {
    if (a.size() != b.size()) {
        throw std::invalid_argument(std::string("sgd_step: ") + what + " has " + std::to_string(b.size()) +
                                    " elements, parameters have " + std::to_string(a.size()));
    }
}

// The pieces of a learning rate, momentum or weight decay that is a plain number or a dual scalar.
template <class Scalar, class Number>
Scalar value_of(const Number& x) {
    if constexpr (autodiff::is_dual_scalar_v<Number>) {
        return x.value();
    } else {
        return static_cast<Scalar>(x);
    }
}

template <class Number>
std::size_t live_tangents_of(const Number& x) {
    if constexpr (autodiff::is_dual_scalar_v<Number>) {
        return x.live_tangents();
    } else {
        return 0;
    }
}

template <class Scalar, class Number>
Scalar tangent_of(const Number& x, std::size_t slot) {
    if constexpr (autodiff::is_dual_scalar_v<Number>) {
        return x.tangent(slot);
    } else {
        return Scalar(0);
    }
}

template <class Number>
void check_tangent_count(const char* what, const Number& x, std::size_t expected) {
    if constexpr (autodiff::is_dual_scalar_v<Number>) {
        if (x.tangent_count() != expected) {
            throw std::invalid_argument(std::string("sgd_step: ") + what + " has " + std::to_string(x.tangent_count()) +
                                        " tangent slots, parameters have " + std::to_string(expected));
        }
    }
}

// Elements per chunk: the chunk's old theta and v (kept for the tangents) stay in L1.
inline constexpr std::size_t sgd_chunk = 2048;

template <class Scalar, class LearningRate, class Momentum, class WeightDecay>
void dual_sgd_step(autodiff::dual_tensor<Scalar>& parameters, autodiff::dual_tensor<Scalar>& velocity,
                   const autodiff::dual_tensor<Scalar>& gradient, const LearningRate& learning_rate,
                   const Momentum& momentum, const WeightDecay& weight_decay) {
    const std::size_t slots = parameters.tangent_count();
    if (velocity.tangent_count() != slots || gradient.tangent_count() != slots) {
        throw std::invalid_argument("sgd_step: velocity and gradient have " + std::to_string(velocity.tangent_count()) +
                                    " and " + std::to_string(gradient.tangent_count()) +
                                    " tangent slots, parameters have " + std::to_string(slots));
    }
    check_tangent_count("learning rate", learning_rate, slots);
    check_tangent_count("momentum", momentum, slots);
    check_tangent_count("weight decay", weight_decay, slots);
    const std::size_t live =
        std::max({parameters.live_tangents(), velocity.live_tangents(), gradient.live_tangents(),
                  live_tangents_of(learning_rate), live_tangents_of(momentum), live_tangents_of(weight_decay)});
    parameters.grow_live_tangents(live);
    velocity.grow_live_tangents(live);

    const Scalar lr = value_of<Scalar>(learning_rate);
    const Scalar mom = value_of<Scalar>(momentum);
    const Scalar wd = value_of<Scalar>(weight_decay);
    std::vector<Scalar> lr_tangents(live), mom_tangents(live), wd_tangents(live);
    for (std::size_t k = 0; k < live; ++k) {
        lr_tangents[k] = tangent_of<Scalar>(learning_rate, k);
        mom_tangents[k] = tangent_of<Scalar>(momentum, k);
        wd_tangents[k] = tangent_of<Scalar>(weight_decay, k);
    }
    const std::size_t count = parameters.size();
    const std::size_t gradient_live = gradient.live_tangents();
    Scalar* theta = parameters.mutable_value().data();
    Scalar* v = velocity.mutable_value().data();
    const Scalar* g = gradient.value().data();
    Scalar* theta_tangents = parameters.mutable_live_tangent_block().data();
    Scalar* v_tangents = velocity.mutable_live_tangent_block().data();
    const Scalar* g_tangents = gradient.live_tangent_block().data();

    autodiff::run_ranges(count, 1 + live, sgd_chunk, [&](std::size_t first, std::size_t last) {
        std::array<Scalar, sgd_chunk> old_theta, old_v;
        for (std::size_t start = first; start < last; start += sgd_chunk) {
            const std::size_t length = std::min(last - start, sgd_chunk);
            Scalar* th = theta + start;
            Scalar* ve = v + start;
            const Scalar* gr = g + start;
            for (std::size_t i = 0; i < length; ++i) {
                old_theta[i] = th[i];
                old_v[i] = ve[i];
                ve[i] = mom * ve[i] + gr[i] + wd * th[i];
                th[i] -= lr * ve[i];
            }
            for (std::size_t k = 0; k < live; ++k) {
                Scalar* dth = theta_tangents + k * count + start;
                Scalar* dve = v_tangents + k * count + start;
                const Scalar dlr = lr_tangents[k], dmom = mom_tangents[k], dwd = wd_tangents[k];
                // The same sums with and without dg_k, so a dead gradient slot reads nothing.
                auto update = [&](auto gradient_tangent) {
                    for (std::size_t i = 0; i < length; ++i) {
                        dve[i] = ((dmom * old_v[i] + mom * dve[i]) + gradient_tangent(i)) +
                                 (dwd * old_theta[i] + wd * dth[i]);
                        dth[i] = dth[i] - (dlr * ve[i] + lr * dve[i]);
                    }
                };
                if (k < gradient_live) {
                    const Scalar* dgr = g_tangents + k * count + start;
                    update([dgr](std::size_t i) { return dgr[i]; });
                } else {
                    update([](std::size_t) { return Scalar(0); });
                }
            }
        }
    });
}

}  // namespace detail

template <class Tensor, class LearningRate, class Momentum, class WeightDecay>
void sgd_step(Tensor& parameters, Tensor& velocity, const Tensor& gradient, const LearningRate& learning_rate,
              const Momentum& momentum, const WeightDecay& weight_decay) {
    detail::check_same_size("velocity", parameters, velocity);
    detail::check_same_size("gradient", parameters, gradient);
    constexpr bool any_dual_number = autodiff::is_dual_scalar_v<LearningRate> || autodiff::is_dual_scalar_v<Momentum> ||
                                     autodiff::is_dual_scalar_v<WeightDecay>;
    if constexpr (!autodiff::is_dual_tensor_v<Tensor>) {
        static_assert(!any_dual_number, "sgd_step: dual learning rate, momentum or weight decay need dual tensors");
        using scalar = scalar_of<Tensor>;
        const scalar lr = static_cast<scalar>(learning_rate);
        const scalar mom = static_cast<scalar>(momentum);
        const scalar wd = static_cast<scalar>(weight_decay);
        scalar* theta = parameters.data();
        scalar* v = velocity.data();
        const scalar* g = gradient.data();
        const std::size_t count = parameters.size();
        for (std::size_t i = 0; i < count; ++i) {
            v[i] = mom * v[i] + g[i] + wd * theta[i];
            theta[i] -= lr * v[i];
        }
    } else {
        detail::dual_sgd_step(parameters, velocity, gradient, learning_rate, momentum, weight_decay);
    }
}

template <class Tensor>
Tensor clamp_gradient(const Tensor& gradient, double range) {
    using scalar = scalar_of<Tensor>;
    return autodiff::clamp(gradient, static_cast<scalar>(-range), static_cast<scalar>(range));
}

}  // namespace fds::nn
