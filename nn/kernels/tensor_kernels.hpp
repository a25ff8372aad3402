// Raw access to plain and dual tensors for nn's hand-written kernels: a kernel reads the value and
// each live tangent row through one view type and builds its result with make_tensor, so one loop
// body serves xt::xarray<S> (no tangent rows at all) and autodiff::dual_tensor<S>.
#pragma once

#include <algorithm>
#include <cstddef>

#include <fds/autodiff/autodiff.hpp>

namespace fds::nn::detail {

// A read-only view of a plain or dual tensor: value and `live` tangent rows of `size` elements.
template <class Scalar>
struct tangent_view {
    const Scalar* value;
    const Scalar* tangents;
    std::size_t live;
    std::size_t size;
    const Scalar* tangent(std::size_t k) const { return k < live ? tangents + k * size : nullptr; }
};

template <class Scalar>
tangent_view<Scalar> view_of(const xt::xarray<Scalar>& x) {
    return {x.data(), nullptr, 0, x.size()};
}
template <class Scalar>
tangent_view<Scalar> view_of(const autodiff::dual_tensor<Scalar>& x) {
    return {x.value().data(), x.live_tangent_block().data(), x.live_tangents(), x.size()};
}

// A plain value with no tangents, or a dual from its value and live tangent block.
template <class Tensor>
Tensor make_tensor(xt::xarray<typename autodiff::tensor_traits<Tensor>::scalar_type> value,
                   xt::xarray<typename autodiff::tensor_traits<Tensor>::scalar_type> block, std::size_t tangent_count) {
    if constexpr (autodiff::is_dual_tensor_v<Tensor>) {
        return Tensor(std::move(value), std::move(block), tangent_count);
    } else {
        (void)block;
        (void)tangent_count;
        return value;
    }
}

template <class Tensor>
std::size_t tangent_count_of(const Tensor& a, const Tensor& b) {
    if constexpr (autodiff::is_dual_tensor_v<Tensor>) {
        return std::max(a.tangent_count(), b.tangent_count());
    } else {
        (void)a;
        (void)b;
        return 0;
    }
}

// Applies a linear map `f(const S* in, S* out)` to the value and to every live tangent row of x
// (for a linear map L, the tangent of L(x) is L(dx)); the result has shape `shape`. The rows are
// independent and shared out over the library's threads, so f must be callable concurrently.
template <class Tensor, class Function>
Tensor map_linear(const Tensor& x, const std::vector<std::size_t>& shape, Function&& f) {
    using scalar = typename autodiff::tensor_traits<Tensor>::scalar_type;
    const auto in = view_of(x);
    xt::xarray<scalar> value = xt::xarray<scalar>::from_shape(shape);
    std::vector<std::size_t> block_shape = shape;
    block_shape.insert(block_shape.begin(), in.live);
    xt::xarray<scalar> block = xt::xarray<scalar>::from_shape(block_shape);
    auto apply = [&](std::size_t row) {  // row 0: the value, row k + 1: tangent k
        if (row == 0) {
            f(in.value, value.data());
        } else {
            f(in.tangent(row - 1), block.data() + (row - 1) * value.size());
        }
    };
    const std::size_t rows = 1 + in.live;
    if (rows * std::max(in.size, value.size()) >= autodiff::parallel_pass_work) {
        autodiff::run_parts(rows, apply);
    } else {
        for (std::size_t row = 0; row < rows; ++row) apply(row);
    }
    return make_tensor<Tensor>(std::move(value), std::move(block), tangent_count_of(x, x));
}

}  // namespace fds::nn::detail
