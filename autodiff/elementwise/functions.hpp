// Elementwise functions of one tensor: each forward-mode rule, then its dual and its plain overload.
// exp and sigmoid's plain overloads run the dual rules' value loops (vector_exp), so plain and dual
// values agree bit for bit; the others use xtensor's functions on plain tensors.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>

#include <fds/autodiff/dual_tensor.hpp>
#include <fds/autodiff/elementwise/kernels.hpp>
#include <fds/autodiff/vector_math.hpp>

namespace fds::autodiff {
namespace detail {
// exp: dy = exp(x) dx   (vector_exp: the chunk loop vectorizes, unlike std::exp)
struct exp_rule {
    static constexpr bool derivative_is_value = true;
    template <class S>
    S value(S x) const {
        return vector_exp(x);
    }
    template <class S>
    void values(const S* x, S* y, std::size_t count) const {
        vector_exp(x, y, count);
    }
    template <class S>
    S derivative(S, S y) const {
        return y;
    }
};
}  // namespace detail

template <class Scalar>
dual_tensor<Scalar> exp(const dual_tensor<Scalar>& x) {
    return detail::unary(x, detail::exp_rule{});
}

// the dual rule's value loop, so that plain and dual values agree bit for bit
template <class Scalar>
xt::xarray<Scalar> exp(const xt::xarray<Scalar>& x) {
    return detail::plain_unary(x, detail::exp_rule{});
}

namespace detail {
// log: dy = dx / x
struct log_rule {
    template <class S>
    S value(S x) const {
        return std::log(x);
    }
    template <class S>
    S derivative(S x, S) const {
        return S(1) / x;
    }
};
}  // namespace detail

template <class Scalar>
dual_tensor<Scalar> log(const dual_tensor<Scalar>& x) {
    return detail::unary(x, detail::log_rule{});
}

template <class Scalar>
xt::xarray<Scalar> log(const xt::xarray<Scalar>& x) {
    return xt::log(x);
}

namespace detail {
// sqrt: dy = dx / (2 sqrt(x))
struct sqrt_rule {
    template <class S>
    S value(S x) const {
        return std::sqrt(x);
    }
    template <class S>
    S derivative(S, S y) const {
        return S(0.5) / y;
    }
};
}  // namespace detail

template <class Scalar>
dual_tensor<Scalar> sqrt(const dual_tensor<Scalar>& x) {
    return detail::unary(x, detail::sqrt_rule{});
}

template <class Scalar>
xt::xarray<Scalar> sqrt(const xt::xarray<Scalar>& x) {
    return xt::sqrt(x);
}

namespace detail {
// x^p: dy = p x^(p-1) dx
template <class Scalar>
struct pow_rule {
    Scalar exponent;
    Scalar value(Scalar x) const { return std::pow(x, exponent); }
    Scalar derivative(Scalar x, Scalar) const { return exponent * std::pow(x, exponent - Scalar(1)); }
};
}  // namespace detail

template <class Scalar>
dual_tensor<Scalar> pow(const dual_tensor<Scalar>& x, detail::identity_t<Scalar> exponent) {
    return detail::unary(x, detail::pow_rule<Scalar>{exponent});
}

template <class Scalar>
xt::xarray<Scalar> pow(const xt::xarray<Scalar>& x, detail::identity_t<Scalar> exponent) {
    return xt::pow(x, exponent);
}

namespace detail {
// tanh: dy = (1 - tanh(x)^2) dx
struct tanh_rule {
    template <class S>
    S value(S x) const {
        return std::tanh(x);
    }
    template <class S>
    S derivative(S, S y) const {
        return S(1) - y * y;
    }
};
}  // namespace detail

template <class Scalar>
dual_tensor<Scalar> tanh(const dual_tensor<Scalar>& x) {
    return detail::unary(x, detail::tanh_rule{});
}

template <class Scalar>
xt::xarray<Scalar> tanh(const xt::xarray<Scalar>& x) {
    return xt::tanh(x);
}

namespace detail {
// sigmoid(x) = 1 / (1 + exp(-x)): dy = s (1 - s) dx
struct sigmoid_rule {
    template <class S>
    S value(S x) const {
        return S(1) / (S(1) + vector_exp(-x));
    }
    template <class S>
    S derivative(S, S y) const {
        return y * (S(1) - y);
    }
};
}  // namespace detail

template <class Scalar>
dual_tensor<Scalar> sigmoid(const dual_tensor<Scalar>& x) {
    return detail::unary(x, detail::sigmoid_rule{});
}

template <class Scalar>
xt::xarray<Scalar> sigmoid(const xt::xarray<Scalar>& x) {
    return detail::plain_unary(x, detail::sigmoid_rule{});
}

namespace detail {
// relu: dy = 1[x > 0] dx
struct relu_rule {
    template <class S>
    S value(S x) const {
        return x > S(0) ? x : S(0);
    }
    template <class S>
    S derivative(S x, S) const {
        return x > S(0) ? S(1) : S(0);
    }
};
}  // namespace detail

template <class Scalar>
dual_tensor<Scalar> relu(const dual_tensor<Scalar>& x) {
    return detail::unary(x, detail::relu_rule{});
}

template <class Scalar>
xt::xarray<Scalar> relu(const xt::xarray<Scalar>& x) {
    return xt::maximum(x, Scalar(0));
}

namespace detail {
// |x|: dy = sign(x) dx (0 at 0)
struct abs_rule {
    template <class S>
    S value(S x) const {
        return std::abs(x);
    }
    template <class S>
    S derivative(S x, S) const {
        return x > S(0) ? S(1) : (x < S(0) ? S(-1) : S(0));
    }
};
}  // namespace detail

template <class Scalar>
dual_tensor<Scalar> abs(const dual_tensor<Scalar>& x) {
    return detail::unary(x, detail::abs_rule{});
}

template <class Scalar>
xt::xarray<Scalar> abs(const xt::xarray<Scalar>& x) {
    return xt::abs(x);
}

namespace detail {
// x^2: dy = 2 x dx
struct square_rule {
    template <class S>
    S value(S x) const {
        return x * x;
    }
    template <class S>
    S derivative(S x, S) const {
        return S(2) * x;
    }
};
}  // namespace detail

template <class Scalar>
dual_tensor<Scalar> square(const dual_tensor<Scalar>& x) {
    return detail::unary(x, detail::square_rule{});
}

template <class Scalar>
xt::xarray<Scalar> square(const xt::xarray<Scalar>& x) {
    return xt::square(x);
}

namespace detail {
// clamp: dy = 1[lo <= x <= hi] dx
template <class Scalar>
struct clamp_rule {
    Scalar lo;
    Scalar hi;
    Scalar value(Scalar x) const { return x < lo ? lo : (x > hi ? hi : x); }
    Scalar derivative(Scalar x, Scalar) const { return (x >= lo && x <= hi) ? Scalar(1) : Scalar(0); }
};
}  // namespace detail

// Value clamped to [lo, hi]; the tangent is zero where the value was clamped (x outside [lo, hi]).
template <class Scalar>
dual_tensor<Scalar> clamp(const dual_tensor<Scalar>& x, detail::identity_t<Scalar> lo, detail::identity_t<Scalar> hi) {
    return detail::unary(x, detail::clamp_rule<Scalar>{lo, hi});
}

template <class Scalar>
xt::xarray<Scalar> clamp(const xt::xarray<Scalar>& x, detail::identity_t<Scalar> lo, detail::identity_t<Scalar> hi) {
    return xt::clip(x, lo, hi);
}

// Clamps every live tangent entry to [lo, hi] and leaves the value (the identity on plain
// tensors, which carry no tangents).
template <class Scalar>
dual_tensor<Scalar> clamp_tangents(const dual_tensor<Scalar>& x, detail::identity_t<Scalar> lo,
                                   detail::identity_t<Scalar> hi) {
    xt::xarray<Scalar> block = x.live_tangent_block();
    for (auto& entry : block) {
        entry = entry < lo ? lo : (entry > hi ? hi : entry);
    }
    return dual_tensor<Scalar>(x.value(), std::move(block), x.tangent_count());
}

template <class Scalar>
xt::xarray<Scalar> clamp_tangents(const xt::xarray<Scalar>& x, detail::identity_t<Scalar>, detail::identity_t<Scalar>) {
    return x;
}

// 1 where the value is > 0, else 0 (plain: a mask has no tangent).
template <class Scalar>
xt::xarray<Scalar> positive_mask(const xt::xarray<Scalar>& x) {
    xt::xarray<Scalar> mask = xt::xarray<Scalar>::from_shape(x.shape());
    std::transform(x.begin(), x.end(), mask.begin(),
                   [](Scalar entry) { return entry > Scalar(0) ? Scalar(1) : Scalar(0); });
    return mask;
}

template <class Scalar>
xt::xarray<Scalar> positive_mask(const dual_tensor<Scalar>& x) {
    return positive_mask(x.value());
}
}  // namespace fds::autodiff
