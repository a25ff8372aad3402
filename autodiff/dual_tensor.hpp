// A tensor of dual numbers, stored as a struct of arrays: one value tensor of shape Sh and one
// *live tangent block* of shape [L, Sh...] holding tangent slots 0..L-1, tangent axis outermost
// and contiguous, so each product-rule term of a matmul is a single GEMM over all slots.
//
// K = tangent_count() slots exist; only the prefix 0..L-1 (L = live_tangents()) is stored and
// computed. Slots L..K-1 are exactly zero. A slot becomes live when seeded or when it meets a live
// operand: an operation's result has L = max of its operands' L, and the dead rows cost nothing.
// There is no implicit conversion to the value: dropping tangents is the named call value(x).
#pragma once

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/errors.hpp>
#include <fds/autodiff/tensor_traits.hpp>

namespace fds::autodiff {
template <class Scalar>
class dual_tensor {
 public:
    using scalar_type = Scalar;
    using array_type = xt::xarray<Scalar>;
    using shape_type = typename array_type::shape_type;

    dual_tensor();
    // A constant: K slots, none live.
    dual_tensor(array_type value, std::size_t tangent_count);
    // live_tangent_block has shape [L, value.shape()...] with L <= tangent_count.
    dual_tensor(array_type value, array_type live_tangent_block, std::size_t tangent_count);

    const shape_type& shape() const noexcept;
    std::size_t dimension() const noexcept;
    std::size_t size() const noexcept;
    std::size_t tangent_count() const noexcept;
    std::size_t live_tangents() const noexcept;
    const array_type& value() const noexcept;
    const array_type& live_tangent_block() const noexcept;

    // Sets tangent `slot` to `direction` (shape Sh), growing L to slot + 1 if needed.
    void seed(std::size_t slot, const array_type& direction);
    // Grows L to `live` with zero rows (no-op when already at least `live`).
    void grow_live_tangents(std::size_t live);

    // In-place access for kernels and optimizers; callers keep the value shape and the
    // block shape [L, Sh...] unchanged.
    array_type& mutable_value() noexcept;
    array_type& mutable_live_tangent_block() noexcept;

