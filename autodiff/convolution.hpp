// The building blocks of convolution as a GEMM: im2col and its adjoint col2im.
//
// im2col lays every receptive field of x [N, C, H, W] out as one row of
// cols [N * OH * OW, C * K * K] (row (n, oh, ow), column (c, kh, kw); zero padding), so a
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

#include <fds/autodiff/conv_geometry.hpp>
#include <fds/autodiff/dual_tensor.hpp>
#include <fds/autodiff/errors.hpp>

namespace fds::autodiff {
// x [batch, C, H, W] -> cols [batch * OH * OW, C * K * K]
template <class Scalar>
xt::xarray<Scalar> im2col(const xt::xarray<Scalar>& x, const conv_geometry& geometry);
template <class Scalar>
dual_tensor<Scalar> im2col(const dual_tensor<Scalar>& x, const conv_geometry& geometry);

// cols [batch * OH * OW, C * K * K] -> [batch, C, H, W], summing overlapping contributions.
template <class Scalar>
xt::xarray<Scalar> col2im(const xt::xarray<Scalar>& cols, const conv_geometry& geometry);
template <class Scalar>
dual_tensor<Scalar> col2im(const dual_tensor<Scalar>& cols, const conv_geometry& geometry);

// ---------------------------------------------------------------- implementation

namespace detail {
// Gathers (im2col) or scatter-adds (col2im) between images [images, C, H, W] and
// cols [images * OH * OW, C * K * K]; one loop nest so the two stay exact adjoints.
template <bool ToColumns, class Scalar>
void convolution_copy(std::conditional_t<ToColumns, const Scalar*, Scalar*> images,
                      std::conditional_t<ToColumns, Scalar*, const Scalar*> cols, std::size_t image_count,
                      const conv_geometry& g) {
    const std::size_t oh = g.out_height;
    const std::size_t ow = g.out_width;
    const std::size_t patch = g.patch();
    const std::size_t plane = g.height * g.width;
    for (std::size_t n = 0; n < image_count; ++n) {
        const auto image = images + n * g.channels * plane;
        for (std::size_t y = 0; y < oh; ++y) {
            for (std::size_t x = 0; x < ow; ++x) {
                const auto row = cols + ((n * oh + y) * ow + x) * patch;
                std::size_t column = 0;
                for (std::size_t c = 0; c < g.channels; ++c) {
                    for (std::size_t ky = 0; ky < g.kernel; ++ky) {
                        // input row = y * stride + ky - padding (may be outside)
                        const std::ptrdiff_t iy =
                            static_cast<std::ptrdiff_t>(y * g.stride + ky) - static_cast<std::ptrdiff_t>(g.padding);
                        for (std::size_t kx = 0; kx < g.kernel; ++kx, ++column) {
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

// The geometry's output size must be the one its input size gives.
inline void check_geometry(const conv_geometry& g) {
    const conv_geometry expected =
        make_conv_geometry(g.batch, g.channels, g.height, g.width, g.out_channels, g.kernel, g.stride, g.padding);
    if (g.out_height != expected.out_height || g.out_width != expected.out_width) {
        throw_shape_mismatch("conv_geometry", std::vector<std::size_t>{g.out_height, g.out_width},
                             std::vector<std::size_t>{expected.out_height, expected.out_width},
                             "the output size does not follow from the input, kernel, stride and padding");
    }
}

template <class Shape>
void check_images(const Shape& shape, const conv_geometry& g) {
    check_geometry(g);
    const std::vector<std::size_t> expected{g.batch, g.channels, g.height, g.width};
    if (shape.size() != 4 || !std::equal(expected.begin(), expected.end(), shape.begin())) {
        throw_shape_mismatch("im2col", shape, expected, "expected [N, C, H, W] of the geometry");
    }
}

template <class Shape>
void check_columns(const Shape& shape, const conv_geometry& g) {
    check_geometry(g);
    const std::vector<std::size_t> expected{g.columns(), g.patch()};
    if (shape.size() != 2 || shape[0] != expected[0] || shape[1] != expected[1]) {
        throw_shape_mismatch("col2im", shape, expected);
    }
}
}  // namespace detail

template <class Scalar>
xt::xarray<Scalar> im2col(const xt::xarray<Scalar>& x, const conv_geometry& geometry) {
    detail::check_images(x.shape(), geometry);
    xt::xarray<Scalar> cols = xt::xarray<Scalar>::from_shape({geometry.columns(), geometry.patch()});
    detail::convolution_copy<true, Scalar>(x.data(), cols.data(), geometry.batch, geometry);
    return cols;
}

template <class Scalar>
dual_tensor<Scalar> im2col(const dual_tensor<Scalar>& x, const conv_geometry& geometry) {
    detail::check_images(x.shape(), geometry);
    const std::size_t live = x.live_tangents();
    xt::xarray<Scalar> block = xt::xarray<Scalar>::from_shape({live, geometry.columns(), geometry.patch()});
    detail::convolution_copy<true, Scalar>(x.live_tangent_block().data(), block.data(), live * geometry.batch,
                                           geometry);
    return dual_tensor<Scalar>(im2col(x.value(), geometry), std::move(block), x.tangent_count());
}

template <class Scalar>
xt::xarray<Scalar> col2im(const xt::xarray<Scalar>& cols, const conv_geometry& geometry) {
    detail::check_columns(cols.shape(), geometry);
    xt::xarray<Scalar> images = xt::zeros<Scalar>({geometry.batch, geometry.channels, geometry.height, geometry.width});
    detail::convolution_copy<false, Scalar>(images.data(), cols.data(), geometry.batch, geometry);
    return images;
}

template <class Scalar>
dual_tensor<Scalar> col2im(const dual_tensor<Scalar>& cols, const conv_geometry& geometry) {
    detail::check_columns(cols.shape(), geometry);
    const std::size_t live = cols.live_tangents();
    xt::xarray<Scalar> block =
        xt::zeros<Scalar>({live, geometry.batch, geometry.channels, geometry.height, geometry.width});
    detail::convolution_copy<false, Scalar>(block.data(), cols.live_tangent_block().data(), live * geometry.batch,
                                            geometry);
    return dual_tensor<Scalar>(col2im(cols.value(), geometry), std::move(block), cols.tangent_count());
}
}  // namespace fds::autodiff
