// Sums and means, whole or along axes, and the projection of all tangents on one direction.
//
// Reductions are linear, so the tangent of a sum is the sum of the tangents: the live block
// [L, Sh...] is reduced along the same axes shifted by one (the tangent axis stays).
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xmath.hpp>

#include <fds/autodiff/blas.hpp>
#include <fds/autodiff/dual_tensor.hpp>
#include <fds/autodiff/errors.hpp>

namespace fds::autodiff {
// Sum / mean of all elements: a 0-d result.
template <class Scalar>
dual_tensor<Scalar> sum(const dual_tensor<Scalar>& x);
template <class Scalar>
xt::xarray<Scalar> sum(const xt::xarray<Scalar>& x);
template <class Scalar>
dual_tensor<Scalar> mean(const dual_tensor<Scalar>& x);
template <class Scalar>
xt::xarray<Scalar> mean(const xt::xarray<Scalar>& x);

// Along `axes` (each < dimension), keeping them as extent-1 axes when keep_dims.
template <class Scalar>
dual_tensor<Scalar> sum(const dual_tensor<Scalar>& x, const std::vector<std::size_t>& axes, bool keep_dims = false);
template <class Scalar>
xt::xarray<Scalar> sum(const xt::xarray<Scalar>& x, const std::vector<std::size_t>& axes, bool keep_dims = false);
template <class Scalar>
dual_tensor<Scalar> mean(const dual_tensor<Scalar>& x, const std::vector<std::size_t>& axes, bool keep_dims = false);
template <class Scalar>
xt::xarray<Scalar> mean(const xt::xarray<Scalar>& x, const std::vector<std::size_t>& axes, bool keep_dims = false);

// [K] with entry k = sum_i direction_i * tangent(x, k)_i: one GEMV over the live block,
// zeros for dead slots. This is how a validation gradient meets the tangents Z.
template <class Scalar>
xt::xarray<Scalar> project_tangents(const dual_tensor<Scalar>& x,
                                    const detail::identity_t<xt::xarray<Scalar>>& direction);

// ---------------------------------------------------------------- implementation

namespace detail {
template <class Shape>
void check_axes(const std::string& operation, const Shape& shape, const std::vector<std::size_t>& axes) {
    std::vector<bool> seen(shape.size(), false);
    for (std::size_t axis : axes) {
        if (axis >= shape.size() || seen[axis]) {
            throw std::invalid_argument(operation + ": axes " + shape_string(axes) + " invalid for shape " +
                                        shape_string(shape));
        }
        seen[axis] = true;
    }
}

// xtensor's reducers want the axes in increasing order; a sum over a set of axes does not
// depend on how the caller listed them.
inline std::vector<std::size_t> sorted_axes(std::vector<std::size_t> axes) {
    std::sort(axes.begin(), axes.end());
    return axes;
}

inline std::vector<std::size_t> shifted_axes(const std::vector<std::size_t>& axes) {
    std::vector<std::size_t> shifted = sorted_axes(axes);
    for (auto& axis : shifted) {
        ++axis;
    }
    return shifted;
}

// The shape of a reduction; xtensor's reducers cannot take empty inputs, so those are
// done here: a sum over no elements is 0, a mean NaN.
template <class Shape>
std::vector<std::size_t> reduced_shape(const Shape& shape, const std::vector<std::size_t>& axes, bool keep_dims) {
    std::vector<std::size_t> result;
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        const bool reduced = std::find(axes.begin(), axes.end(), axis) != axes.end();
        if (!reduced) {
            result.push_back(shape[axis]);
        } else if (keep_dims) {
            result.push_back(1);
        }
    }
    return result;
}

template <class Scalar>
xt::xarray<Scalar> reduce_sum(const xt::xarray<Scalar>& x, const std::vector<std::size_t>& axes, bool keep_dims) {
    if (x.size() == 0) {
        xt::xarray<Scalar> result = xt::xarray<Scalar>::from_shape(reduced_shape(x.shape(), axes, keep_dims));
        std::fill(result.begin(), result.end(), Scalar(0));
        return result;
    }
    const std::vector<std::size_t> increasing = sorted_axes(axes);
    if (keep_dims) {
        return xt::sum(x, increasing, xt::keep_dims | xt::evaluation_strategy::immediate);
    }
    return xt::sum(x, increasing, xt::evaluation_strategy::immediate);
}

template <class Scalar>
xt::xarray<Scalar> reduce_mean(const xt::xarray<Scalar>& x, const std::vector<std::size_t>& axes, bool keep_dims) {
    if (x.size() == 0) {
        xt::xarray<Scalar> result = xt::xarray<Scalar>::from_shape(reduced_shape(x.shape(), axes, keep_dims));
        std::fill(result.begin(), result.end(), std::numeric_limits<Scalar>::quiet_NaN());
        return result;
    }
    const std::vector<std::size_t> increasing = sorted_axes(axes);
    if (keep_dims) {
        return xt::mean(x, increasing, xt::keep_dims | xt::evaluation_strategy::immediate);
    }
    return xt::mean(x, increasing, xt::evaluation_strategy::immediate);
}

inline std::vector<std::size_t> all_axes(std::size_t dimension) {
    std::vector<std::size_t> axes(dimension);
    for (std::size_t i = 0; i < dimension; ++i) {
        axes[i] = i;
    }
    return axes;
}
}  // namespace detail

