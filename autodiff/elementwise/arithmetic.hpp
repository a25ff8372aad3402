// Arithmetic on dual tensors: + - * / between any two of dual tensor, dual number, plain tensor and
// plain number (one of them dual), negation, and += / -= in place.
#pragma once

#include <string>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/dual_scalar.hpp>
#include <fds/autodiff/dual_tensor.hpp>
#include <fds/autodiff/elementwise/kernels.hpp>

namespace fds::autodiff {
#define FDS_AUTODIFF_DUAL_OPERATOR(op, rule, name)                                                \
    template <class Scalar>                                                                       \
    dual_tensor<Scalar> operator op(const dual_tensor<Scalar>& a, const dual_tensor<Scalar>& b) { \
        return detail::binary(name, detail::make_operand(a), detail::make_operand(b), rule{});    \
    }                                                                                             \
    template <class Scalar>                                                                       \
    dual_tensor<Scalar> operator op(const dual_tensor<Scalar>& a, const dual_scalar<Scalar>& b) { \
        return detail::binary(name, detail::make_operand(a), detail::make_operand(b), rule{});    \
    }                                                                                             \
    template <class Scalar>                                                                       \
    dual_tensor<Scalar> operator op(const dual_scalar<Scalar>& a, const dual_tensor<Scalar>& b) { \
        return detail::binary(name, detail::make_operand(a), detail::make_operand(b), rule{});    \
    }

// (dual, xt::xarray) and (xt::xarray, dual). xtensor's own operators are templates over
// forwarding references that accept any type as a "scalar" next to an xexpression, so they
// would capture these pairs. Exact non-template overloads win over templates in overload
// resolution; one per reference kind of each side keeps the match exact. The plain-number
// overloads are non-templates too, so `x * 2.0` never considers converting 2.0 to an xarray.
#define FDS_AUTODIFF_PLAIN_OPERATOR_PAIR(op, rule, name, DualRef, PlainRef)                    \
    inline auto operator op(DualRef a, PlainRef b) {                                           \
        return detail::binary(name, detail::make_operand(a), detail::make_operand(b), rule{}); \
    }                                                                                          \
    inline auto operator op(PlainRef a, DualRef b) {                                           \
        return detail::binary(name, detail::make_operand(a), detail::make_operand(b), rule{}); \
    }
#define FDS_AUTODIFF_NUMBER_OPERATOR_PAIR(op, rule, name, DualRef, Scalar)                            \
    inline auto operator op(DualRef a, Scalar b) {                                                    \
        return detail::binary(name, detail::make_operand(a), detail::make_operand_number(b), rule{}); \
    }                                                                                                 \
    inline auto operator op(Scalar a, DualRef b) {                                                    \
        return detail::binary(name, detail::make_operand_number(a), detail::make_operand(b), rule{}); \
    }
#define FDS_AUTODIFF_PLAIN_OPERATOR_REFS(op, rule, name, Scalar)                                            \
    FDS_AUTODIFF_NUMBER_OPERATOR_PAIR(op, rule, name, const dual_tensor<Scalar>&, Scalar)                   \
    FDS_AUTODIFF_NUMBER_OPERATOR_PAIR(op, rule, name, dual_tensor<Scalar>&, Scalar)                         \
    FDS_AUTODIFF_NUMBER_OPERATOR_PAIR(op, rule, name, dual_tensor<Scalar>&&, Scalar)                        \
    FDS_AUTODIFF_PLAIN_OPERATOR_PAIR(op, rule, name, const dual_tensor<Scalar>&, const xt::xarray<Scalar>&) \
    FDS_AUTODIFF_PLAIN_OPERATOR_PAIR(op, rule, name, const dual_tensor<Scalar>&, xt::xarray<Scalar>&)       \
    FDS_AUTODIFF_PLAIN_OPERATOR_PAIR(op, rule, name, const dual_tensor<Scalar>&, xt::xarray<Scalar>&&)      \
    FDS_AUTODIFF_PLAIN_OPERATOR_PAIR(op, rule, name, dual_tensor<Scalar>&, const xt::xarray<Scalar>&)       \
    FDS_AUTODIFF_PLAIN_OPERATOR_PAIR(op, rule, name, dual_tensor<Scalar>&, xt::xarray<Scalar>&)             \
    FDS_AUTODIFF_PLAIN_OPERATOR_PAIR(op, rule, name, dual_tensor<Scalar>&, xt::xarray<Scalar>&&)            \
    FDS_AUTODIFF_PLAIN_OPERATOR_PAIR(op, rule, name, dual_tensor<Scalar>&&, const xt::xarray<Scalar>&)      \
    FDS_AUTODIFF_PLAIN_OPERATOR_PAIR(op, rule, name, dual_tensor<Scalar>&&, xt::xarray<Scalar>&)            \
    FDS_AUTODIFF_PLAIN_OPERATOR_PAIR(op, rule, name, dual_tensor<Scalar>&&, xt::xarray<Scalar>&&)

#define FDS_AUTODIFF_ARITHMETIC(op, rule, name)             \
    FDS_AUTODIFF_DUAL_OPERATOR(op, rule, name)              \
    FDS_AUTODIFF_PLAIN_OPERATOR_REFS(op, rule, name, float) \
    FDS_AUTODIFF_PLAIN_OPERATOR_REFS(op, rule, name, double)

namespace detail {
// y = a + b: dy = da + db
struct add_rule {
    template <class S>
    S value(S a, S b) const {
        return a + b;
    }
    template <class S>
    S tangent(S, S, S, S da, S db) const {
        return da + db;
    }
};
}  // namespace detail

FDS_AUTODIFF_ARITHMETIC(+, detail::add_rule, "add")

namespace detail {
// y = a - b: dy = da - db
struct subtract_rule {
    template <class S>
    S value(S a, S b) const {
        return a - b;
    }
    template <class S>
    S tangent(S, S, S, S da, S db) const {
        return da - db;
    }
};
}  // namespace detail

FDS_AUTODIFF_ARITHMETIC(-, detail::subtract_rule, "subtract")

// -x = 0 - x
template <class Scalar>
dual_tensor<Scalar> operator-(const dual_tensor<Scalar>& x) {
    return detail::binary("negate", detail::make_operand_number(Scalar(0)), detail::make_operand(x),
                          detail::subtract_rule{});
}

namespace detail {
// y = a b: dy = b da + a db
struct multiply_rule {
    template <class S>
    S value(S a, S b) const {
        return a * b;
    }
    template <class S>
    S tangent(S a, S b, S, S da, S db) const {
        return da * b + a * db;
    }
};
}  // namespace detail

FDS_AUTODIFF_ARITHMETIC(*, detail::multiply_rule, "multiply")

namespace detail {
// y = a / b: dy = da / b - (a / b^2) db = (da - y db) / b
struct divide_rule {
    template <class S>
    S value(S a, S b) const {
        return a / b;
    }
    template <class S>
    S tangent(S, S b, S y, S da, S db) const {
        return (da - y * db) / b;
    }
};
}  // namespace detail

FDS_AUTODIFF_ARITHMETIC(/, detail::divide_rule, "divide")

#undef FDS_AUTODIFF_ARITHMETIC
#undef FDS_AUTODIFF_DUAL_OPERATOR
#undef FDS_AUTODIFF_PLAIN_OPERATOR_REFS
#undef FDS_AUTODIFF_PLAIN_OPERATOR_PAIR
#undef FDS_AUTODIFF_NUMBER_OPERATOR_PAIR

// In place; the right side must broadcast to the left side's shape.
template <class Scalar>
dual_tensor<Scalar>& operator+=(dual_tensor<Scalar>& target, const dual_tensor<Scalar>& x) {
    return detail::assign_broadcast(target, detail::make_operand(x), detail::add_rule{}, Scalar(1), "add");
}

template <class Scalar>
dual_tensor<Scalar>& operator-=(dual_tensor<Scalar>& target, const dual_tensor<Scalar>& x) {
    return detail::assign_broadcast(target, detail::make_operand(x), detail::subtract_rule{}, Scalar(-1), "subtract");
}

template <class Scalar>
dual_tensor<Scalar>& operator+=(dual_tensor<Scalar>& target, const detail::identity_t<xt::xarray<Scalar>>& x) {
    return detail::assign_broadcast(target, detail::make_operand(x), detail::add_rule{}, Scalar(1), "add");
}

template <class Scalar>
dual_tensor<Scalar>& operator-=(dual_tensor<Scalar>& target, const detail::identity_t<xt::xarray<Scalar>>& x) {
    return detail::assign_broadcast(target, detail::make_operand(x), detail::subtract_rule{}, Scalar(-1), "subtract");
}
}  // namespace fds::autodiff
