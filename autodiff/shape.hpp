// Reshape, transpose and flat slices: linear maps applied alike to the value and to every tangent.
//
// A model's parameters are one flat vector (value + [K, P] tangents); layers read their weights
// with slice_flat and write gradients back with add_into_flat.
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xmanipulation.hpp>

#include <fds/autodiff/dual_tensor.hpp>
#include <fds/autodiff/errors.hpp>

namespace fds::autodiff {
// Same elements in row-major order, new shape (copying).
template <class Scalar>
dual_tensor<Scalar> reshape(const dual_tensor<Scalar>& x, const std::vector<std::size_t>& shape);
template <class Scalar>
xt::xarray<Scalar> reshape(const xt::xarray<Scalar>& x, const std::vector<std::size_t>& shape);
// To one dimension.
template <class Scalar>
dual_tensor<Scalar> flatten(const dual_tensor<Scalar>& x);
template <class Scalar>
xt::xarray<Scalar> flatten(const xt::xarray<Scalar>& x);
// Axis i of the result is axis permutation[i] of x (copying).
template <class Scalar>
dual_tensor<Scalar> transpose(const dual_tensor<Scalar>& x, const std::vector<std::size_t>& permutation);
template <class Scalar>
xt::xarray<Scalar> transpose(const xt::xarray<Scalar>& x, const std::vector<std::size_t>& permutation);
// Copy of flat elements [offset, offset + prod(shape)) of x, with the given shape.
template <class Scalar>
dual_tensor<Scalar> slice_flat(const dual_tensor<Scalar>& x, std::size_t offset, const std::vector<std::size_t>& shape);
template <class Scalar>
xt::xarray<Scalar> slice_flat(const xt::xarray<Scalar>& x, std::size_t offset, const std::vector<std::size_t>& shape);
// target.flat[offset : offset + x.size()] += x.flat, growing target's live slots if needed.
template <class Scalar>
void add_into_flat(dual_tensor<Scalar>& target, std::size_t offset, const dual_tensor<Scalar>& x);
template <class Scalar>
void add_into_flat(xt::xarray<Scalar>& target, std::size_t offset, const xt::xarray<Scalar>& x);
// All tensors flattened and joined into one 1-D tensor.
template <class Scalar>
dual_tensor<Scalar> concatenate_flat(const std::vector<dual_tensor<Scalar>>& parts);
template <class Scalar>
xt::xarray<Scalar> concatenate_flat(const std::vector<xt::xarray<Scalar>>& parts);

// ---------------------------------------------------------------- implementation

namespace detail {
template <class Shape>
void check_reshape(const Shape& from, const std::vector<std::size_t>& to) {
    if (element_count(from) != element_count(to)) {
        throw_shape_mismatch("reshape", from, to, "element counts differ");
    }
}

template <class Shape>
std::vector<std::size_t> permuted_shape(const Shape& shape, const std::vector<std::size_t>& permutation) {
    std::vector<std::size_t> result;
    for (std::size_t axis : permutation) {
        result.push_back(shape[axis]);
    }
    return result;
}

template <class Shape>
void check_permutation(const Shape& shape, const std::vector<std::size_t>& permutation) {
    std::vector<bool> seen(shape.size(), false);
    bool valid = permutation.size() == shape.size();
    for (std::size_t axis : permutation) {
        valid = valid && axis < shape.size() && !seen[axis];
        if (valid) {
            seen[axis] = true;
        }
    }
    if (!valid) {
        throw std::invalid_argument("transpose: permutation " + shape_string(permutation) + " invalid for shape " +
                                    shape_string(shape));
    }
}

// dst = x transposed by `permutation` (axis j of dst is axis permutation[j] of x), both
// row-major. Output axes that stay adjacent in the source are merged first; then rows
// are copied whole when the last axis stays innermost, and otherwise the two axes that
// are innermost in source and destination are transposed in cache-sized tiles.
template <class Scalar>
void permute_copy(const Scalar* src, const std::vector<std::size_t>& shape, const std::vector<std::size_t>& permutation,
                  Scalar* dst) {
    struct axis_run {
        std::size_t extent;
        std::size_t source_stride;
        std::size_t destination_stride = 0;
    };
    const std::size_t dimension = shape.size();
    std::vector<std::size_t> source_strides(dimension, 1);
    for (std::size_t axis = dimension; axis-- > 1;) {
        source_strides[axis - 1] = source_strides[axis] * shape[axis];
    }
    std::vector<axis_run> axes;
    for (std::size_t j = 0; j < dimension; ++j) {
        const std::size_t extent = shape[permutation[j]];
        const std::size_t stride = source_strides[permutation[j]];
        if (extent == 0) {
            return;
        }
        if (extent == 1) {
            continue;
        }
        if (!axes.empty() && axes.back().source_stride == stride * extent) {
            axes.back().extent *= extent;
            axes.back().source_stride = stride;
        } else {
            axes.push_back({extent, stride});
        }
    }
    if (axes.empty()) {
        dst[0] = src[0];
        return;
    }
    std::size_t step = 1;
    for (std::size_t j = axes.size(); j-- > 0;) {
        axes[j].destination_stride = step;
        step *= axes[j].extent;
    }
    const axis_run last = axes.back();
    axes.pop_back();
    // The source's innermost axis, if it is not the destination's.
    std::size_t inner = axes.size();
    if (last.source_stride != 1) {
        for (std::size_t j = 0; j < axes.size(); ++j) {
            if (axes[j].source_stride == 1) {
                inner = j;
            }
        }
    }
    axis_run tile_axis{1, 0, 0};
    if (inner < axes.size()) {
        tile_axis = axes[inner];
        axes.erase(axes.begin() + static_cast<std::ptrdiff_t>(inner));
    }
    constexpr std::size_t tile = 16;
    std::vector<std::size_t> index(axes.size(), 0);
    std::size_t source_base = 0;
    std::size_t destination_base = 0;
    while (true) {
        if (last.source_stride == 1) {
            std::copy(src + source_base, src + source_base + last.extent, dst + destination_base);
        } else {
            for (std::size_t i0 = 0; i0 < tile_axis.extent; i0 += tile) {
                const std::size_t i1 = std::min(tile_axis.extent, i0 + tile);
                for (std::size_t j0 = 0; j0 < last.extent; j0 += tile) {
                    const std::size_t j1 = std::min(last.extent, j0 + tile);
                    for (std::size_t i = i0; i < i1; ++i) {
                        const Scalar* in = src + source_base + i * tile_axis.source_stride;
                        Scalar* out = dst + destination_base + i * tile_axis.destination_stride;
                        for (std::size_t j = j0; j < j1; ++j) {
                            out[j] = in[j * last.source_stride];
                        }
                    }
                }
            }
        }
        std::size_t axis = axes.size();
        while (axis-- > 0) {
            ++index[axis];
            source_base += axes[axis].source_stride;
            destination_base += axes[axis].destination_stride;
            if (index[axis] < axes[axis].extent) {
                break;
            }
            source_base -= axes[axis].source_stride * index[axis];
            destination_base -= axes[axis].destination_stride * index[axis];
            index[axis] = 0;
        }
        if (axis == static_cast<std::size_t>(-1)) {
            return;
        }
    }
}

template <class Shape>
void check_flat_range(const std::string& operation, std::size_t offset, std::size_t count, const Shape& shape) {
    if (offset + count > element_count(shape)) {
        throw std::invalid_argument(operation + ": elements [" + std::to_string(offset) + ", " +
                                    std::to_string(offset + count) + ") out of range for shape " + shape_string(shape));
    }
}
}  // namespace detail

template <class Scalar>
dual_tensor<Scalar> reshape(const dual_tensor<Scalar>& x, const std::vector<std::size_t>& shape) {
    detail::check_reshape(x.shape(), shape);
    xt::xarray<Scalar> value = x.value();
    value.reshape(shape);
    xt::xarray<Scalar> block = x.live_tangent_block();
    block.reshape(detail::block_shape(x.live_tangents(), shape));
    return dual_tensor<Scalar>(std::move(value), std::move(block), x.tangent_count());
}

template <class Scalar>
xt::xarray<Scalar> reshape(const xt::xarray<Scalar>& x, const std::vector<std::size_t>& shape) {
    detail::check_reshape(x.shape(), shape);
    xt::xarray<Scalar> result = x;
    result.reshape(shape);
    return result;
}

template <class Scalar>
dual_tensor<Scalar> flatten(const dual_tensor<Scalar>& x) {
    return reshape(x, std::vector<std::size_t>{x.size()});
}

template <class Scalar>
xt::xarray<Scalar> flatten(const xt::xarray<Scalar>& x) {
    return reshape(x, std::vector<std::size_t>{x.size()});
}

template <class Scalar>
dual_tensor<Scalar> transpose(const dual_tensor<Scalar>& x, const std::vector<std::size_t>& permutation) {
    detail::check_permutation(x.shape(), permutation);
    std::vector<std::size_t> block_permutation{0};
    for (std::size_t axis : permutation) {
        block_permutation.push_back(axis + 1);
    }
    const auto& block = x.live_tangent_block();
    xt::xarray<Scalar> transposed_block =
        xt::xarray<Scalar>::from_shape(detail::permuted_shape(block.shape(), block_permutation));
    detail::permute_copy(block.data(), std::vector<std::size_t>(block.shape().begin(), block.shape().end()),
                         block_permutation, transposed_block.data());
    return dual_tensor<Scalar>(transpose(x.value(), permutation), std::move(transposed_block), x.tangent_count());
}

template <class Scalar>
xt::xarray<Scalar> transpose(const xt::xarray<Scalar>& x, const std::vector<std::size_t>& permutation) {
    detail::check_permutation(x.shape(), permutation);
    xt::xarray<Scalar> result = xt::xarray<Scalar>::from_shape(detail::permuted_shape(x.shape(), permutation));
    detail::permute_copy(x.data(), std::vector<std::size_t>(x.shape().begin(), x.shape().end()), permutation,
                         result.data());
    return result;
}

template <class Scalar>
dual_tensor<Scalar> slice_flat(const dual_tensor<Scalar>& x, std::size_t offset,
                               const std::vector<std::size_t>& shape) {
    const std::size_t count = detail::element_count(shape);
    detail::check_flat_range("slice_flat", offset, count, x.shape());
    xt::xarray<Scalar> value = slice_flat(x.value(), offset, shape);
    const std::size_t live = x.live_tangents();
    xt::xarray<Scalar> block = xt::xarray<Scalar>::from_shape(detail::block_shape(live, shape));
    for (std::size_t k = 0; k < live; ++k) {
        const Scalar* row = x.live_tangent_block().data() + k * x.size() + offset;
        std::copy(row, row + count, block.data() + k * count);
    }
    return dual_tensor<Scalar>(std::move(value), std::move(block), x.tangent_count());
}

template <class Scalar>
xt::xarray<Scalar> slice_flat(const xt::xarray<Scalar>& x, std::size_t offset, const std::vector<std::size_t>& shape) {
    const std::size_t count = detail::element_count(shape);
    detail::check_flat_range("slice_flat", offset, count, x.shape());
    xt::xarray<Scalar> result = xt::xarray<Scalar>::from_shape(shape);
    std::copy(x.data() + offset, x.data() + offset + count, result.data());
    return result;
}

template <class Scalar>
void add_into_flat(dual_tensor<Scalar>& target, std::size_t offset, const dual_tensor<Scalar>& x) {
    detail::check_tangent_counts("add_into_flat", target.tangent_count(), x.tangent_count());
    detail::check_flat_range("add_into_flat", offset, x.size(), target.shape());
    add_into_flat(target.mutable_value(), offset, x.value());
    target.grow_live_tangents(x.live_tangents());
    const std::size_t count = x.size();
    for (std::size_t k = 0; k < x.live_tangents(); ++k) {
        const Scalar* row = x.live_tangent_block().data() + k * count;
        Scalar* out = target.mutable_live_tangent_block().data() + k * target.size() + offset;
        for (std::size_t i = 0; i < count; ++i) {
            out[i] += row[i];
        }
    }
}

template <class Scalar>
void add_into_flat(xt::xarray<Scalar>& target, std::size_t offset, const xt::xarray<Scalar>& x) {
    detail::check_flat_range("add_into_flat", offset, x.size(), target.shape());
    Scalar* out = target.data() + offset;
    const Scalar* in = x.data();
    for (std::size_t i = 0; i < x.size(); ++i) {
        out[i] += in[i];
    }
}

template <class Scalar>
dual_tensor<Scalar> concatenate_flat(const std::vector<dual_tensor<Scalar>>& parts) {
    std::size_t total = 0;
    std::size_t live = 0;
    const std::size_t tangent_count = parts.empty() ? 0 : parts.front().tangent_count();
    for (const auto& part : parts) {
        detail::check_tangent_counts("concatenate_flat", tangent_count, part.tangent_count());
        total += part.size();
        live = std::max(live, part.live_tangents());
    }
    dual_tensor<Scalar> result(xt::zeros<Scalar>({total}), tangent_count);
    result.grow_live_tangents(live);
    std::size_t offset = 0;
    for (const auto& part : parts) {
        add_into_flat(result, offset, part);
        offset += part.size();
    }
    return result;
}

template <class Scalar>
xt::xarray<Scalar> concatenate_flat(const std::vector<xt::xarray<Scalar>>& parts) {
    std::size_t total = 0;
    for (const auto& part : parts) {
        total += part.size();
    }
    xt::xarray<Scalar> result = xt::xarray<Scalar>::from_shape({total});
    std::size_t offset = 0;
    for (const auto& part : parts) {
        std::copy(part.data(), part.data() + part.size(), result.data() + offset);
        offset += part.size();
    }
    return result;
}
}  // namespace fds::autodiff
