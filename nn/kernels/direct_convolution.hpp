// Convolution products computed straight from the images, without im2col, where the convolution
// has stride 1 and output rows that are a whole number of 32-byte vectors (8 floats or 4
// doubles): LeNet's layers, the CNN's, and WRN-16-1's except its four with stride 2.
// The columns algorithm (convolution_algorithm.hpp) copies every receptive field (KH*KW copies of
// each input value) and BLAS packs those columns once more: at LeNet's sizes the copies cost as
// much as the arithmetic, and BLAS is slow on products with few weight rows (W dX_k).
//
// With p = (c, ky, kx) a patch entry and (n, oy, ox) an output position:
//   forward   rows[m, (n, oy, ox)] (+)= sum_p w[m, p] x[n, c, oy + ky, ox + kx]
//   weights   target[m, p] += sum_(n, oy, ox) g[m, (n, oy, ox)] x[n, c, oy + ky, ox + kx]
// Each result entry is summed in an order that depends only on the convolution's shape, never on
// how many rows are computed together: [W; dW_0; ...] gives every row the bits it gets alone, so
// K tangents at once equal K runs of one (tested), as on the im2col path.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include <fds/nn/kernels/conv_shape.hpp>
#include <fds/nn/kernels/vector32.hpp>

namespace fds::nn::detail {

// The kernels take unpadded images; a padded convolution passes them a zero-bordered copy
// (padded_images, conv_layout.hpp).

// Where the kernels read and write, for a chunk of images: the input offset of each patch entry
// from its window's corner, and for each output vector (L consecutive ox) its window corner in x
// and its offset in an output row (images `output_image_stride` apart in the row).
template <class Scalar>
struct direct_plan {
    std::vector<std::size_t> patch_offsets;
    std::vector<std::size_t> window_corners;
    std::vector<std::size_t> output_offsets;
    std::size_t vectors_per_image;

