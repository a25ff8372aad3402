// A dual number with K tangent slots: x = value + sum_k tangent_k e_k, e_k e_j = 0.
//
// Hyperparameters enter training as dual scalars (lr_t = lr + e_k for the bucket in slot k), so the
// tangents of everything computed from them are derivatives with respect to those buckets.
// Only a prefix 0..L-1 of the K slots is stored ("live"); slots L..K-1 are exactly zero.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fds/autodiff/errors.hpp>
#include <fds/autodiff/tensor_traits.hpp>

namespace fds::autodiff {
template <class Scalar>
class dual_scalar {
 public:
    using scalar_type = Scalar;

    dual_scalar();
    // A constant: K tangent slots, none live.
    dual_scalar(Scalar value, std::size_t tangent_count);
    // value with live tangents 0..live_tangents.size()-1.
    dual_scalar(Scalar value, std::vector<Scalar> live_tangents, std::size_t tangent_count);
    // value with tangent 1 in `slot`: the variable whose derivatives the tangents carry.
    static dual_scalar variable(Scalar value, std::size_t tangent_count, std::size_t slot);

    Scalar value() const noexcept;
    std::size_t tangent_count() const noexcept;
    std::size_t live_tangents() const noexcept;
    // Tangent of slot k (zero for dead slots).
    Scalar tangent(std::size_t slot) const;
    const std::vector<Scalar>& live_tangent_values() const noexcept;

    dual_scalar& operator+=(const dual_scalar& other);
    dual_scalar& operator-=(const dual_scalar& other);
    dual_scalar& operator*=(const dual_scalar& other);
    dual_scalar& operator/=(const dual_scalar& other);