 private:
    array_type m_value;
    array_type m_block;
    std::size_t m_tangent_count;
};

// The value, dropping tangents (identity on plain tensors, so generic code can call it).
template <class Scalar>
const xt::xarray<Scalar>& value(const dual_tensor<Scalar>& x) noexcept;
template <class Scalar>
const xt::xarray<Scalar>& value(const xt::xarray<Scalar>& x) noexcept;
// Tangent of slot k, shape Sh (zeros for a dead slot).
template <class Scalar>
xt::xarray<Scalar> tangent(const dual_tensor<Scalar>& x, std::size_t slot);
// All K tangents, dense, shape [K, Sh...].
template <class Scalar>
xt::xarray<Scalar> tangents(const dual_tensor<Scalar>& x);
// A dual with the given value and K dead slots.
template <class Scalar>
dual_tensor<Scalar> constant(const xt::xarray<Scalar>& x, std::size_t tangent_count);

namespace detail {
// [L, shape...]
template <class Shape>
std::vector<std::size_t> block_shape(std::size_t live, const Shape& shape);

// Product of the extents.
template <class Shape>
std::size_t element_count(const Shape& shape);
}  // namespace detail

// ---------------------------------------------------------------- implementation

namespace detail {
template <class Shape>
std::vector<std::size_t> block_shape(std::size_t live, const Shape& shape) {
    std::vector<std::size_t> result;
    result.reserve(shape.size() + 1);
    result.push_back(live);
    result.insert(result.end(), shape.begin(), shape.end());
    return result;
}

template <class Shape>
std::size_t element_count(const Shape& shape) {
    std::size_t count = 1;
    for (auto extent : shape) {
        count *= static_cast<std::size_t>(extent);
    }
    return count;
}
}  // namespace detail

template <class Scalar>
dual_tensor<Scalar>::dual_tensor()
    : m_value(array_type::from_shape({0})), m_block(array_type::from_shape({0, 0})), m_tangent_count(0) {}

template <class Scalar>
dual_tensor<Scalar>::dual_tensor(array_type value, std::size_t tangent_count)
    : m_value(std::move(value)), m_block(), m_tangent_count(tangent_count) {
    m_block = array_type::from_shape(detail::block_shape(0, m_value.shape()));
}

template <class Scalar>
dual_tensor<Scalar>::dual_tensor(array_type value, array_type live_tangent_block, std::size_t tangent_count)
    : m_value(std::move(value)), m_block(std::move(live_tangent_block)), m_tangent_count(tangent_count) {
    const auto& block = m_block.shape();
    const bool block_matches =
        block.size() == m_value.dimension() + 1 && std::equal(block.begin() + 1, block.end(), m_value.shape().begin());
    if (!block_matches) {
        detail::throw_shape_mismatch("dual_tensor", m_value.shape(), block,
                                     "the live tangent block must have shape [L, value shape...]");
    }
    if (block[0] > m_tangent_count) {
        throw std::invalid_argument("dual_tensor: " + std::to_string(block[0]) +
                                    " live tangents exceed the tangent count " + std::to_string(m_tangent_count));
    }
}

template <class Scalar>
auto dual_tensor<Scalar>::shape() const noexcept -> const shape_type& {
    return m_value.shape();
}

template <class Scalar>
std::size_t dual_tensor<Scalar>::dimension() const noexcept {
    return m_value.dimension();
}

template <class Scalar>
std::size_t dual_tensor<Scalar>::size() const noexcept {
    return m_value.size();
}

template <class Scalar>
std::size_t dual_tensor<Scalar>::tangent_count() const noexcept {
    return m_tangent_count;
}

template <class Scalar>
std::size_t dual_tensor<Scalar>::live_tangents() const noexcept {
    return m_block.shape()[0];
}

template <class Scalar>
auto dual_tensor<Scalar>::value() const noexcept -> const array_type& {
    return m_value;
}

template <class Scalar>
auto dual_tensor<Scalar>::live_tangent_block() const noexcept -> const array_type& {
    return m_block;
}

template <class Scalar>
void dual_tensor<Scalar>::seed(std::size_t slot, const array_type& direction) {
    if (slot >= m_tangent_count) {
        throw std::invalid_argument("dual_tensor::seed: slot " + std::to_string(slot) +
                                    " out of range for tangent count " + std::to_string(m_tangent_count));
    }
    if (direction.shape() != m_value.shape() && direction.size() != m_value.size()) {
        detail::throw_shape_mismatch("dual_tensor::seed", m_value.shape(), direction.shape());
    }
    grow_live_tangents(slot + 1);
    std::copy(direction.data(), direction.data() + direction.size(), m_block.data() + slot * m_value.size());
}

template <class Scalar>
void dual_tensor<Scalar>::grow_live_tangents(std::size_t live) {
    const std::size_t current = live_tangents();
    if (live <= current) {
        return;
    }
    if (live > m_tangent_count) {
        throw std::invalid_argument("dual_tensor: " + std::to_string(live) +
                                    " live tangents exceed the tangent count " + std::to_string(m_tangent_count));
    }
    array_type grown = array_type::from_shape(detail::block_shape(live, m_value.shape()));
    const std::size_t kept = current * m_value.size();
    std::copy(m_block.data(), m_block.data() + kept, grown.data());
    std::fill(grown.data() + kept, grown.data() + grown.size(), Scalar(0));
    m_block = std::move(grown);
}

template <class Scalar>
auto dual_tensor<Scalar>::mutable_value() noexcept -> array_type& {
    return m_value;
}

template <class Scalar>
auto dual_tensor<Scalar>::mutable_live_tangent_block() noexcept -> array_type& {
    return m_block;
}

template <class Scalar>
const xt::xarray<Scalar>& value(const dual_tensor<Scalar>& x) noexcept {
    return x.value();
}

template <class Scalar>
const xt::xarray<Scalar>& value(const xt::xarray<Scalar>& x) noexcept {
    return x;
}

template <class Scalar>
xt::xarray<Scalar> tangent(const dual_tensor<Scalar>& x, std::size_t slot) {
    if (slot >= x.tangent_count()) {
        throw std::out_of_range("tangent: slot " + std::to_string(slot) + " out of range for tangent count " +
                                std::to_string(x.tangent_count()));
    }
    xt::xarray<Scalar> result = xt::xarray<Scalar>::from_shape(x.shape());
    if (slot < x.live_tangents()) {
        const Scalar* row = x.live_tangent_block().data() + slot * x.size();
        std::copy(row, row + x.size(), result.data());
    } else {
        std::fill(result.begin(), result.end(), Scalar(0));
    }
    return result;
}

template <class Scalar>
xt::xarray<Scalar> tangents(const dual_tensor<Scalar>& x) {
    xt::xarray<Scalar> result = xt::xarray<Scalar>::from_shape(detail::block_shape(x.tangent_count(), x.shape()));
    const std::size_t live_elements = x.live_tangents() * x.size();
    std::copy(x.live_tangent_block().data(), x.live_tangent_block().data() + live_elements, result.data());
    std::fill(result.data() + live_elements, result.data() + result.size(), Scalar(0));
    return result;
}

template <class Scalar>
dual_tensor<Scalar> constant(const xt::xarray<Scalar>& x, std::size_t tangent_count) {
    return dual_tensor<Scalar>(x, tangent_count);
}
}  // namespace fds::autodiff