template <class Scalar>
dual_tensor<Scalar> sum(const dual_tensor<Scalar>& x) {
    return sum(x, detail::all_axes(x.dimension()), false);
}

template <class Scalar>
xt::xarray<Scalar> sum(const xt::xarray<Scalar>& x) {
    return detail::reduce_sum(x, detail::all_axes(x.dimension()), false);
}

template <class Scalar>
dual_tensor<Scalar> mean(const dual_tensor<Scalar>& x) {
    return mean(x, detail::all_axes(x.dimension()), false);
}

template <class Scalar>
xt::xarray<Scalar> mean(const xt::xarray<Scalar>& x) {
    return detail::reduce_mean(x, detail::all_axes(x.dimension()), false);
}

template <class Scalar>
dual_tensor<Scalar> sum(const dual_tensor<Scalar>& x, const std::vector<std::size_t>& axes, bool keep_dims) {
    detail::check_axes("sum", x.shape(), axes);
    return dual_tensor<Scalar>(detail::reduce_sum(x.value(), axes, keep_dims),
                               detail::reduce_sum(x.live_tangent_block(), detail::shifted_axes(axes), keep_dims),
                               x.tangent_count());
}

template <class Scalar>
xt::xarray<Scalar> sum(const xt::xarray<Scalar>& x, const std::vector<std::size_t>& axes, bool keep_dims) {
    detail::check_axes("sum", x.shape(), axes);
    return detail::reduce_sum(x, axes, keep_dims);
}

template <class Scalar>
dual_tensor<Scalar> mean(const dual_tensor<Scalar>& x, const std::vector<std::size_t>& axes, bool keep_dims) {
    detail::check_axes("mean", x.shape(), axes);
    return dual_tensor<Scalar>(detail::reduce_mean(x.value(), axes, keep_dims),
                               detail::reduce_mean(x.live_tangent_block(), detail::shifted_axes(axes), keep_dims),
                               x.tangent_count());
}

template <class Scalar>
xt::xarray<Scalar> mean(const xt::xarray<Scalar>& x, const std::vector<std::size_t>& axes, bool keep_dims) {
    detail::check_axes("mean", x.shape(), axes);
    return detail::reduce_mean(x, axes, keep_dims);
}

template <class Scalar>
xt::xarray<Scalar> project_tangents(const dual_tensor<Scalar>& x,
                                    const detail::identity_t<xt::xarray<Scalar>>& direction) {
    if (direction.size() != x.size()) {
        detail::throw_shape_mismatch("project_tangents", x.shape(), direction.shape());
    }
    xt::xarray<Scalar> result = xt::zeros<Scalar>({x.tangent_count()});
    if (x.live_tangents() > 0 && x.size() > 0) {
        detail::gemv(x.live_tangents(), x.size(), x.live_tangent_block().data(), direction.data(), result.data());
    }
    return result;
}
}  // namespace fds::autodiff
