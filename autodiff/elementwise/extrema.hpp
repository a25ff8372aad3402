// Elementwise maximum and minimum with broadcasting, between any two of dual tensor, plain tensor and
// plain number; at a tie the tangent of the first operand is taken.
#pragma once

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>

#include <fds/autodiff/dual_tensor.hpp>
#include <fds/autodiff/elementwise/kernels.hpp>

namespace fds::autodiff {
#define FDS_AUTODIFF_EXTREMUM(function, rule, name)                                                               \
    template <class Scalar>                                                                                       \
    dual_tensor<Scalar> function(const dual_tensor<Scalar>& a, const dual_tensor<Scalar>& b) {                    \
        return detail::binary(name, detail::make_operand(a), detail::make_operand(b), rule{});                    \
    }                                                                                                             \
    template <class Scalar>                                                                                       \
    dual_tensor<Scalar> function(const dual_tensor<Scalar>& a, const detail::identity_t<xt::xarray<Scalar>>& b) { \
        return detail::binary(name, detail::make_operand(a), detail::make_operand(b), rule{});                    \
    }                                                                                                             \
    template <class Scalar>                                                                                       \
    dual_tensor<Scalar> function(const detail::identity_t<xt::xarray<Scalar>>& a, const dual_tensor<Scalar>& b) { \
        return detail::binary(name, detail::make_operand(a), detail::make_operand(b), rule{});                    \
    }                                                                                                             \
    template <class Scalar>                                                                                       \
    dual_tensor<Scalar> function(const dual_tensor<Scalar>& a, detail::identity_t<Scalar> b) {                    \
        return detail::binary(name, detail::make_operand(a), detail::make_operand_number(b), rule{});             \
    }                                                                                                             \
    template <class Scalar>                                                                                       \
    dual_tensor<Scalar> function(detail::identity_t<Scalar> a, const dual_tensor<Scalar>& b) {                    \
        return detail::binary(name, detail::make_operand_number(a), detail::make_operand(b), rule{});             \
    }                                                                                                             \
    template <class Scalar>                                                                                       \
    xt::xarray<Scalar> function(const xt::xarray<Scalar>& a, const xt::xarray<Scalar>& b) {                       \
        return xt::function(a, b);                                                                                \
    }                                                                                                             \
    template <class Scalar>                                                                                       \
    xt::xarray<Scalar> function(const xt::xarray<Scalar>& a, detail::identity_t<Scalar> b) {                      \
        return xt::function(a, b);                                                                                \
    }

namespace detail {
// y = max(a, b): dy = da where a >= b, else db
struct maximum_rule {
    template <class S>
    S value(S a, S b) const {
        return a >= b ? a : b;
    }
    template <class S>
    S tangent(S a, S b, S, S da, S db) const {
        return a >= b ? da : db;
    }
};
}  // namespace detail

FDS_AUTODIFF_EXTREMUM(maximum, detail::maximum_rule, "maximum")

namespace detail {
// y = min(a, b): dy = da where a <= b, else db
struct minimum_rule {
    template <class S>
    S value(S a, S b) const {
        return a <= b ? a : b;
    }
    template <class S>
    S tangent(S a, S b, S, S da, S db) const {
        return a <= b ? da : db;
    }
};
}  // namespace detail

FDS_AUTODIFF_EXTREMUM(minimum, detail::minimum_rule, "minimum")

#undef FDS_AUTODIFF_EXTREMUM
}  // namespace fds::autodiff
