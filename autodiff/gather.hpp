// Gather and scatter-add at plain flat positions: linear maps, applied alike to the value and to
// every live tangent row. Max-pooling gathers the winners and scatters gradients back;
// cross-entropy gathers the logit of each true class.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/dual_tensor.hpp>
#include <fds/autodiff/errors.hpp>

namespace fds::autodiff {
// result[i] = x.flat[indices[i]], result shaped like indices.
template <class Scalar>
xt::xarray<Scalar> gather_flat(const xt::xarray<Scalar>& x, const xt::xarray<std::size_t>& indices);
template <class Scalar>
dual_tensor<Scalar> gather_flat(const dual_tensor<Scalar>& x, const xt::xarray<std::size_t>& indices);

// A tensor of `shape`, zero except result.flat[indices[i]] += values.flat[i] (repeated indices
// add up). values and indices have the same number of elements.
template <class Scalar>
xt::xarray<Scalar> scatter_add_flat(const xt::xarray<Scalar>& values, const xt::xarray<std::size_t>& indices,
                                    const std::vector<std::size_t>& shape);
template <class Scalar>
dual_tensor<Scalar> scatter_add_flat(const dual_tensor<Scalar>& values, const xt::xarray<std::size_t>& indices,
                                     const std::vector<std::size_t>& shape);

// ---------------------------------------------------------------- implementation

namespace detail {
template <class Shape>
void check_indices(const std::string& operation, const xt::xarray<std::size_t>& indices, const Shape& shape) {
    const std::size_t count = element_count(shape);
    for (std::size_t index : indices) {
        if (index >= count) {
            throw std::out_of_range(operation + ": flat index " + std::to_string(index) + " out of range for shape " +
                                    shape_string(shape));
        }
    }
}

template <class Scalar>
void gather_row(const Scalar* source, const xt::xarray<std::size_t>& indices, Scalar* out) {
    const std::size_t* index = indices.data();
    for (std::size_t i = 0; i < indices.size(); ++i) {
        out[i] = source[index[i]];
    }
}

template <class Scalar>
void scatter_row(const Scalar* values, const xt::xarray<std::size_t>& indices, Scalar* out) {
    const std::size_t* index = indices.data();
    for (std::size_t i = 0; i < indices.size(); ++i) {
        out[index[i]] += values[i];
    }
}

template <class Shape>
void check_scatter(const Shape& values, const xt::xarray<std::size_t>& indices, const std::vector<std::size_t>& shape) {
    if (element_count(values) != indices.size()) {
        throw_shape_mismatch("scatter_add_flat", values, indices.shape(),
                             "values and indices must have the same number of elements");
    }
    check_indices("scatter_add_flat", indices, shape);
}
}  // namespace detail

template <class Scalar>
xt::xarray<Scalar> gather_flat(const xt::xarray<Scalar>& x, const xt::xarray<std::size_t>& indices) {
    detail::check_indices("gather_flat", indices, x.shape());
    xt::xarray<Scalar> result = xt::xarray<Scalar>::from_shape(indices.shape());
    detail::gather_row(x.data(), indices, result.data());
    return result;
}

template <class Scalar>
dual_tensor<Scalar> gather_flat(const dual_tensor<Scalar>& x, const xt::xarray<std::size_t>& indices) {
    xt::xarray<Scalar> value = gather_flat(x.value(), indices);
    const std::size_t live = x.live_tangents();
    xt::xarray<Scalar> block = xt::xarray<Scalar>::from_shape(detail::block_shape(live, indices.shape()));
    for (std::size_t k = 0; k < live; ++k) {
        detail::gather_row(x.live_tangent_block().data() + k * x.size(), indices, block.data() + k * indices.size());
    }
    return dual_tensor<Scalar>(std::move(value), std::move(block), x.tangent_count());
}

template <class Scalar>
xt::xarray<Scalar> scatter_add_flat(const xt::xarray<Scalar>& values, const xt::xarray<std::size_t>& indices,
                                    const std::vector<std::size_t>& shape) {
    detail::check_scatter(values.shape(), indices, shape);
    xt::xarray<Scalar> result = xt::zeros<Scalar>(shape);
    detail::scatter_row(values.data(), indices, result.data());
    return result;
}

template <class Scalar>
dual_tensor<Scalar> scatter_add_flat(const dual_tensor<Scalar>& values, const xt::xarray<std::size_t>& indices,
                                     const std::vector<std::size_t>& shape) {
    detail::check_scatter(values.shape(), indices, shape);
    const std::size_t live = values.live_tangents();
    const std::size_t count = detail::element_count(shape);
    xt::xarray<Scalar> block = xt::zeros<Scalar>(detail::block_shape(live, shape));
    for (std::size_t k = 0; k < live; ++k) {
        detail::scatter_row(values.live_tangent_block().data() + k * values.size(), indices, block.data() + k * count);
    }
    return dual_tensor<Scalar>(scatter_add_flat(values.value(), indices, shape), std::move(block),
                               values.tangent_count());
}
}  // namespace fds::autodiff
