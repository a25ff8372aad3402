// The building blocks of convolution as a GEMM: im2col and its adjoint col2im.
//
// im2col lays every receptive field of x [N, C, H, W] out as one row of
// cols [N * OH * OW, C * KH * KW] (row (n, oh, ow), column (c, kh, kw); zero padding), so a
// convolution is cols x weights^T. col2im is its adjoint (transpose): it sums every column entry
// back into the pixel it came from, which is what the backward pass needs. Both are linear, so
// for dual tensors they apply unchanged to the value and to the tangent block, the latter viewed
// as L * N images.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xarray.hpp>

#include <fds/autodiff/dual_tensor.hpp>
#include <fds/autodiff/errors.hpp>

namespace fds::autodiff {
struct conv_geometry {
    std::size_t channels = 0;
    std::size_t height = 0;
    std::size_t width = 0;
    std::size_t kernel_h = 0;
    std::size_t kernel_w = 0;
    std::size_t stride = 1;
    std::size_t padding = 0;

    // (H + 2 padding - KH) / stride + 1
    std::size_t output_h() const;
    std::size_t output_w() const;
    // C * KH * KW: the length of one receptive field.
    std::size_t patch_size() const;
};

template <class Scalar>
xt::xarray<Scalar> im2col(const xt::xarray<Scalar>& x, const conv_geometry& geometry);
template <class Scalar>
dual_tensor<Scalar> im2col(const dual_tensor<Scalar>& x, const conv_geometry& geometry);

// cols [N * OH * OW, C * KH * KW] -> [N, C, H, W], summing overlapping contributions.
template <class Scalar>
xt::xarray<Scalar> col2im(const xt::xarray<Scalar>& cols, const conv_geometry& geometry, std::size_t batch);
template <class Scalar>
dual_tensor<Scalar> col2im(const dual_tensor<Scalar>& cols, const conv_geometry& geometry, std::size_t batch);

// ---------------------------------------------------------------- implementation

inline std::size_t conv_geometry::output_h() const {
    if (stride == 0 || height + 2 * padding < kernel_h) {
        throw std::invalid_argument("conv_geometry: kernel height " + std::to_string(kernel_h) +
                                    " does not fit height " + std::to_string(height) + " with padding " +
                                    std::to_string(padding) + " and stride " + std::to_string(stride));
    }
    return (height + 2 * padding - kernel_h) / stride + 1;
}

inline std::size_t conv_geometry::output_w() const {
    if (stride == 0 || width + 2 * padding < kernel_w) {
        throw std::invalid_argument("conv_geometry: kernel width " + std::to_string(kernel_w) + " does not fit width " +
                                    std::to_string(width) + " with padding " + std::to_string(padding) +
                                    " and stride " + std::to_string(stride));
    }
    return (width + 2 * padding - kernel_w) / stride + 1;
}

inline std::size_t conv_geometry::patch_size() const { return channels * kernel_h * kernel_w; }

namespace detail {
// Gathers (im2col) or scatter-adds (col2im) between images [images, C, H, W] and
// cols [images * OH * OW, C * KH * KW]; one loop nest so the two stay exact adjoints.
template <bool ToColumns, class Scalar>
void convolution_copy(std::conditional_t<ToColumns, const Scalar*, Scalar*> images,
                      std::conditional_t<ToColumns, Scalar*, const Scalar*> cols, std::size_t image_count,
                      const conv_geometry& g) {
    const std::size_t oh = g.output_h();
    const std::size_t ow = g.output_w();
    const std::size_t patch = g.patch_size();
    const std::size_t plane = g.height * g.width;
    for (std::size_t n = 0; n < image_count; ++n) {
        const auto image = images + n * g.channels * plane;
        for (std::size_t y = 0; y < oh; ++y) {
            for (std::size_t x = 0; x < ow; ++x) {
                const auto row = cols + ((n * oh + y) * ow + x) * patch;
                std::size_t column = 0;
                for (std::size_t c = 0; c < g.channels; ++c) {
                    for (std::size_t ky = 0; ky < g.kernel_h; ++ky) {
                        // input row = y * stride + ky - padding (may be outside)
                        const std::ptrdiff_t iy =
                            static_cast<std::ptrdiff_t>(y * g.stride + ky) - static_cast<std::ptrdiff_t>(g.padding);
                        for (std::size_t kx = 0; kx < g.kernel_w; ++kx, ++column) {
                            const std::ptrdiff_t ix =
                                static_cast<std::ptrdiff_t>(x * g.stride + kx) - static_cast<std::ptrdiff_t>(g.padding);
                            const bool inside = iy >= 0 && ix >= 0 && iy < static_cast<std::ptrdiff_t>(g.height) &&
                                                ix < static_cast<std::ptrdiff_t>(g.width);
                            if constexpr (ToColumns) {
                                row[column] = inside ? image[c * plane + iy * g.width + ix] : Scalar(0);
                            } else if (inside) {
                                image[c * plane + iy * g.width + ix] += row[column];
                            }
                        }
                    }
                }
            }
        }
    }
}

template <class Shape>
std::size_t check_images(const Shape& shape, const conv_geometry& g) {
    if (shape.size() != 4 || shape[1] != g.channels || shape[2] != g.height || shape[3] != g.width) {
        throw_shape_mismatch("im2col", shape, std::vector<std::size_t>{0, g.channels, g.height, g.width},
                             "expected [N, C, H, W] with C, H, W of the geometry (N any)");
    }
    return shape[0];
}

template <class Shape>
void check_columns(const Shape& shape, const conv_geometry& g, std::size_t batch) {
    const std::vector<std::size_t> expected{batch * g.output_h() * g.output_w(), g.patch_size()};
    if (shape.size() != 2 || shape[0] != expected[0] || shape[1] != expected[1]) {
        throw_shape_mismatch("col2im", shape, expected);
    }
}
}  // namespace detail

template <class Scalar>
xt::xarray<Scalar> im2col(const xt::xarray<Scalar>& x, const conv_geometry& geometry) {
    const std::size_t batch = detail::check_images(x.shape(), geometry);
    xt::xarray<Scalar> cols =
        xt::xarray<Scalar>::from_shape({batch * geometry.output_h() * geometry.output_w(), geometry.patch_size()});
    detail::convolution_copy<true, Scalar>(x.data(), cols.data(), batch, geometry);
    return cols;
}

template <class Scalar>
dual_tensor<Scalar> im2col(const dual_tensor<Scalar>& x, const conv_geometry& geometry) {
    const std::size_t batch = detail::check_images(x.shape(), geometry);
    const std::size_t live = x.live_tangents();
    const std::size_t rows = batch * geometry.output_h() * geometry.output_w();
    xt::xarray<Scalar> block = xt::xarray<Scalar>::from_shape({live, rows, geometry.patch_size()});
    detail::convolution_copy<true, Scalar>(x.live_tangent_block().data(), block.data(), live * batch, geometry);
    return dual_tensor<Scalar>(im2col(x.value(), geometry), std::move(block), x.tangent_count());
}

template <class Scalar>
xt::xarray<Scalar> col2im(const xt::xarray<Scalar>& cols, const conv_geometry& geometry, std::size_t batch) {
    detail::check_columns(cols.shape(), geometry, batch);
    xt::xarray<Scalar> images = xt::zeros<Scalar>({batch, geometry.channels, geometry.height, geometry.width});
    detail::convolution_copy<false, Scalar>(images.data(), cols.data(), batch, geometry);
    return images;
}

template <class Scalar>
dual_tensor<Scalar> col2im(const dual_tensor<Scalar>& cols, const conv_geometry& geometry, std::size_t batch) {
    detail::check_columns(cols.shape(), geometry, batch);
    const std::size_t live = cols.live_tangents();
    xt::xarray<Scalar> block = xt::zeros<Scalar>({live, batch, geometry.channels, geometry.height, geometry.width});
    detail::convolution_copy<false, Scalar>(block.data(), cols.live_tangent_block().data(), live * batch, geometry);
    return dual_tensor<Scalar>(col2im(cols.value(), geometry, batch), std::move(block), cols.tangent_count());
}
}  // namespace fds::autodiff