 private:
    Scalar m_value;
    std::vector<Scalar> m_tangents;
    std::size_t m_tangent_count;
};

template <class Scalar>
Scalar value(const dual_scalar<Scalar>& x);
template <class Scalar>
Scalar tangent(const dual_scalar<Scalar>& x, std::size_t slot);

template <class Scalar>
dual_scalar<Scalar> operator-(const dual_scalar<Scalar>& x);
template <class Scalar>
dual_scalar<Scalar> operator+(const dual_scalar<Scalar>& a, const dual_scalar<Scalar>& b);
template <class Scalar>
dual_scalar<Scalar> operator-(const dual_scalar<Scalar>& a, const dual_scalar<Scalar>& b);
template <class Scalar>
dual_scalar<Scalar> operator*(const dual_scalar<Scalar>& a, const dual_scalar<Scalar>& b);
template <class Scalar>
dual_scalar<Scalar> operator/(const dual_scalar<Scalar>& a, const dual_scalar<Scalar>& b);
// With plain numbers on either side (the plain number converts, the dual decides Scalar).
template <class Scalar>
dual_scalar<Scalar> operator+(const dual_scalar<Scalar>& a, detail::identity_t<Scalar> b);
template <class Scalar>
dual_scalar<Scalar> operator+(detail::identity_t<Scalar> a, const dual_scalar<Scalar>& b);
template <class Scalar>
dual_scalar<Scalar> operator-(const dual_scalar<Scalar>& a, detail::identity_t<Scalar> b);
template <class Scalar>
dual_scalar<Scalar> operator-(detail::identity_t<Scalar> a, const dual_scalar<Scalar>& b);
template <class Scalar>
dual_scalar<Scalar> operator*(const dual_scalar<Scalar>& a, detail::identity_t<Scalar> b);
template <class Scalar>
dual_scalar<Scalar> operator*(detail::identity_t<Scalar> a, const dual_scalar<Scalar>& b);
template <class Scalar>
dual_scalar<Scalar> operator/(const dual_scalar<Scalar>& a, detail::identity_t<Scalar> b);
template <class Scalar>
dual_scalar<Scalar> operator/(detail::identity_t<Scalar> a, const dual_scalar<Scalar>& b);

template <class Scalar>
dual_scalar<Scalar> exp(const dual_scalar<Scalar>& x);
template <class Scalar>
dual_scalar<Scalar> log(const dual_scalar<Scalar>& x);
template <class Scalar>
dual_scalar<Scalar> sqrt(const dual_scalar<Scalar>& x);
template <class Scalar>
dual_scalar<Scalar> pow(const dual_scalar<Scalar>& x, detail::identity_t<Scalar> exponent);

// ---------------------------------------------------------------- implementation

namespace detail {
// y_k = da * a_k + db * b_k over the union of live prefixes (the chain rule of a
// two-argument function whose partial derivatives are da, db).
template <class Scalar>
dual_scalar<Scalar> combine(Scalar result_value, Scalar da, const dual_scalar<Scalar>& a, Scalar db,
                            const dual_scalar<Scalar>& b, const char* operation) {
    check_tangent_counts(operation, a.tangent_count(), b.tangent_count());
    const std::size_t live = std::max(a.live_tangents(), b.live_tangents());
    std::vector<Scalar> tangents(live);
    for (std::size_t k = 0; k < live; ++k) {
        tangents[k] = da * a.tangent(k) + db * b.tangent(k);
    }
    return dual_scalar<Scalar>(result_value, std::move(tangents), a.tangent_count());
}

// y_k = derivative * x_k
template <class Scalar>
dual_scalar<Scalar> chain(Scalar result_value, Scalar derivative, const dual_scalar<Scalar>& x) {
    std::vector<Scalar> tangents(x.live_tangent_values());
    for (auto& t : tangents) {
        t *= derivative;
    }
    return dual_scalar<Scalar>(result_value, std::move(tangents), x.tangent_count());
}
}  // namespace detail

template <class Scalar>
dual_scalar<Scalar>::dual_scalar() : m_value(0), m_tangents(), m_tangent_count(0) {}

template <class Scalar>
dual_scalar<Scalar>::dual_scalar(Scalar value, std::size_t tangent_count)
    : m_value(value), m_tangents(), m_tangent_count(tangent_count) {}

template <class Scalar>
dual_scalar<Scalar>::dual_scalar(Scalar value, std::vector<Scalar> live_tangents, std::size_t tangent_count)
    : m_value(value), m_tangents(std::move(live_tangents)), m_tangent_count(tangent_count) {
    if (m_tangents.size() > m_tangent_count) {
        throw std::invalid_argument("dual_scalar: " + std::to_string(m_tangents.size()) +
                                    " live tangents exceed the tangent count " + std::to_string(m_tangent_count));
    }
}

template <class Scalar>
dual_scalar<Scalar> dual_scalar<Scalar>::variable(Scalar value, std::size_t tangent_count, std::size_t slot) {
    if (slot >= tangent_count) {
        throw std::invalid_argument("dual_scalar::variable: slot " + std::to_string(slot) +
                                    " out of range for tangent count " + std::to_string(tangent_count));
    }
    std::vector<Scalar> tangents(slot + 1, Scalar(0));
    tangents[slot] = Scalar(1);
    return dual_scalar(value, std::move(tangents), tangent_count);
}

template <class Scalar>
Scalar dual_scalar<Scalar>::value() const noexcept {
    return m_value;
}

template <class Scalar>
std::size_t dual_scalar<Scalar>::tangent_count() const noexcept {
    return m_tangent_count;
}

template <class Scalar>
std::size_t dual_scalar<Scalar>::live_tangents() const noexcept {
    return m_tangents.size();
}

template <class Scalar>
Scalar dual_scalar<Scalar>::tangent(std::size_t slot) const {
    if (slot >= m_tangent_count) {
        throw std::out_of_range("dual_scalar::tangent: slot " + std::to_string(slot) +
                                " out of range for tangent count " + std::to_string(m_tangent_count));
    }
    return slot < m_tangents.size() ? m_tangents[slot] : Scalar(0);
}

template <class Scalar>
const std::vector<Scalar>& dual_scalar<Scalar>::live_tangent_values() const noexcept {
    return m_tangents;
}

template <class Scalar>
dual_scalar<Scalar>& dual_scalar<Scalar>::operator+=(const dual_scalar& other) {
    return *this = *this + other;
}

template <class Scalar>
dual_scalar<Scalar>& dual_scalar<Scalar>::operator-=(const dual_scalar& other) {
    return *this = *this - other;
}

template <class Scalar>
dual_scalar<Scalar>& dual_scalar<Scalar>::operator*=(const dual_scalar& other) {
    return *this = *this * other;
}

template <class Scalar>
dual_scalar<Scalar>& dual_scalar<Scalar>::operator/=(const dual_scalar& other) {
    return *this = *this / other;
}

template <class Scalar>
Scalar value(const dual_scalar<Scalar>& x) {
    return x.value();
}

template <class Scalar>
Scalar tangent(const dual_scalar<Scalar>& x, std::size_t slot) {
    return x.tangent(slot);
}

template <class Scalar>
dual_scalar<Scalar> operator-(const dual_scalar<Scalar>& x) {
    return detail::chain(-x.value(), Scalar(-1), x);
}

// d(a + b) = da + db
template <class Scalar>
dual_scalar<Scalar> operator+(const dual_scalar<Scalar>& a, const dual_scalar<Scalar>& b) {
    return detail::combine(a.value() + b.value(), Scalar(1), a, Scalar(1), b, "add");
}

// d(a - b) = da - db
template <class Scalar>
dual_scalar<Scalar> operator-(const dual_scalar<Scalar>& a, const dual_scalar<Scalar>& b) {
    return detail::combine(a.value() - b.value(), Scalar(1), a, Scalar(-1), b, "subtract");
}

// d(a b) = b da + a db
template <class Scalar>
dual_scalar<Scalar> operator*(const dual_scalar<Scalar>& a, const dual_scalar<Scalar>& b) {
    return detail::combine(a.value() * b.value(), b.value(), a, a.value(), b, "multiply");
}

// d(a / b) = da / b - (a / b^2) db
template <class Scalar>
dual_scalar<Scalar> operator/(const dual_scalar<Scalar>& a, const dual_scalar<Scalar>& b) {
    const Scalar quotient = a.value() / b.value();
    return detail::combine(quotient, Scalar(1) / b.value(), a, -quotient / b.value(), b, "divide");
}

template <class Scalar>
dual_scalar<Scalar> operator+(const dual_scalar<Scalar>& a, detail::identity_t<Scalar> b) {
    return detail::chain(a.value() + b, Scalar(1), a);
}

template <class Scalar>
dual_scalar<Scalar> operator+(detail::identity_t<Scalar> a, const dual_scalar<Scalar>& b) {
    return detail::chain(a + b.value(), Scalar(1), b);
}

template <class Scalar>
dual_scalar<Scalar> operator-(const dual_scalar<Scalar>& a, detail::identity_t<Scalar> b) {
    return detail::chain(a.value() - b, Scalar(1), a);
}

template <class Scalar>
dual_scalar<Scalar> operator-(detail::identity_t<Scalar> a, const dual_scalar<Scalar>& b) {
    return detail::chain(a - b.value(), Scalar(-1), b);
}

template <class Scalar>
dual_scalar<Scalar> operator*(const dual_scalar<Scalar>& a, detail::identity_t<Scalar> b) {
    return detail::chain(a.value() * b, b, a);
}

template <class Scalar>
dual_scalar<Scalar> operator*(detail::identity_t<Scalar> a, const dual_scalar<Scalar>& b) {
    return detail::chain(a * b.value(), a, b);
}

template <class Scalar>
dual_scalar<Scalar> operator/(const dual_scalar<Scalar>& a, detail::identity_t<Scalar> b) {
    return detail::chain(a.value() / b, Scalar(1) / b, a);
}

// d(a / b) = -(a / b^2) db
template <class Scalar>
dual_scalar<Scalar> operator/(detail::identity_t<Scalar> a, const dual_scalar<Scalar>& b) {
    const Scalar quotient = a / b.value();
    return detail::chain(quotient, -quotient / b.value(), b);
}

// d exp(x) = exp(x) dx
template <class Scalar>
dual_scalar<Scalar> exp(const dual_scalar<Scalar>& x) {
    const Scalar y = std::exp(x.value());
    return detail::chain(y, y, x);
}

// d log(x) = dx / x
template <class Scalar>
dual_scalar<Scalar> log(const dual_scalar<Scalar>& x) {
    return detail::chain(std::log(x.value()), Scalar(1) / x.value(), x);
}

// d sqrt(x) = dx / (2 sqrt(x))
template <class Scalar>
dual_scalar<Scalar> sqrt(const dual_scalar<Scalar>& x) {
    const Scalar y = std::sqrt(x.value());
    return detail::chain(y, Scalar(0.5) / y, x);
}

// d x^p = p x^(p-1) dx
template <class Scalar>
dual_scalar<Scalar> pow(const dual_scalar<Scalar>& x, detail::identity_t<Scalar> exponent) {
    return detail::chain(std::pow(x.value(), exponent), exponent * std::pow(x.value(), exponent - Scalar(1)), x);
}
}  // namespace fds::autodiff