    direct_plan(const conv_shape& c, std::size_t output_image_stride) : patch_offsets(c.patch()) {
        constexpr std::size_t lanes = vector32_lanes<Scalar>;
        for (std::size_t channel = 0; channel < c.channels; ++channel) {
            for (std::size_t ky = 0; ky < c.kernel; ++ky) {
                for (std::size_t kx = 0; kx < c.kernel; ++kx) {
                    patch_offsets[(channel * c.kernel + ky) * c.kernel + kx] = (channel * c.height + ky) * c.width + kx;
                }
            }
        }
        vectors_per_image = c.out_height * c.out_width / lanes;
        for (std::size_t n = 0; n < c.batch; ++n) {
            for (std::size_t oy = 0; oy < c.out_height; ++oy) {
                for (std::size_t ox = 0; ox < c.out_width; ox += lanes) {
                    window_corners.push_back(n * c.input_image() + oy * c.width + ox);
                    output_offsets.push_back(n * output_image_stride + oy * c.out_width + ox);
                }
            }
        }
    }
    std::size_t vectors() const { return window_corners.size(); }
};

// ----- forward: rows (+)= w x -----

// Rows m0..m0+Rows of `Vectors` output vectors from v0: Rows x Vectors accumulators in registers;
// per patch entry, Vectors loads of x and Rows broadcasts of w.
template <std::size_t Rows, std::size_t Vectors, class Scalar>
void convolve_tile(const Scalar* w, std::size_t patch, const Scalar* x, const direct_plan<Scalar>& plan, std::size_t v0,
                   bool accumulate, Scalar* rows, std::size_t row_stride) {
    vector32<Scalar> sums[Rows][Vectors];
    for (std::size_t i = 0; i < Rows; ++i) {
        for (std::size_t j = 0; j < Vectors; ++j) {
            sums[i][j] =
                accumulate ? load_vector(rows + i * row_stride + plan.output_offsets[v0 + j]) : vector32<Scalar>{};
        }
    }
    const Scalar* corners[Vectors];
    for (std::size_t j = 0; j < Vectors; ++j) corners[j] = x + plan.window_corners[v0 + j];
    for (std::size_t p = 0; p < patch; ++p) {
        vector32<Scalar> inputs[Vectors];
        for (std::size_t j = 0; j < Vectors; ++j) inputs[j] = load_vector(corners[j] + plan.patch_offsets[p]);
        for (std::size_t i = 0; i < Rows; ++i) {
            const vector32<Scalar> weight = broadcast_vector(w[i * patch + p]);
            for (std::size_t j = 0; j < Vectors; ++j) sums[i][j] = multiply_add<Scalar>(weight, inputs[j], sums[i][j]);
        }
    }
    for (std::size_t i = 0; i < Rows; ++i) {
        for (std::size_t j = 0; j < Vectors; ++j)
            store_vector(rows + i * row_stride + plan.output_offsets[v0 + j], sums[i][j]);
    }
}

template <std::size_t Rows, class Scalar>
void convolve_tile_of(std::size_t vectors, const Scalar* w, std::size_t patch, const Scalar* x,
                      const direct_plan<Scalar>& plan, std::size_t v0, bool accumulate, Scalar* rows,
                      std::size_t row_stride) {
    switch (vectors) {
        case 3:
            convolve_tile<Rows, 3>(w, patch, x, plan, v0, accumulate, rows, row_stride);
            break;
        case 2:
            convolve_tile<Rows, 2>(w, patch, x, plan, v0, accumulate, rows, row_stride);
            break;
        default:
            convolve_tile<Rows, 1>(w, patch, x, plan, v0, accumulate, rows, row_stride);
            break;
    }
}

// output row m = w [weight_rows, patch] row m * x (c.batch images), or += with accumulate; row m
// starts at rows + m * row_stride and holds the images image_stride apart: [weight_rows, columns]
// with (row_stride, image_stride) = (columns, positions), NCHW with (positions, weight_rows * positions)
template <class Scalar>
void direct_convolve(const Scalar* w, std::size_t weight_rows, const Scalar* x, const conv_shape& c, bool accumulate,
                     Scalar* rows, std::size_t row_stride, std::size_t image_stride) {
    constexpr std::size_t tile_rows = 4, tile_vectors = 3;  // 12 accumulators of the 16 AVX registers
    const direct_plan<Scalar> plan(c, image_stride);
    const std::size_t patch = c.patch(), stride = row_stride;
    for (std::size_t v0 = 0; v0 < plan.vectors(); v0 += tile_vectors) {
        const std::size_t vectors = std::min(tile_vectors, plan.vectors() - v0);
        std::size_t m = 0;
        for (; m + tile_rows <= weight_rows; m += tile_rows) {
            convolve_tile_of<tile_rows>(vectors, w + m * patch, patch, x, plan, v0, accumulate, rows + m * stride,
                                        stride);
        }
        for (; m < weight_rows; ++m) {
            convolve_tile_of<1>(vectors, w + m * patch, patch, x, plan, v0, accumulate, rows + m * stride, stride);
        }
    }
}

// rows [weight_rows, c.columns()] = w [weight_rows, patch] * x, or += with accumulate
template <class Scalar>
void direct_convolve(const Scalar* w, std::size_t weight_rows, const Scalar* x, const conv_shape& c, bool accumulate,
                     Scalar* rows) {
    direct_convolve(w, weight_rows, x, c, accumulate, rows, c.columns(), c.positions());
}

// ----- weight gradient: target += g x^T -----

// target[m0.., p0..] += sums over output vectors [v0, v_end) for Rows gradient rows and Entries
// patch entries: per vector, Entries loads of x and Rows loads of g.
template <std::size_t Rows, std::size_t Entries, class Scalar>
void correlate_tile(const Scalar* g, std::size_t g_stride, const Scalar* x, const direct_plan<Scalar>& plan,
                    std::size_t p0, std::size_t v0, std::size_t v_end, Scalar* target, std::size_t patch) {
    vector32<Scalar> sums[Rows][Entries] = {};
    for (std::size_t v = v0; v < v_end; ++v) {
        const Scalar* corner = x + plan.window_corners[v];
        vector32<Scalar> inputs[Entries];
        for (std::size_t j = 0; j < Entries; ++j) inputs[j] = load_vector(corner + plan.patch_offsets[p0 + j]);
        for (std::size_t i = 0; i < Rows; ++i) {
            const vector32<Scalar> gradient = load_vector(g + i * g_stride + plan.output_offsets[v]);
            for (std::size_t j = 0; j < Entries; ++j)
                sums[i][j] = multiply_add<Scalar>(gradient, inputs[j], sums[i][j]);
        }
    }
    for (std::size_t i = 0; i < Rows; ++i) {
        for (std::size_t j = 0; j < Entries; ++j) target[i * patch + p0 + j] += horizontal_sum(sums[i][j]);
    }
}

template <std::size_t Rows, class Scalar>
void correlate_tile_of(std::size_t entries, const Scalar* g, std::size_t g_stride, const Scalar* x,
                       const direct_plan<Scalar>& plan, std::size_t p0, std::size_t v0, std::size_t v_end,
                       Scalar* target, std::size_t patch) {
    switch (entries) {
        case 5:
            correlate_tile<Rows, 5>(g, g_stride, x, plan, p0, v0, v_end, target, patch);
            break;
        case 4:
            correlate_tile<Rows, 4>(g, g_stride, x, plan, p0, v0, v_end, target, patch);
            break;
        case 3:
            correlate_tile<Rows, 3>(g, g_stride, x, plan, p0, v0, v_end, target, patch);
            break;
        case 2:
            correlate_tile<Rows, 2>(g, g_stride, x, plan, p0, v0, v_end, target, patch);
            break;
        default:
            correlate_tile<Rows, 1>(g, g_stride, x, plan, p0, v0, v_end, target, patch);
            break;
    }
}

// target [gradient_rows, patch] += g [gradient_rows, c.columns()] * im2col(x)^T, summed over groups
// of whole images of about 64 vectors (their x and g stay in cache while every tile reads them),
// each group's sums added to target in turn.
template <class Scalar>
void direct_weight_gradient_add(const Scalar* g, std::size_t gradient_rows, const Scalar* x, const conv_shape& c,
                                Scalar* target) {
    constexpr std::size_t tile_rows = 2, tile_entries = 5;  // 10 accumulators + 5 inputs + 1 gradient
    constexpr std::size_t group_vectors = 64;
    const direct_plan<Scalar> plan(c, c.positions());
    const std::size_t patch = c.patch(), stride = c.columns();
    const std::size_t group = std::max<std::size_t>(group_vectors / plan.vectors_per_image, 1) * plan.vectors_per_image;
    for (std::size_t v0 = 0; v0 < plan.vectors(); v0 += group) {
        const std::size_t v_end = std::min(v0 + group, plan.vectors());
        std::size_t m = 0;
        for (; m + tile_rows <= gradient_rows; m += tile_rows) {
            for (std::size_t p = 0; p < patch; p += tile_entries) {
                correlate_tile_of<tile_rows>(std::min(tile_entries, patch - p), g + m * stride, stride, x, plan, p, v0,
                                             v_end, target + m * patch, patch);
            }
        }
        for (; m < gradient_rows; ++m) {
            for (std::size_t p = 0; p < patch; p += tile_entries) {
                correlate_tile_of<1>(std::min(tile_entries, patch - p), g + m * stride, stride, x, plan, p, v0, v_end,
                                     target + m * patch, patch);
            }
        }
    }
}

}  // namespace fds::nn::detail
